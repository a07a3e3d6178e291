package httpapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"tenflix/platform/httpserver"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"tenflix/platform/authn"
	"tenflix/services/identity/internal/app"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/httpapi"
	"tenflix/services/identity/internal/password"
	"tenflix/services/identity/internal/token"
)

const (
	issuer   = "http://127.0.0.1:8080"
	audience = "tenflix-api"
	appToken = "sidecar-to-app-token"
	adminPW  = "bootstrap admin passphrase"
)

var (
	keysOnce           sync.Once
	currentKey, oldKey *rsa.PrivateKey
)

func rsaKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		currentKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		oldKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	return currentKey, oldKey
}

// env is the service's HTTP API over a fresh database, with the admin
// account bootstrapped like at start; accounts are written through a
// stand-in of the sidecar's state API on that database (dbtest.Daprd).
type env struct {
	t    testing.TB
	db   *dbtest.Database
	h    http.Handler
	keys *token.Keys
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, func(*app.Options) {})
}

// newEnvWith is newEnv with options changed by change.
func newEnvWith(t testing.TB, change func(*app.Options)) *env {
	t.Helper()
	db := dbtest.New(t)
	cur, prev := rsaKeys(t)
	keys, err := token.NewKeys(cur, &prev.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	opt := app.Options{
		Users:          db.Users,
		Store:          db,
		Issuer:         token.NewIssuer(keys, issuer, audience, 15*time.Minute),
		PasswordParams: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		RefreshTTL:     30 * 24 * time.Hour,
		Log:            log,
	}
	change(&opt)
	a, err := app.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.EnsureAdmin(context.Background(), adminPW); err != nil {
		t.Fatal(err)
	}
	v, err := authn.New(context.Background(), authn.Config{Issuer: issuer, Audience: audience, KeySet: keys.JWKS()})
	if err != nil {
		t.Fatal(err)
	}
	h := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: appToken})
	httpapi.Routes(h, httpapi.Deps{Log: log, App: a, Issuer: issuer, JWKS: keys.JWKS(), Verifier: v})
	return &env{t: t, db: db, h: h, keys: keys}
}

type response struct {
	*httptest.ResponseRecorder
	t testing.TB
}

// do sends a request as the sidecar would (with the app token).
func (e *env) do(method, path, contentType, body string, header ...string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("dapr-api-token", appToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return response{w, e.t}
}

func (e *env) register(email, pw, name string) response {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw, "name": name})
	return e.do(http.MethodPost, "/api/v1/auth/register", "application/json", string(b))
}

func (e *env) token(form url.Values) response {
	e.t.Helper()
	return e.do(http.MethodPost, "/api/v1/auth/token", "application/x-www-form-urlencoded", form.Encode())
}

func (e *env) login(email, pw string) response {
	e.t.Helper()
	return e.token(url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}})
}

// loginFrom signs in as the gateway forwards a client at address ip (daprd
// appends its own host address).
func (e *env) loginFrom(ip, email, pw string) response {
	e.t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}
	return e.do(http.MethodPost, "/api/v1/auth/token", "application/x-www-form-urlencoded", form.Encode(),
		"X-Forwarded-For", ip+", 10.0.0.5")
}

func (e *env) refresh(rt string) response {
	e.t.Helper()
	return e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func (r response) status(want int) response {
	r.t.Helper()
	if r.Code != want {
		r.t.Fatalf("status %d, want %d: %s", r.Code, want, r.Body)
	}
	return r
}

func (r response) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		r.t.Fatalf("not JSON: %v: %s", err, r.Body)
	}
	return m
}

// envelope checks the house error envelope and returns code and message.
func (r response) envelope() (string, string) {
	r.t.Helper()
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		r.t.Fatalf("not an error envelope (%v): %s", err, r.Body)
	}
	return b.Error.Code, b.Error.Message
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (r response) tokens() tokens {
	r.t.Helper()
	r.status(http.StatusOK)
	var tk tokens
	if err := json.Unmarshal(r.Body.Bytes(), &tk); err != nil || tk.AccessToken == "" || tk.RefreshToken == "" {
		r.t.Fatalf("token response: %v: %s", err, r.Body)
	}
	return tk
}

