package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/authn/authntest"
	"tenflix/services/gateway/internal/httpapi"
	"tenflix/services/gateway/internal/ratelimit"
)

const daprToken = "dapr-secret"

// call is one request as the gateway's sidecar received it.
type call struct {
	Method string
	Path   string // escaped
	Query  string
	Header http.Header
	Body   []byte
}

// fakeSidecar stands in for the gateway's daprd: it records each invocation
// and answers as the service would.
type fakeSidecar struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []call
	answer http.HandlerFunc
}

func newSidecar(t testing.TB) *fakeSidecar {
	t.Helper()
	s := &fakeSidecar{answer: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, call{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		answer := s.answer
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		answer(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeSidecar) setAnswer(h http.HandlerFunc) {
	s.mu.Lock()
	s.answer = h
	s.mu.Unlock()
}

func (s *fakeSidecar) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *fakeSidecar) last(t testing.TB) call {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		t.Fatal("the sidecar was not called")
	}
	return s.calls[len(s.calls)-1]
}

type gateway struct {
	h       http.Handler
	iss     *authntest.Issuer
	sidecar *fakeSidecar
	user    string // bearer token with realm role "user"
	admin   string // bearer token with realm roles "user", "admin"
}

// option adjusts the gateway or its token verifier before a test.
type option func(*httpapi.Options, *authn.Config)

func newGateway(t testing.TB, opts ...option) *gateway {
	t.Helper()
	iss := authntest.NewIssuer(t)
	sc := newSidecar(t)
	cfg := authn.Config{Issuer: iss.URL, Audience: authntest.Audience}
	opt := httpapi.Options{
		Log:         slog.New(slog.DiscardHandler),
		SidecarURL:  sc.URL,
		DaprToken:   daprToken,
		CORSOrigins: []string{"http://localhost:3000"},
		AuthLimiter: ratelimit.New(10, 10, 1000),
		OpenAPIFile: "testdata/does-not-exist.yaml",
	}
	for _, o := range opts {
		o(&opt, &cfg)
	}
	v, err := authn.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	opt.Verifier = v
	h, err := httpapi.New(opt)
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	return &gateway{
		h: h, iss: iss, sidecar: sc,
		user:  iss.RSAKey().Token(t, iss.Claims("user-1", "user")),
		admin: iss.RSAKey().Token(t, iss.Claims("admin-1", "user", "admin")),
	}
}

// do serves one request; headers come in name, value pairs.
func (g *gateway) do(method, target string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, req)
	return rec
}

// concrete fills a route pattern's parameters.
func concrete(pattern string) string {
	return strings.ReplaceAll(pattern, ":id", "0b9c6d4e-1111-4a2b-9c3d-123456789abc")
}

func bodyFor(method string) io.Reader {
	if method == http.MethodPost || method == http.MethodPut {
		return strings.NewReader(`{"name":"x"}`)
	}
	return nil
}

// wantEnvelope checks status and the error envelope's code.
func wantEnvelope(t testing.TB, rec *httptest.ResponseRecorder, status int, code apierror.Code) apierror.Body {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var b apierror.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code != code || b.Error.Message == "" {
		t.Fatalf("body = %s, want an envelope with code %q", rec.Body, code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	return b
}

func TestRouteTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range httpapi.Routes() {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("duplicate route %s", key)
		}
		seen[key] = true
		if rt.App == "" || !strings.HasPrefix(rt.Path, "/") {
			t.Errorf("route %s: app %q", key, rt.App)
		}
		if strings.HasPrefix(rt.Path, "/api/v1/movie-command/") && rt.Access != httpapi.Admin {
			t.Errorf("route %s: catalog writes must be admin only, got %s", key, rt.Access)
		}
		if rt.RateLimited && rt.Access != httpapi.Public {
			t.Errorf("route %s: rate limits are meant for the public auth endpoints", key)
		}
	}
	// The endpoints the identity and catalog services expose today.
	for _, key := range []string{
		"POST /api/v1/auth/register", "POST /api/v1/auth/token", "POST /api/v1/auth/logout", "GET /api/v1/auth/me",
		"GET /.well-known/openid-configuration", "GET /.well-known/jwks.json",
		"GET /api/v1/movie-query/movies", "GET /api/v1/movie-query/movies/:id",
		"POST /api/v1/movie-command/tags", "DELETE /api/v1/movie-command/videos/:id",
	} {
		if !seen[key] {
			t.Errorf("route %s missing", key)
		}
	}
}

