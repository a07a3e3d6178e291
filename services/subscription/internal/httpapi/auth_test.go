package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"tenflix/platform/apierror"
	"tenflix/services/subscription/internal/httpapi"
)

const someID = "/0b9c6d4e-1111-4a2b-9c3d-123456789abc"

const planBody = `{"name":"Basic","price":50000,"description":"HD","activePeriod":30}`

// publicRoutes is every public route, with a body for writes, and whether
// it is for admins only.
var publicRoutes = []struct {
	method, path, body string
	admin              bool
}{
	{"POST", httpapi.Prefix + "/plans", planBody, true},
	{"PUT", httpapi.Prefix + "/plans" + someID, planBody, true},
	{"DELETE", httpapi.Prefix + "/plans" + someID, "", true},
	{"GET", httpapi.Prefix + "/plans", "", false},
	{"GET", httpapi.Prefix + "/plans" + someID, "", false},
	{"GET", httpapi.Prefix + "/me", "", false},
}

func TestPublicRoutesNeedAValidToken(t *testing.T) {
	e := newEnv(t)
	forged := []string{"X-User-Id", "admin-1", "X-User-Roles", "admin"}
	unknownKey := "Bearer " + e.iss.NewUnpublishedKey(t).Token(t, e.iss.Claims("admin-1", "admin"))
	for _, rt := range publicRoutes {
		for name, headers := range map[string][]string{
			"no token, forged headers": forged,
			"not a JWT":                append([]string{"Authorization", "Bearer not-a-jwt"}, forged...),
			"token of an unknown key":  {"Authorization", unknownKey},
		} {
			t.Run(rt.method+" "+rt.path+" "+name, func(t *testing.T) {
				wantError(t, e.do(rt.method, rt.path, rt.body, headers...), http.StatusUnauthorized, apierror.Unauthorized)
			})
		}
	}
	if n := len(e.api.Published()); n != 0 {
		t.Fatalf("refused requests wrote %d documents", n)
	}
}

func TestAdminRoutesRefuseUsers(t *testing.T) {
	e := newEnv(t)
	user := e.bearer(t, "user-1", "user")
	for _, rt := range publicRoutes {
		rec := e.do(rt.method, rt.path, rt.body, "Authorization", user, "X-User-Roles", "admin")
		if rt.admin {
			wantError(t, rec, http.StatusForbidden, apierror.Forbidden)
		} else if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
			t.Errorf("%s %s refused a user: %d", rt.method, rt.path, rec.Code)
		}
	}
	// Only admins see deactivated plans.
	wantError(t, e.do("GET", httpapi.Prefix+"/plans?all=true", "", "Authorization", user), http.StatusForbidden, apierror.Forbidden)
	if rec := e.do("GET", httpapi.Prefix+"/plans?all=true", "", "Authorization", e.bearer(t, "admin-1", "admin")); rec.Code != http.StatusOK {
		t.Fatalf("admin ?all=true: %d %s", rec.Code, rec.Body)
	}
	if n := len(e.api.Published()); n != 0 {
		t.Fatalf("a user's requests wrote %d documents", n)
	}
}

func TestEveryRouteNeedsTheAppToken(t *testing.T) {
	e := newEnv(t)
	admin := e.bearer(t, "admin-1", "admin")
	routes := [][2]string{
		{"GET", "/internal/plans" + someID}, {"GET", "/internal/entitlements/u1"},
		{"GET", "/internal/orders/o1/subscription"}, {"POST", httpapi.OrderPaidRoute},
		{"POST", "/" + httpapi.ExpiryCronBinding},
	}
	for _, rt := range publicRoutes {
		routes = append(routes, [2]string{rt.method, rt.path})
	}
	for _, rt := range routes {
		req := httptest.NewRequest(rt[0], rt[1], nil)
		req.Header.Set("Authorization", admin)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		wantError(t, rec, http.StatusUnauthorized, apierror.Unauthorized)
	}
}