const goodPW = "correct horse battery staple"

func TestRegister(t *testing.T) {
	e := newEnv(t)
	r := e.register("  Ann.Lee@Example.com ", goodPW, " Ann Lee ").status(http.StatusCreated)
	var u struct {
		ID    string   `json:"id"`
		Email string   `json:"email"`
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	_ = json.Unmarshal(r.Body.Bytes(), &u)
	if u.ID == "" || u.Email != "Ann.Lee@Example.com" || u.Name != "Ann Lee" || !slices.Equal(u.Roles, []string{"user"}) {
		t.Fatalf("registered: %s", r.Body)
	}
	if strings.Contains(r.Body.String(), "argon2") || strings.Contains(r.Body.String(), "password") {
		t.Fatalf("response leaks the password hash: %s", r.Body)
	}
	// The transaction that stored the user published UserRegistered: exactly
	// its four fields, never the stored document (its hash, its roles).
	var registered []map[string]any
	for _, ev := range e.db.Dapr.Published() {
		if ev["type"] == "tenflix.identity.user.registered.v1" && ev["topic"] == "users" {
			registered = append(registered, ev)
		}
	}
	if len(registered) != 2 { // the admin's and Ann's
		t.Fatalf("published %v, want two UserRegistered", registered)
	}
	ev := registered[1]
	data, _ := ev["data"].(map[string]any)
	at, _ := data["registeredAt"].(string)
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil || len(data) != 4 || data["id"] != u.ID ||
		data["email"] != "Ann.Lee@Example.com" || data["name"] != "Ann Lee" || ev["datacontenttype"] != "application/json" {
		t.Fatalf("event %v, want data {id, email, name, registeredAt} as JSON", ev)
	}
	// The stored password is a hash.
	if n := e.db.QueryInt(t, `SELECT count(*) FROM identity_state WHERE key = 'user:' || $1
		AND value->>'passwordHash' LIKE '$argon2id$%'`, u.ID); n != 1 {
		t.Fatal("password not stored as an argon2id hash")
	}
}

func TestRegisterRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	e.register("taken@example.com", goodPW, "Taken").status(http.StatusCreated)
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		code, message           string
	}{
		{"empty body", "application/json", "", 400, "invalid", "empty"},
		{"malformed json", "application/json", `{"email":`, 400, "invalid", "JSON"},
		{"not an object", "application/json", `["a"]`, 400, "invalid", ""},
		{"two values", "application/json", `{} {}`, 400, "invalid", "single"},
		{"wrong type", "application/json", `{"email":5,"password":"x","name":"y"}`, 400, "invalid", "email"},
		{"text body", "text/plain", `email=a`, 415, "unsupported_media_type", "application/json"},
		{"unknown field", "application/json", `{"email":"a@example.com","password":"` + goodPW + `","name":"A","nickname":"x"}`, 400, "invalid", "nickname"},
		{"roles", "application/json", `{"email":"a@example.com","password":"` + goodPW + `","name":"A","roles":["admin"]}`, 400, "invalid", "roles"},
		{"missing email", "application/json", `{"password":"` + goodPW + `","name":"A"}`, 400, "invalid", "email is required"},
		{"bad email", "application/json", `{"email":"not-an-email","password":"` + goodPW + `","name":"A"}`, 400, "invalid", "email"},
		{"long email", "application/json", `{"email":"` + long + `@example.com","password":"` + goodPW + `","name":"A"}`, 400, "invalid", "at most 254"},
		{"missing name", "application/json", `{"email":"a@example.com","password":"` + goodPW + `"}`, 400, "invalid", "name is required"},
		{"long name", "application/json", `{"email":"a@example.com","password":"` + goodPW + `","name":"` + long + `"}`, 400, "invalid", "at most 100"},
		{"missing password", "application/json", `{"email":"a@example.com","name":"A"}`, 400, "invalid", "password is required"},
		{"short password", "application/json", `{"email":"a@example.com","password":"abc12345","name":"A"}`, 400, "invalid", "at least 10"},
		{"common password", "application/json", `{"email":"a@example.com","password":"Password123!","name":"A"}`, 400, "invalid", "common"},
		{"long password", "application/json", `{"email":"a@example.com","password":"` + long + `","name":"A"}`, 400, "invalid", "at most 128"},
		{"duplicate, other case", "application/json", `{"email":"TAKEN@Example.COM","password":"` + goodPW + `","name":"B"}`, 409, "conflict", "already exists"},
		{"duplicate admin", "application/json", `{"email":"Admin@Tenflix.local","password":"` + goodPW + `","name":"B"}`, 409, "conflict", "already exists"},
		{"huge body", "application/json", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too_large", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do(http.MethodPost, "/api/v1/auth/register", tt.contentType, tt.body).status(tt.status)
			code, msg := r.envelope()
			if code != tt.code || !strings.Contains(msg, tt.message) {
				t.Fatalf("got %s %q, want %s mentioning %q", code, msg, tt.code, tt.message)
			}
		})
	}
	e.t = t
	if n := e.db.QueryInt(t, `SELECT count(*) FROM identity_state WHERE key LIKE 'user:%'`); n != 2 {
		t.Fatalf("%d users, want the admin and taken@ only", n)
	}
	if n := len(e.db.Dapr.Published()); n != 2 {
		t.Fatalf("%d events published, want the admin's and taken@'s only", n)
	}
}