// TestAuthorization walks the route table: who may call what.
func TestAuthorization(t *testing.T) {
	g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.AuthLimiter = nil })
	iss, key := g.iss, g.iss.RSAKey()
	claims := func(edit func(map[string]any)) map[string]any {
		c := iss.Claims("admin-1", "user", "admin")
		edit(c)
		return c
	}
	tamperedSig := func(tok string) string {
		parts := strings.Split(tok, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[0] ^= 0x01
		return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	rejected := []struct{ name, authorization string }{
		{"no token", ""},
		{"basic auth", "Basic YWRtaW46YWRtaW4="},
		{"malformed", "Bearer not-a-jwt"},
		{"expired", "Bearer " + key.Token(t, claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
		{"wrong issuer", "Bearer " + key.Token(t, claims(func(c map[string]any) { c["iss"] = "http://keycloak.evil/realms/x" }))},
		{"wrong audience", "Bearer " + key.Token(t, claims(func(c map[string]any) { c["aud"] = "account" }))},
		{"alg none", "Bearer " + authntest.NoneToken(t, key.ID, claims(func(map[string]any) {}))},
		{"tampered signature", "Bearer " + tamperedSig(g.admin)},
		{"user token edited to admin", "Bearer " + authntest.Tamper(t, g.user, claims(func(map[string]any) {}))},
		{"HS256 signed with the public key", "Bearer " + authntest.HS256Token(t, key.ID, key.PublicPEM(t), claims(func(map[string]any) {}))},
		{"signed by an unknown key", "Bearer " + iss.NewUnpublishedKey(t).Token(t, claims(func(map[string]any) {}))},
	}
	spoofed := []string{"X-User-Id", "attacker", "X-User-Roles", "admin", "X-User-Email", "attacker@evil"}

	for _, rt := range httpapi.Routes() {
		path := concrete(rt.Path)
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			switch rt.Access {
			case httpapi.Public:
				before := g.sidecar.count()
				// Public routes read no token, so none is forwarded, valid or not.
				rec := g.do(rt.Method, path, bodyFor(rt.Method), append(spoofed, "Authorization", "Bearer "+g.admin)...)
				if rec.Code != http.StatusOK || g.sidecar.count() != before+1 {
					t.Fatalf("public route: status %d, body %s", rec.Code, rec.Body)
				}
				got := g.sidecar.last(t)
				for _, h := range []string{"X-User-Id", "X-User-Roles", "X-User-Email", "Authorization"} {
					if v := got.Header.Values(h); len(v) > 0 {
						t.Errorf("service received %s: %q", h, v)
					}
				}
				return
			case httpapi.Admin:
				before := g.sidecar.count()
				rec := g.do(rt.Method, path, bodyFor(rt.Method), "Authorization", "Bearer "+g.user)
				wantEnvelope(t, rec, http.StatusForbidden, apierror.Forbidden)
				if g.sidecar.count() != before {
					t.Fatal("a user reached an admin route's service")
				}
			}
			for _, bad := range rejected {
				t.Run(bad.name, func(t *testing.T) {
					before := g.sidecar.count()
					var hdr []string
					if bad.authorization != "" {
						hdr = []string{"Authorization", bad.authorization}
					}
					rec := g.do(rt.Method, path, bodyFor(rt.Method), hdr...)
					wantEnvelope(t, rec, http.StatusUnauthorized, apierror.Unauthorized)
					if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
						t.Errorf("WWW-Authenticate = %q", h)
					}
					if g.sidecar.count() != before {
						t.Fatal("the request reached the service")
					}
				})
			}
			t.Run("allowed", func(t *testing.T) {
				token := g.user
				if rt.Access == httpapi.Admin {
					token = g.admin
				}
				rec := g.do(rt.Method, path+"?page=2&size=5", bodyFor(rt.Method),
					append(spoofed, "Authorization", "Bearer "+token)...)
				if rec.Code != http.StatusOK {
					t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
				}
				got := g.sidecar.last(t)
				if want := "/v1.0/invoke/" + rt.App + "/method" + path; got.Method != rt.Method || got.Path != want || got.Query != "page=2&size=5" {
					t.Fatalf("sidecar got %s %s?%s, want %s %s?page=2&size=5", got.Method, got.Path, got.Query, rt.Method, want)
				}
				// The service verifies the token itself; no identity header passes.
				if v := got.Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer "+token {
					t.Errorf("Authorization = %q, want only the verified token", v)
				}
				for _, h := range []string{"X-User-Id", "X-User-Roles", "X-User-Email"} {
					if v := got.Header.Values(h); len(v) > 0 {
						t.Errorf("service received %s: %q", h, v)
					}
				}
				if v := got.Header.Get("Dapr-Api-Token"); v != daprToken {
					t.Errorf("dapr-api-token = %q", v)
				}
			})
		})
	}
}

