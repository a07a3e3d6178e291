package authn_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
)

// service is an engine with a user route, an admin route and a route that
// checks a role without authenticating first (a wiring mistake). Every
// handler counts its calls: a rejected request must not reach one.
type service struct {
	h     http.Handler
	iss   *authntest.Issuer
	calls int
}

func newService(t *testing.T) *service {
	t.Helper()
	s := &service{iss: authntest.NewIssuer(t)}
	v := s.iss.Verifier(t)
	r := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler)})
	answer := func(c *gin.Context) {
		s.calls++
		caller, ok := authn.CallerFrom(c)
		fromRequest, _ := authn.CallerFrom(c.Request.Context())
		if !ok || !slices.Equal(caller.Roles, fromRequest.Roles) || caller.Subject != fromRequest.Subject {
			c.Status(http.StatusInternalServerError)
			return
		}
		c.JSON(http.StatusOK, caller)
	}
	r.GET("/user", authn.Authenticate(v), answer)
	r.POST("/admin", authn.Authenticate(v), authn.RequireRole("admin"), answer)
	r.POST("/forgot-authenticate", authn.RequireRole("admin"), answer)
	s.h = r
	return s
}

func (s *service) do(method, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code apierror.Code) {
	t.Helper()
	var b apierror.Body
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &b) != nil || b.Error.Code != code || b.Error.Message == "" {
		t.Fatalf("answer %d %s, want %d with code %q", rec.Code, rec.Body, status, code)
	}
}

// forged is what a caller that bypasses the gateway might send.
var forged = []string{"X-User-Id", "admin-1", "X-User-Roles", "admin", "X-User-Email", "admin@tenflix.local"}

func TestAuthenticateRefusesWhatIsNotAValidToken(t *testing.T) {
	s := newService(t)
	key := s.iss.RSAKey()
	expired := s.iss.Claims("admin-1", "admin")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	for _, tt := range []struct{ name, authorization string }{
		{"no token, forged identity headers", ""},
		{"basic auth", "Basic YWRtaW46YWRtaW4="},
		{"bearer without token", "Bearer "},
		{"malformed", "Bearer not-a-jwt"},
		{"expired", "Bearer " + key.Token(t, expired)},
		{"alg none", "Bearer " + authntest.NoneToken(t, key.ID, s.iss.Claims("admin-1", "admin"))},
		{"user token edited to admin", "Bearer " + authntest.Tamper(t, s.iss.Token(t, "u-1", "user"), s.iss.Claims("u-1", "admin"))},
		{"signed by an unknown key", "Bearer " + s.iss.NewUnpublishedKey(t).Token(t, s.iss.Claims("admin-1", "admin"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			headers := forged
			if tt.authorization != "" {
				headers = append(slices.Clone(forged), "Authorization", tt.authorization)
			}
			for _, route := range []struct{ method, path string }{{"GET", "/user"}, {"POST", "/admin"}} {
				rec := s.do(route.method, route.path, headers...)
				wantError(t, rec, http.StatusUnauthorized, apierror.Unauthorized)
				if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
					t.Errorf("WWW-Authenticate = %q", h)
				}
			}
			if s.calls != 0 {
				t.Fatalf("a handler ran %d times", s.calls)
			}
		})
	}
}

func TestAuthenticatePutsTheCallerInTheContext(t *testing.T) {
	s := newService(t)
	for _, tok := range []string{s.iss.Token(t, "u-1", "user"), s.iss.ECKey().Token(t, s.iss.Claims("u-1", "user"))} {
		// Forged headers change nothing: the caller is the token's.
		rec := s.do("GET", "/user", append(slices.Clone(forged), "Authorization", "bearer "+tok)...)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		var got authn.Claims
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := authn.Claims{Subject: "u-1", Email: "u-1@example.com", Name: "User u-1", Roles: []string{"user"}}
		if got.Subject != want.Subject || got.Email != want.Email || got.Name != want.Name || !slices.Equal(got.Roles, want.Roles) {
			t.Fatalf("caller %+v, want %+v", got, want)
		}
	}
}

func TestRequireRole(t *testing.T) {
	s := newService(t)
	rec := s.do("POST", "/admin", "Authorization", "Bearer "+s.iss.Token(t, "u-1", "user"), "X-User-Roles", "admin")
	wantError(t, rec, http.StatusForbidden, apierror.Forbidden)
	if s.calls != 0 {
		t.Fatal("a user reached the admin handler")
	}
	if rec := s.do("POST", "/admin", "Authorization", "Bearer "+s.iss.Token(t, "a-1", "user", "admin")); rec.Code != http.StatusOK {
		t.Fatalf("admin: %d %s", rec.Code, rec.Body)
	}
	// Without Authenticate in front, even an admin token gets nowhere.
	rec = s.do("POST", "/forgot-authenticate", "Authorization", "Bearer "+s.iss.Token(t, "a-1", "admin"))
	wantError(t, rec, http.StatusUnauthorized, apierror.Unauthorized)
	if s.calls != 1 {
		t.Fatalf("handlers ran %d times, want 1", s.calls)
	}
}

func TestIssuerDownIsUnavailableNotUnauthorized(t *testing.T) {
	s := newService(t)
	s.iss.SetDown(true)
	rec := s.do("GET", "/user", "Authorization", "Bearer "+s.iss.Token(t, "u-1", "user"))
	wantError(t, rec, http.StatusServiceUnavailable, apierror.Unavailable)
	if rec.Header().Get("Retry-After") == "" || s.calls != 0 {
		t.Fatalf("Retry-After %q, handler calls %d", rec.Header().Get("Retry-After"), s.calls)
	}
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc.def.ghi":   "abc.def.ghi",
		"bearer abc.def.ghi":   "abc.def.ghi",
		"Bearer  abc.def.ghi ": "abc.def.ghi",
		"Bearer":               "",
		"Bearer ":              "",
		"Bearer a b":           "",
		"Basic abc":            "",
		"abc.def.ghi":          "",
	} {
		got, ok := authn.BearerToken(header)
		if got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v; want %q", header, got, ok, want)
		}
	}
}