// The original system made every self-registered user an admin.
func TestSelfRegistrationNeverYieldsAdmin(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		`{"email":"a@example.com","password":"` + goodPW + `","name":"A","roles":["user","admin"]}`,
		`{"email":"a@example.com","password":"` + goodPW + `","name":"A","Roles":["admin"]}`,
		`{"email":"a@example.com","password":"` + goodPW + `","name":"A","role":"admin"}`,
		`{"email":"a@example.com","password":"` + goodPW + `","name":"A","realm_access":{"roles":["admin"]}}`,
		`{"email":"a@example.com","password":"` + goodPW + `","name":"A","roles":null}`,
	} {
		e.do(http.MethodPost, "/api/v1/auth/register", "application/json", body).status(http.StatusBadRequest)
	}
	r := e.register("a@example.com", goodPW, "A").status(http.StatusCreated)
	if roles := fmt.Sprint(r.json()["roles"]); roles != "[user]" {
		t.Fatalf("roles %s", roles)
	}
	claims := e.verify(e.login("a@example.com", goodPW).tokens().AccessToken)
	if roles := realmRoles(claims); !slices.Equal(roles, []string{"user"}) {
		t.Fatalf("token roles %v", roles)
	}
	if n := e.db.QueryInt(t, `SELECT count(*) FROM identity_state WHERE key LIKE 'user:%' AND value->'roles' ? 'admin'`); n != 1 {
		t.Fatalf("%d admins, want only the bootstrap admin", n)
	}
}

func TestPasswordGrant(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)

	r := e.login("ANN@example.COM", goodPW)
	tk := r.tokens()
	if tk.TokenType != "Bearer" || tk.ExpiresIn != 900 || len(tk.RefreshToken) < 40 {
		t.Fatalf("token response %+v", tk)
	}
	if r.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.Header().Get("Cache-Control"))
	}

	wrongPW := e.login("ann@example.com", "not the password at all").status(http.StatusUnauthorized)
	unknown := e.login("nobody@example.com", goodPW).status(http.StatusUnauthorized)
	if wrongPW.Body.String() != unknown.Body.String() {
		t.Fatalf("wrong password and unknown email answer differently:\n%s\n%s", wrongPW.Body, unknown.Body)
	}
	if code, msg := wrongPW.envelope(); code != "unauthorized" || msg != "invalid email or password" {
		t.Fatalf("%s %q", code, msg)
	}
}

func TestTokenEndpointRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	form := "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		message                 string
	}{
		{"json body", "application/json", `{"grant_type":"password"}`, 415, "x-www-form-urlencoded"},
		{"no content type", "", `grant_type=password`, 415, "x-www-form-urlencoded"},
		{"no grant", form, `username=a&password=b`, 400, "grant_type is required"},
		{"unsupported grant", form, `grant_type=client_credentials`, 400, "unsupported grant_type"},
		{"authorization code", form, `grant_type=authorization_code&code=x`, 400, "unsupported grant_type"},
		{"repeated parameter", form, `grant_type=password&username=a@example.com&username=b@example.com&password=x`, 400, "more than once"},
		{"no username", form, `grant_type=password&password=` + url.QueryEscape(goodPW), 400, "required"},
		{"no password", form, `grant_type=password&username=a@example.com`, 400, "required"},
		{"long username", form, `grant_type=password&password=x&username=` + strings.Repeat("a", 300), 400, "at most"},
		{"bad encoding", form, `grant_type=password&username=%zz`, 400, "malformed"},
		{"no refresh token", form, `grant_type=refresh_token`, 400, "refresh_token is required"},
		{"garbage refresh token", form, `grant_type=refresh_token&refresh_token=nope`, 401, "sign in again"},
		{"huge refresh token", form, `grant_type=refresh_token&refresh_token=` + strings.Repeat("a", 5000), 401, "sign in again"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			_, msg := e.do(http.MethodPost, "/api/v1/auth/token", tt.contentType, tt.body).status(tt.status).envelope()
			if !strings.Contains(msg, tt.message) {
				t.Fatalf("message %q, want it to mention %q", msg, tt.message)
			}
		})
	}
	// Credentials in the query string are ignored, not used.
	e.t = t
	e.do(http.MethodPost, "/api/v1/auth/token?grant_type=password&username=admin@tenflix.local&password="+url.QueryEscape(adminPW),
		form, "").status(http.StatusBadRequest)
}

// Five wrong passwords for an email from one client throttle that client
// only. (Before per-client counting, the sixth attempt was refused for
// everyone, the owner with the right password included: a lock-out anyone
// could cause.)
func TestRepeatedFailuresAreThrottled(t *testing.T) {
	e := newEnv(t)
	const a, b = "198.51.100.1", "198.51.100.2"
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	for i := range 5 {
		if r := e.loginFrom(a, "ann@example.com", fmt.Sprintf("wrong guess %d", i)); r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.Code, r.Body)
		}
	}
	// Now even the right password waits, from that client: otherwise its
	// guessing goes on.
	r := e.loginFrom(a, "Ann@Example.com", goodPW).status(http.StatusTooManyRequests)
	if code, _ := r.envelope(); code != "rate_limited" {
		t.Fatal(code)
	}
	if ra := r.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// The owner from another client signs in; the guesser stays throttled.
	e.loginFrom(b, "ann@example.com", goodPW).tokens()
	e.loginFrom(a, "ann@example.com", goodPW).status(http.StatusTooManyRequests)
	// Other accounts are not affected.
	e.loginFrom(a, "admin@tenflix.local", adminPW).tokens()
	// Unknown emails are throttled the same way (no account enumeration).
	for range 5 {
		e.loginFrom(a, "ghost@example.com", "whatever it is").status(http.StatusUnauthorized)
	}
	e.loginFrom(a, "ghost@example.com", "whatever it is").status(http.StatusTooManyRequests)

	// The failures leave the window: the right password works again from
	// the guessing client, and resets its count.
	e.db.Exec(t, `UPDATE login_attempts SET attempted_at = attempted_at - interval '15 minutes 1 second'`)
	e.loginFrom(a, "ann@example.com", goodPW).tokens()
	if n := e.db.QueryInt(t, `SELECT count(*) FROM login_attempts WHERE email_key = 'ann@example.com'`); n != 0 {
		t.Fatalf("%d attempts left after a success", n)
	}
}