func TestES256TokensAreAccepted(t *testing.T) {
	g := newGateway(t)
	tok := g.iss.ECKey().Token(t, g.iss.Claims("user-2", "user"))
	rec := g.do("GET", "/api/v1/movie-query/movies", nil, "Authorization", "Bearer "+tok)
	if rec.Code != http.StatusOK || g.sidecar.last(t).Header.Get("Authorization") != "Bearer "+tok {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
}

func TestKeyRotation(t *testing.T) {
	// No refresh gap: here the rotation follows the first fetch at once.
	g := newGateway(t, func(_ *httpapi.Options, c *authn.Config) { c.MinRefreshGap = -1 })
	if rec := g.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+g.user); rec.Code != http.StatusOK {
		t.Fatalf("first key: %d %s", rec.Code, rec.Body)
	}
	fetches := g.iss.JWKSFetches()
	fresh := g.iss.Rotate(t)
	rec := g.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+fresh.Token(t, g.iss.Claims("user-1", "user")))
	if rec.Code != http.StatusOK {
		t.Fatalf("rotated key: %d %s", rec.Code, rec.Body)
	}
	if g.iss.JWKSFetches() <= fetches {
		t.Fatal("the unknown kid did not refresh the key set")
	}
}

func TestIssuerDownIsNotTheClientsFault(t *testing.T) {
	g := newGateway(t)
	g.iss.SetDown(true)
	rec := g.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+g.user)
	wantEnvelope(t, rec, http.StatusServiceUnavailable, apierror.Unavailable)
	if g.sidecar.count() != 0 {
		t.Fatal("an unverified request reached the service")
	}
}

