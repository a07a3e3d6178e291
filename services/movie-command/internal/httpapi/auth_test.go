package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"tenflix/platform/apierror"
	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/httpapi"
	"tenflix/services/movie-command/internal/statestore"
)

const appToken = "sidecar-to-app-token"

// stateSidecar stands in for daprd's state API and records every call: a
// request that is refused must not read or write anything. It answers
// reads "no such key"; anything else fails loudly.
type stateSidecar struct {
	mu    sync.Mutex
	calls []string
}

func (s *stateSidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1.0/state/") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Error(w, `{"errorCode":"ERR_TEST","message":"unexpected call"}`, http.StatusInternalServerError)
}

func (s *stateSidecar) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

type authEnv struct {
	h       http.Handler
	iss     *authntest.Issuer
	sidecar *stateSidecar
}

// newAuthEnv is the service's engine with a real token verifier (of a test
// issuer) and a recording sidecar. No database: every request here is either
// refused before the app or answered from the state store.
func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	sc := &stateSidecar{}
	srv := httptest.NewServer(sc)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	iss := authntest.NewIssuer(t)
	a := app.New(statestore.New(sidecar.New(port, ""), "catalog-state"), nil)
	h := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler), AppAPIToken: appToken})
	httpapi.Routes(h, httpapi.Deps{Log: slog.New(slog.DiscardHandler), Verifier: iss.Verifier(t), App: a})
	return &authEnv{h: h, iss: iss, sidecar: sc}
}

// do sends a request as the sidecar would (with the app token).
func (e *authEnv) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("dapr-api-token", appToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func wantCode(t *testing.T, rec *httptest.ResponseRecorder, status int, code apierror.Code) {
	t.Helper()
	var b apierror.Body
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &b) != nil || b.Error.Code != code {
		t.Fatalf("answer %d %s, want %d %s", rec.Code, rec.Body, status, code)
	}
}

// catalogRoutes is every route of the service, with a body for writes.
func catalogRoutes() [][3]string {
	const id = "/0b9c6d4e-1111-4a2b-9c3d-123456789abc"
	var rs [][3]string
	for _, kind := range []string{"movies", "videos", "actors", "creators", "categories", "tags"} {
		base := httpapi.Prefix + "/" + kind
		rs = append(rs,
			[3]string{"POST", base, `{"name":"Forged"}`}, [3]string{"GET", base, ""}, [3]string{"GET", base + id, ""},
			[3]string{"PUT", base + id, `{"name":"Forged"}`}, [3]string{"DELETE", base + id, ""})
	}
	return rs
}

func TestForgedIdentityHeadersGetNowhere(t *testing.T) {
	e := newAuthEnv(t)
	forged := []string{"X-User-Id", "admin-1", "X-User-Roles", "admin", "X-User-Email", "admin@tenflix.local"}
	unknownKey := "Bearer " + e.iss.NewUnpublishedKey(t).Token(t, e.iss.Claims("admin-1", "admin"))
	for _, rt := range catalogRoutes() {
		for name, headers := range map[string][]string{
			"forged headers, no token":  forged,
			"forged headers, bad token": append([]string{"Authorization", "Bearer not-a-jwt"}, forged...),
			"token of an unknown key":   append([]string{"Authorization", unknownKey}, forged...),
		} {
			t.Run(rt[0]+" "+rt[1]+" "+name, func(t *testing.T) {
				wantCode(t, e.do(rt[0], rt[1], rt[2], headers...), http.StatusUnauthorized, apierror.Unauthorized)
			})
		}
	}
	if n := e.sidecar.count(); n != 0 {
		t.Fatalf("refused requests reached the state store %d times: %v", n, e.sidecar.calls)
	}
}

func TestCatalogIsForAdminsOnly(t *testing.T) {
	e := newAuthEnv(t)
	user := "Bearer " + e.iss.Token(t, "user-1", "user")
	for _, rt := range catalogRoutes() {
		wantCode(t, e.do(rt[0], rt[1], rt[2], "Authorization", user, "X-User-Roles", "admin"),
			http.StatusForbidden, apierror.Forbidden)
	}
	if n := e.sidecar.count(); n != 0 {
		t.Fatalf("a user's requests reached the state store %d times", n)
	}

	// An admin's token gets through to the app: a read reaches the state
	// store, and a write is judged on its content.
	admin := "Bearer " + e.iss.ECKey().Token(t, e.iss.Claims("admin-1", "user", "admin"))
	wantCode(t, e.do("GET", httpapi.Prefix+"/movies/0b9c6d4e-1111-4a2b-9c3d-123456789abc", "", "Authorization", admin),
		http.StatusNotFound, apierror.NotFound)
	if n := e.sidecar.count(); n != 1 {
		t.Fatalf("state store calls = %d, want the admin's one read", n)
	}
	wantCode(t, e.do("POST", httpapi.Prefix+"/categories", `{"name":" "}`, "Authorization", admin),
		http.StatusBadRequest, apierror.Invalid)
}

func TestTheAppTokenIsStillRequired(t *testing.T) {
	e := newAuthEnv(t)
	req := httptest.NewRequest("GET", httpapi.Prefix+"/tags", nil)
	req.Header.Set("Authorization", "Bearer "+e.iss.Token(t, "admin-1", "admin"))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	wantCode(t, rec, http.StatusUnauthorized, apierror.Unauthorized)
}