// Guessing spread over many clients slows down the clients that failed;
// the owner from a fresh client still signs in at once.
func TestNobodyCanLockTheOwnerOut(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	for i := range 30 {
		e.loginFrom(fmt.Sprintf("203.0.113.%d", i), "ann@example.com", "wrong guess!").status(http.StatusUnauthorized)
	}
	r := e.loginFrom("203.0.113.1", "ann@example.com", "another guess").status(http.StatusTooManyRequests)
	if ra := r.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	e.loginFrom("192.0.2.200", "ann@example.com", goodPW).tokens()
}

func TestClientIsTheAddressTheGatewaySaw(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ xff, want string }{
		{"198.51.100.7, 10.0.0.5", "198.51.100.7"},
		{"::ffff:198.51.100.8", "198.51.100.8"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"", "192.0.2.1"}, // no header: httptest's peer address
		{"not an address", "192.0.2.1"},
	} {
		e.do(http.MethodPost, "/api/v1/auth/token", "application/x-www-form-urlencoded",
			url.Values{"grant_type": {"password"}, "username": {"ghost@example.com"}, "password": {"guess " + tt.xff}}.Encode(),
			"X-Forwarded-For", tt.xff).status(http.StatusUnauthorized)
		if n := e.db.QueryInt(t, `SELECT count(*) FROM login_attempts WHERE client_key = $1`, tt.want); n == 0 {
			t.Errorf("X-Forwarded-For %q: no attempt counted for %s", tt.xff, tt.want)
		}
		e.db.Exec(t, `DELETE FROM login_attempts`)
	}
}

// Past the hashing bound, sign-ins and registrations get 503 with
// Retry-After in the envelope instead of queueing (and no failure counted).
func TestHashingAtCapacityAnswersUnavailable(t *testing.T) {
	e := newEnvWith(t, func(o *app.Options) {
		o.PasswordParams = password.Recommended // slow enough to overlap
		o.HashLimits = password.Limits{Concurrent: 1, Wait: time.Millisecond}
	})
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	const n = 8
	codes := make(chan response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes <- e.loginFrom(fmt.Sprintf("203.0.113.%d", i), "ann@example.com", goodPW)
		})
	}
	wg.Wait()
	close(codes)
	busy := 0
	for r := range codes {
		switch r.Code {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			busy++
			if code, _ := r.envelope(); code != "unavailable" || r.Header().Get("Retry-After") != "1" {
				t.Errorf("busy answer: %s, Retry-After %q", code, r.Header().Get("Retry-After"))
			}
		default:
			t.Errorf("status %d: %s", r.Code, r.Body)
		}
	}
	if busy == 0 || busy == n {
		t.Fatalf("%d of %d concurrent sign-ins refused with one hashing slot", busy, n)
	}
	if left := e.db.QueryInt(t, `SELECT count(*) FROM login_attempts`); left != 0 {
		t.Fatalf("%d attempts counted for refused sign-ins", left)
	}
}

func TestSuccessResetsTheFailureCount(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	for range 4 {
		e.login("ann@example.com", "wrong guess!").status(http.StatusUnauthorized)
	}
	e.login("ann@example.com", goodPW).tokens()
	for range 4 {
		e.login("ann@example.com", "wrong guess!").status(http.StatusUnauthorized)
	}
	e.login("ann@example.com", goodPW).tokens()
}

func TestRefreshTokenRotates(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	first := e.login("ann@example.com", goodPW).tokens()
	second := e.refresh(first.RefreshToken).tokens()
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	if sub := e.verify(second.AccessToken)["sub"]; sub != e.verify(first.AccessToken)["sub"] {
		t.Fatalf("refreshed token is for %v", sub)
	}
	third := e.refresh(second.RefreshToken).tokens()
	_ = third
}

// A rotated refresh token that comes back was copied: the whole session
// (every token of the family, the newest too) is revoked.
func TestReuseOfARotatedRefreshTokenRevokesTheFamily(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	first := e.login("ann@example.com", goodPW).tokens()
	other := e.login("ann@example.com", goodPW).tokens() // another device: another family
	second := e.refresh(first.RefreshToken).tokens()

	_, msg := e.refresh(first.RefreshToken).status(http.StatusUnauthorized).envelope()
	if !strings.Contains(msg, "already used") {
		t.Fatalf("reuse message %q", msg)
	}
	e.refresh(second.RefreshToken).status(http.StatusUnauthorized)
	e.refresh(other.RefreshToken).tokens() // the other session lives on
}