func TestForwardsRequestFaithfully(t *testing.T) {
	g := newGateway(t)
	body := `{"name":"The Matrix","releaseYear":1999}`
	rec := g.do("PUT", "/api/v1/movie-command/movies/m-1?notify=true&x=%2F", strings.NewReader(body),
		"Authorization", "bearer  "+g.admin,
		"Authorization", "Bearer second-token",
		"Content-Type", "application/json; charset=utf-8",
		"Accept", "application/json",
		"If-Match", `"7"`,
		"Idempotency-Key", "k-123",
		"Range", "bytes=0-99",
		"X-Request-Id", "req-abc",
		"Connection", "X-Secret-Hop",
		"X-Secret-Hop", "1",
		"Keep-Alive", "timeout=5",
		"Cookie", "session=1",
		"Dapr-Api-Token", "client-guess",
		"Dapr-App-Id", "identity",
		"X-Forwarded-For", "203.0.113.9",
		"X-Invented", "1",
		"X-Cld-Timestamp", "1700000000",
		"X-Cld-Signature", "abc123",
	)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	got := g.sidecar.last(t)
	if got.Method != "PUT" || got.Path != "/v1.0/invoke/movie-command/method/api/v1/movie-command/movies/m-1" ||
		got.Query != "notify=true&x=%2F" || string(got.Body) != body {
		t.Fatalf("sidecar got %s %s?%s %q", got.Method, got.Path, got.Query, got.Body)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/json; charset=utf-8", "Accept": "application/json", "If-Match": `"7"`,
		"Idempotency-Key": "k-123", "Range": "bytes=0-99", "X-Request-Id": "req-abc", "Dapr-Api-Token": daprToken,
		"X-Forwarded-For": "192.0.2.1",                               // the TCP peer, not what the client claims
		"Authorization":   "Bearer " + g.admin,                       // the verified token only, in canonical form
		"X-Cld-Timestamp": "1700000000", "X-Cld-Signature": "abc123", // Cloudinary's, for media
	} {
		if v := got.Header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	for _, name := range []string{"X-Secret-Hop", "Keep-Alive", "Cookie", "Dapr-App-Id", "X-Invented"} {
		if v := got.Header.Values(name); len(v) > 0 {
			t.Errorf("forwarded %s: %q", name, v)
		}
	}
	if v := rec.Header().Values("X-Request-Id"); len(v) != 1 || v[0] != "req-abc" {
		t.Errorf("answer X-Request-Id = %q", v)
	}
}

func TestGeneratesRequestID(t *testing.T) {
	g := newGateway(t)
	rec := g.do("GET", "/.well-known/jwks.json", nil)
	id := rec.Header().Get("X-Request-Id")
	if id == "" || g.sidecar.last(t).Header.Get("X-Request-Id") != id {
		t.Fatalf("request id %q not propagated (service saw %q)", id, g.sidecar.last(t).Header.Get("X-Request-Id"))
	}
}

func TestPreservesTheServicesAnswer(t *testing.T) {
	g := newGateway(t)
	t.Run("201 with Location", func(t *testing.T) {
		g.sidecar.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Location", "/api/v1/movie-command/tags/t-1")
			w.Header().Set("ETag", `"1"`)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Request-Id", "service-echo")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":"t-1","name":"noir"}`)
		})
		rec := g.do("POST", "/api/v1/movie-command/tags", strings.NewReader(`{"name":"noir"}`),
			"Authorization", "Bearer "+g.admin, "Content-Type", "application/json", "X-Request-Id", "req-1")
		if rec.Code != http.StatusCreated || rec.Body.String() != `{"id":"t-1","name":"noir"}` {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
		h := rec.Header()
		if h.Get("Location") != "/api/v1/movie-command/tags/t-1" || h.Get("ETag") != `"1"` ||
			h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", h)
		}
		if v := h.Values("X-Request-Id"); len(v) != 1 || v[0] != "req-1" {
			t.Errorf("X-Request-Id = %q", v)
		}
		if v := h.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("the service's CORS header leaked: %q", v)
		}
	})
	t.Run("404 envelope unchanged", func(t *testing.T) {
		const envelope = `{"error":{"code":"not_found","message":"movie m-9 not found"}}`
		g.sidecar.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, envelope)
		})
		rec := g.do("GET", "/api/v1/movie-query/movies/m-9", nil, "Authorization", "Bearer "+g.user)
		if rec.Code != http.StatusNotFound || rec.Body.String() != envelope {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		g.sidecar.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"code":"rate_limited","message":"slow down"}}`)
		})
		rec := g.do("GET", "/api/v1/movie-query/movies", nil, "Authorization", "Bearer "+g.user)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "30" {
			t.Fatalf("got %d %v", rec.Code, rec.Header())
		}
	})
	t.Run("large error body", func(t *testing.T) {
		big := `{"error":{"code":"invalid","message":"` + strings.Repeat("x", 200<<10) + `"}}`
		g.sidecar.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, big)
		})
		rec := g.do("GET", "/api/v1/movie-query/movies", nil, "Authorization", "Bearer "+g.user)
		if rec.Code != http.StatusBadRequest || rec.Body.String() != big {
			t.Fatalf("got %d, %d bytes", rec.Code, rec.Body.Len())
		}
	})
}