func TestLogoutRevokes(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	tk := e.login("ann@example.com", goodPW).tokens()
	form := "application/x-www-form-urlencoded"
	body := url.Values{"refresh_token": {tk.RefreshToken}}.Encode()
	e.do(http.MethodPost, "/api/v1/auth/logout", form, body).status(http.StatusNoContent)
	e.do(http.MethodPost, "/api/v1/auth/logout", form, body).status(http.StatusNoContent) // idempotent
	e.refresh(tk.RefreshToken).status(http.StatusUnauthorized)

	// JSON works too, and revokes the session of a rotated token's family.
	tk = e.login("ann@example.com", goodPW).tokens()
	next := e.refresh(tk.RefreshToken).tokens()
	e.do(http.MethodPost, "/api/v1/auth/logout", "application/json", `{"refresh_token":"`+next.RefreshToken+`"}`).
		status(http.StatusNoContent)
	e.refresh(next.RefreshToken).status(http.StatusUnauthorized)

	e.do(http.MethodPost, "/api/v1/auth/logout", "application/json", `{"refresh_token":"never-issued"}`).status(http.StatusNoContent)
	e.do(http.MethodPost, "/api/v1/auth/logout", "application/json", `{}`).status(http.StatusBadRequest).envelope()
	e.do(http.MethodPost, "/api/v1/auth/logout", form, "").status(http.StatusBadRequest).envelope()
	e.do(http.MethodPost, "/api/v1/auth/logout", "text/plain", "x").status(http.StatusUnsupportedMediaType).envelope()
}

func TestExpiredRefreshTokenIsRejected(t *testing.T) {
	e := newEnv(t)
	e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
	tk := e.login("ann@example.com", goodPW).tokens()
	e.db.Exec(t, `UPDATE refresh_tokens SET expires_at = now() - interval '1 second'`)
	_, msg := e.refresh(tk.RefreshToken).status(http.StatusUnauthorized).envelope()
	if !strings.Contains(msg, "expired") {
		t.Fatalf("message %q", msg)
	}
}

// jwksFromDiscovery fetches the JWKS the way a verifier does: through the
// discovery document's jwks_uri.
func (e *env) jwksFromDiscovery() jwk.Set {
	e.t.Helper()
	doc := e.do(http.MethodGet, "/.well-known/openid-configuration", "", "").status(http.StatusOK).json()
	u, err := url.Parse(doc["jwks_uri"].(string))
	if err != nil || !strings.HasPrefix(doc["jwks_uri"].(string), issuer) {
		e.t.Fatalf("jwks_uri %v", doc["jwks_uri"])
	}
	r := e.do(http.MethodGet, u.Path, "", "").status(http.StatusOK)
	set, err := jwk.Parse(r.Body.Bytes())
	if err != nil {
		e.t.Fatal(err)
	}
	return set
}

// verify checks an access token like the gateway must (signature by a key
// of the served JWKS, iss, aud, exp) and returns its claims.
func (e *env) verify(access string) map[string]any {
	e.t.Helper()
	if _, err := jwt.Parse([]byte(access), jwt.WithKeySet(e.jwksFromDiscovery()),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience), jwt.WithValidate(true)); err != nil {
		e.t.Fatalf("access token does not verify: %v", err)
	}
	msg, err := jws.Parse([]byte(access))
	if err != nil {
		e.t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(msg.Payload(), &claims); err != nil {
		e.t.Fatal(err)
	}
	return claims
}

func realmRoles(claims map[string]any) []string {
	ra, _ := claims["realm_access"].(map[string]any)
	raw, _ := ra["roles"].([]any)
	var out []string
	for _, r := range raw {
		out = append(out, fmt.Sprint(r))
	}
	return out
}

func TestAccessTokenClaims(t *testing.T) {
	e := newEnv(t)
	id := e.register("ann@example.com", goodPW, "Ann Lee").status(http.StatusCreated).json()["id"]
	access := e.login("ann@example.com", goodPW).tokens().AccessToken
	c := e.verify(access)
	exp, iat := c["exp"].(float64), c["iat"].(float64)
	if c["iss"] != issuer || c["aud"] != audience || c["sub"] != id || c["email"] != "ann@example.com" ||
		c["name"] != "Ann Lee" || c["jti"] == "" || exp-iat != 900 ||
		time.Unix(int64(exp), 0).Before(time.Now()) || !slices.Equal(realmRoles(c), []string{"user"}) {
		t.Fatalf("claims %v", c)
	}
	msg, _ := jws.Parse([]byte(access))
	h := msg.Signatures()[0].ProtectedHeaders()
	kid, _ := h.KeyID()
	alg, _ := h.Algorithm()
	if kid != e.keys.KeyID() || alg.String() != "RS256" {
		t.Fatalf("header kid=%q alg=%s", kid, alg)
	}
	if _, ok := e.jwksFromDiscovery().LookupKeyID(kid); !ok {
		t.Fatalf("kid %s not in the JWKS", kid)
	}

	admin := e.verify(e.login("admin@tenflix.local", adminPW).tokens().AccessToken)
	if roles := realmRoles(admin); !slices.Equal(roles, []string{"user", "admin"}) {
		t.Fatalf("admin roles %v", roles)
	}

	// A token signed by a key that is not published is refused.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	strangerKeys, _ := token.NewKeys(stranger)
	forged, _ := token.NewIssuer(strangerKeys, issuer, audience, time.Minute).Issue(token.Claims{Subject: id.(string), Roles: []string{"admin"}})
	if _, err := jwt.Parse([]byte(forged), jwt.WithKeySet(e.jwksFromDiscovery())); err == nil {
		t.Fatal("a token signed by an unknown key verified")
	}
}

func TestJWKSPublishesThePreviousKey(t *testing.T) {
	e := newEnv(t)
	set := e.jwksFromDiscovery()
	if set.Len() != 2 {
		t.Fatalf("%d keys, want the current and the previous", set.Len())
	}
	_, prev := rsaKeys(t)
	oldKeys, _ := token.NewKeys(prev)
	if _, ok := set.LookupKeyID(oldKeys.KeyID()); !ok {
		t.Fatalf("previous key %s missing", oldKeys.KeyID())
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if private, _ := jwk.IsPrivateKey(k); private {
			t.Fatal("JWKS holds a private key")
		}
	}
	// A token signed before the rotation still verifies.
	old, _ := token.NewIssuer(oldKeys, issuer, audience, time.Minute).Issue(token.Claims{Subject: "s"})
	if _, err := jwt.Parse([]byte(old), jwt.WithKeySet(set), jwt.WithIssuer(issuer), jwt.WithAudience(audience)); err != nil {
		t.Fatalf("token of the previous key: %v", err)
	}
	r := e.do(http.MethodGet, "/.well-known/jwks.json", "", "")
	if !strings.Contains(r.Header().Get("Cache-Control"), "max-age") {
		t.Fatalf("Cache-Control %q", r.Header().Get("Cache-Control"))
	}
}