func TestGatewayErrors(t *testing.T) {
	g := newGateway(t)
	tests := []struct {
		method, path string
		status       int
		code         apierror.Code
	}{
		{"GET", "/api/v1/nothing-here", http.StatusNotFound, apierror.NotFound},
		{"GET", "/nothing-here", http.StatusNotFound, apierror.NotFound}, // / is the watch page (web_test.go)
		{"PATCH", "/api/v1/movie-command/movies/m-1", http.StatusMethodNotAllowed, apierror.MethodNotAllowed},
		{"DELETE", "/api/v1/auth/token", http.StatusMethodNotAllowed, apierror.MethodNotAllowed},
		{"GET", "/api/v1/movie-query/movies/..", http.StatusNotFound, apierror.NotFound},
		{"GET", "/api/v1/movie-query/movies/%2e%2e", http.StatusNotFound, apierror.NotFound},
		{"GET", "/api/v1/movie-query/movies/a%2Fb", http.StatusNotFound, apierror.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			wantEnvelope(t, g.do(tt.method, tt.path, nil, "Authorization", "Bearer "+g.admin), tt.status, tt.code)
		})
	}
	if n := g.sidecar.count(); n != 0 {
		t.Fatalf("%d requests reached the sidecar", n)
	}
}

func TestHealthz(t *testing.T) {
	g := newGateway(t)
	if rec := g.do("GET", "/healthz", nil); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestBodyTooLarge(t *testing.T) {
	g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.MaxBodyBytes = 1024 })
	big := strings.Repeat("x", 2048)
	t.Run("announced length", func(t *testing.T) {
		rec := g.do("POST", "/api/v1/auth/register", strings.NewReader(big), "Content-Type", "application/json")
		wantEnvelope(t, rec, http.StatusRequestEntityTooLarge, apierror.TooLarge)
		if g.sidecar.count() != 0 {
			t.Fatal("forwarded a body over the limit")
		}
	})
	t.Run("chunked", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/v1/auth/register", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, req)
		wantEnvelope(t, rec, http.StatusRequestEntityTooLarge, apierror.TooLarge)
	})
	t.Run("chunked within the limit streams through", func(t *testing.T) {
		small := strings.Repeat("y", 1000)
		req := httptest.NewRequest("POST", "/api/v1/auth/register", io.MultiReader(strings.NewReader(small)))
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || string(g.sidecar.last(t).Body) != small {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func TestAuthEndpointsAreRateLimitedPerClientIP(t *testing.T) {
	g := newGateway(t)
	from := func(ip, path string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		req.RemoteAddr = ip + ":40000"
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 10 {
		if rec := from("198.51.100.7", "/api/v1/auth/token"); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
	rec := from("198.51.100.7", "/api/v1/auth/token")
	wantEnvelope(t, rec, http.StatusTooManyRequests, apierror.RateLimited)
	if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	// A forged X-Forwarded-For does not help.
	wantEnvelope(t, from("198.51.100.7", "/api/v1/auth/token", "X-Forwarded-For", "203.0.113.1"),
		http.StatusTooManyRequests, apierror.RateLimited)
	// Each endpoint has its own bucket: signing out does not cost a sign-in.
	if rec := from("198.51.100.7", "/api/v1/auth/logout"); rec.Code != http.StatusOK {
		t.Fatalf("logout limited by the token endpoint's bucket: %d", rec.Code)
	}
	if rec := from("198.51.100.8", "/api/v1/auth/token"); rec.Code != http.StatusOK {
		t.Fatalf("another client was limited: %d", rec.Code)
	}
	if rec := g.do("GET", "/.well-known/jwks.json", nil); rec.Code != http.StatusOK {
		t.Fatalf("an unlimited route was limited: %d", rec.Code)
	}
	if n := g.sidecar.count(); n != 13 {
		t.Fatalf("sidecar saw %d requests, want 13", n)
	}
	// IPv6 addresses count by /64: one host usually holds a whole /64.
	for i := range 10 {
		if rec := from(fmt.Sprintf("[2001:db8:1:2::%x]", i+1), "/api/v1/auth/register"); rec.Code != http.StatusOK {
			t.Fatalf("IPv6 request %d: %d", i+1, rec.Code)
		}
	}
	wantEnvelope(t, from("[2001:db8:1:2:ffff::1]", "/api/v1/auth/register"), http.StatusTooManyRequests, apierror.RateLimited)
	if rec := from("[2001:db8:1:3::1]", "/api/v1/auth/register"); rec.Code != http.StatusOK {
		t.Fatalf("another /64 was limited: %d", rec.Code)
	}
}

func TestTrustedProxySetsTheClientIP(t *testing.T) {
	g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.TrustedProxies = []string{"10.0.0.0/8"} })
	req := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.50")
	g.h.ServeHTTP(httptest.NewRecorder(), req)
	if v := g.sidecar.last(t).Header.Get("X-Forwarded-For"); v != "203.0.113.50" {
		t.Fatalf("X-Forwarded-For = %q", v)
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Run("sidecar down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.SidecarURL = "http://" + addr })
		start := time.Now()
		rec := g.do("GET", "/.well-known/jwks.json", nil)
		wantEnvelope(t, rec, http.StatusServiceUnavailable, apierror.Unavailable)
		if time.Since(start) > 3*time.Second {
			t.Fatalf("took %v", time.Since(start))
		}
	})
	t.Run("service does not answer in time", func(t *testing.T) {
		g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.UpstreamTimeout = 200 * time.Millisecond })
		g.sidecar.setAnswer(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
		start := time.Now()
		rec := g.do("GET", "/api/v1/movie-query/movies", nil, "Authorization", "Bearer "+g.user)
		wantEnvelope(t, rec, http.StatusServiceUnavailable, apierror.Unavailable)
		if time.Since(start) > 3*time.Second {
			t.Fatalf("took %v", time.Since(start))
		}
	})
	sidecarAnswers := []struct {
		name, contentType, body string
		status                  int
	}{
		{"service down (ERR_DIRECT_INVOKE)", "application/json",
			`{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: movie-query, err: connection refused"}`, 500},
		{"no such app", "application/json", `{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id"}`, 404},
		{"sidecar refuses our token", "text/plain; charset=utf-8", "invalid api token\n", 401},
	}
	for _, sa := range sidecarAnswers {
		t.Run(sa.name, func(t *testing.T) {
			g := newGateway(t)
			g.sidecar.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", sa.contentType)
				w.WriteHeader(sa.status)
				_, _ = io.WriteString(w, sa.body)
			})
			rec := g.do("GET", "/api/v1/movie-query/movies", nil, "Authorization", "Bearer "+g.user)
			b := wantEnvelope(t, rec, http.StatusServiceUnavailable, apierror.Unavailable)
			if strings.Contains(b.Error.Message, "connection refused") || strings.Contains(b.Error.Message, "token") {
				t.Fatalf("internal detail leaked: %q", b.Error.Message)
			}
		})
	}
	t.Run("service's own 500 envelope passes", func(t *testing.T) {
		g := newGateway(t)
		const envelope = `{"error":{"code":"internal","message":"internal error"}}`
		g.sidecar.setAnswer(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, envelope)
		})
		rec := g.do("GET", "/api/v1/movie-query/movies", nil, "Authorization", "Bearer "+g.user)
		if rec.Code != http.StatusInternalServerError || rec.Body.String() != envelope {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
}

func TestStreamsResponses(t *testing.T) {
	g := newGateway(t)
	release := make(chan struct{})
	g.sidecar.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "second\n")
	})
	srv := httptest.NewServer(g.h)
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v1/movie-query/movies", nil)
	req.Header.Set("Authorization", "Bearer "+g.user)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, buf); done <- err }()
	select {
	case err := <-done:
		if err != nil || string(buf) != "first\n" {
			t.Fatalf("read %q, %v", buf, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first chunk was held back until the service finished")
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second\n" {
		t.Fatalf("rest = %q", rest)
	}
}

func TestCORS(t *testing.T) {
	g := newGateway(t)
	t.Run("preflight from an allowed origin", func(t *testing.T) {
		rec := g.do("OPTIONS", "/api/v1/movie-command/movies/m-1", nil,
			"Origin", "http://localhost:3000", "Access-Control-Request-Method", "PUT",
			"Access-Control-Request-Headers", "authorization, content-type, if-match")
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		h := rec.Header()
		if h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
			h.Get("Access-Control-Allow-Methods") != "GET, PUT, DELETE" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "If-Match") ||
			h.Get("Access-Control-Max-Age") == "" {
			t.Fatalf("headers %v", h)
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		rec := g.do("OPTIONS", "/api/v1/auth/token", nil,
			"Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		wantEnvelope(t, rec, http.StatusForbidden, apierror.Forbidden)
		if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("Access-Control-Allow-Origin = %q", v)
		}
	})
	t.Run("preflight on an unknown path", func(t *testing.T) {
		rec := g.do("OPTIONS", "/api/v1/nope", nil, "Origin", "http://localhost:3000", "Access-Control-Request-Method", "GET")
		wantEnvelope(t, rec, http.StatusNotFound, apierror.NotFound)
	})
	t.Run("answers and errors are readable by the allowed origin", func(t *testing.T) {
		for _, rec := range []*httptest.ResponseRecorder{
			g.do("GET", "/.well-known/jwks.json", nil, "Origin", "http://localhost:3000"),
			g.do("GET", "/api/v1/auth/me", nil, "Origin", "http://localhost:3000"),
		} {
			h := rec.Header()
			if h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Request-Id") ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Location") {
				t.Fatalf("status %d, headers %v", rec.Code, h)
			}
		}
	})
	if n := g.sidecar.count(); n != 1 {
		t.Fatalf("sidecar saw %d requests, want 1", n)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		g := newGateway(t)
		wantEnvelope(t, g.do("GET", "/openapi.yaml", nil), http.StatusNotFound, apierror.NotFound)
	})
	t.Run("served", func(t *testing.T) {
		g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.OpenAPIFile = "testdata/openapi.yaml" })
		rec := g.do("GET", "/openapi.yaml", nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "openapi:") ||
			rec.Header().Get("Content-Type") != "application/yaml" {
			t.Fatalf("got %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	})
}

// The notification stream: a browser's EventSource brings a ticket instead
// of the Authorization header; the service verifies it. A bad bearer is
// refused by the gateway even with a ticket.
func TestStreamTicketStandsInForTheBearer(t *testing.T) {
	g := newGateway(t)
	const path = "/api/v1/notifications/stream"
	rec := g.do("GET", path+"?ticket=abc", nil, "Last-Event-ID", "1700000000000000_x")
	if rec.Code != http.StatusOK {
		t.Fatalf("ticket: %d %s", rec.Code, rec.Body)
	}
	got := g.sidecar.last(t)
	if got.Query != "ticket=abc" || got.Header.Get("Authorization") != "" {
		t.Fatalf("sidecar got ?%s with Authorization %q", got.Query, got.Header.Get("Authorization"))
	}
	// Where EventSource resumes: without it every reconnection starts afresh.
	if v := got.Header.Get("Last-Event-ID"); v != "1700000000000000_x" {
		t.Fatalf("Last-Event-ID = %q", v)
	}
	before := g.sidecar.count()
	wantEnvelope(t, g.do("GET", path+"?ticket=abc", nil, "Authorization", "Bearer bad"), http.StatusUnauthorized, apierror.Unauthorized)
	wantEnvelope(t, g.do("GET", path, nil), http.StatusUnauthorized, apierror.Unauthorized)
	if g.sidecar.count() != before {
		t.Fatal("a refused request reached the service")
	}
	// Other routes take no ticket.
	wantEnvelope(t, g.do("GET", "/api/v1/notifications?ticket=abc", nil), http.StatusUnauthorized, apierror.Unauthorized)
}

// A stream outlives the gateway server's write timeout (60 s in
// httpserver.Run; 300 ms here).
func TestStreamOutlivesTheServersWriteTimeout(t *testing.T) {
	g := newGateway(t)
	g.sidecar.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 8 {
			if _, err := fmt.Fprintf(w, ": %d\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	srv := httptest.NewUnstartedServer(g.h)
	srv.Config.WriteTimeout, srv.Config.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v1/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+g.user)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(b), "\n\n") != 8 {
		t.Fatalf("read %q, %v", b, err)
	}
}