func TestDiscoveryDocument(t *testing.T) {
	e := newEnv(t)
	d := e.do(http.MethodGet, "/.well-known/openid-configuration", "", "").status(http.StatusOK).json()
	if d["issuer"] != issuer || d["jwks_uri"] != issuer+"/.well-known/jwks.json" ||
		d["token_endpoint"] != issuer+"/api/v1/auth/token" ||
		fmt.Sprint(d["grant_types_supported"]) != "[password refresh_token]" ||
		fmt.Sprint(d["id_token_signing_alg_values_supported"]) != "[RS256]" {
		t.Fatalf("discovery %v", d)
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t)
	id := e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated).json()["id"].(string)
	bob := e.register("bob@example.com", goodPW, "Bob").status(http.StatusCreated).json()["id"].(string)
	access := e.login("ann@example.com", goodPW).tokens().AccessToken

	me := e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization", "Bearer "+access).status(http.StatusOK).json()
	if me["id"] != id || me["email"] != "ann@example.com" || me["name"] != "Ann" || fmt.Sprint(me["roles"]) != "[user]" {
		t.Fatalf("me %v", me)
	}
	// Identity headers mean nothing: the caller is the token's subject.
	me = e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization", "Bearer "+access,
		"X-User-Id", bob, "X-User-Roles", "user,admin").status(http.StatusOK).json()
	if me["id"] != id || fmt.Sprint(me["roles"]) != "[user]" {
		t.Fatalf("identity taken from a header: %v", me)
	}
	code, _ := e.do(http.MethodGet, "/api/v1/auth/me", "", "", "X-User-Id", id, "X-User-Email", "ann@example.com").
		status(http.StatusUnauthorized).envelope()
	if code != "unauthorized" {
		t.Fatal(code)
	}

	// Roles come from the account, not from what a token claims.
	mint := func(aud string, c token.Claims) string {
		tok, err := token.NewIssuer(e.keys, issuer, aud, time.Minute).Issue(c)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	me = e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization",
		mint(audience, token.Claims{Subject: id, Roles: []string{"user", "admin"}})).status(http.StatusOK).json()
	if fmt.Sprint(me["roles"]) != "[user]" {
		t.Fatalf("roles taken from the token: %v", me)
	}
	e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization", mint(audience, token.Claims{Subject: "1 OR 1=1"})).
		status(http.StatusUnauthorized).envelope()
	e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization", mint("another-api", token.Claims{Subject: id})).
		status(http.StatusUnauthorized).envelope()
	e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization",
		mint(audience, token.Claims{Subject: "00000000-0000-4000-8000-000000000000"})).status(http.StatusNotFound).envelope()

	// A token of a key identity does not publish.
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	strangerKeys, err := token.NewKeys(stranger)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := token.NewIssuer(strangerKeys, issuer, audience, time.Minute).Issue(token.Claims{Subject: id, Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodGet, "/api/v1/auth/me", "", "", "Authorization", "Bearer "+forged).status(http.StatusUnauthorized).envelope()
}

func TestOnlyTheSidecarGetsIn(t *testing.T) {
	e := newEnv(t)
	for _, token := range []string{"", "wrong"} {
		req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
		if token != "" {
			req.Header.Set("dapr-api-token", token)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("app token %q: %d", token, w.Code)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent {
		t.Fatalf("healthz: %d", w.Code)
	}
	e.do(http.MethodGet, "/api/v1/auth/nothing", "", "").status(http.StatusNotFound).envelope()
	e.do(http.MethodGet, "/api/v1/auth/token", "", "").status(http.StatusMethodNotAllowed).envelope()
}

// Whatever a client sends, the answer is never a 5xx.
func TestBadInputNeverAnswers5xx(t *testing.T) {
	e := newEnv(t)
	bodies := []string{"", "null", "[]", "{}", `"x"`, "1e999", "\xff\xfe", `{"email":null}`, `{"email":{"a":1}}`,
		`{"email":"a@example.com","password":"` + strings.Repeat("é", 200) + `","name":"x"}`,
		`{"email":"\u0000@example.com","password":"x","name":"x"}`,
		"grant_type=password&username=\xff&password=\x00", "grant_type=refresh_token&refresh_token=%00",
		"refresh_token=" + strings.Repeat("%", 100), strings.Repeat("&", 10000)}
	types := []string{"application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8",
		"multipart/form-data", ";;;", ""}
	paths := []string{"/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/auth/logout"}
	for _, p := range paths {
		for _, ct := range types {
			for _, b := range bodies {
				if r := e.do(http.MethodPost, p, ct, b); r.Code >= 500 {
					t.Errorf("POST %s (%s) %q: %d %s", p, ct, b, r.Code, r.Body)
				}
			}
		}
	}
	_ = io.Discard
}
