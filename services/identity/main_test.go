package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/platform/service"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/password"
)

func envOf(m map[string]string) config.Env {
	return func(k string) string { return m[k] }
}

func TestLoadSettings(t *testing.T) {
	defaults := settings{
		Settings:   service.Settings{Port: 7103, DaprHTTPPort: 3503, DaprGRPCPort: 50001, SecretStore: "secretstore", LogLevel: "info", AppAPIToken: "at"},
		StateStore: "identity-state", OIDCIssuer: "http://127.0.0.1:8080", OIDCAudience: "tenflix-api", AccessTTL: 15 * time.Minute,
		RefreshTTL:      30 * 24 * time.Hour,
		HashConcurrency: password.DefaultConcurrency(), HashWait: password.DefaultWait}
	all := defaults
	all.Port, all.DaprHTTPPort, all.DaprAPIToken, all.AppAPIToken = 8000, 3600, "dt", "at"
	all.OIDCIssuer, all.OIDCAudience, all.AccessTTL, all.RefreshTTL = "https://auth.tenflix.example", "api", 5*time.Minute, 7*24*time.Hour
	all.AdminPassword, all.LogLevel, all.StateStore = "pw", "debug", "accounts"
	all.HashConcurrency, all.HashWait = 16, 3*time.Second

	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    settings
		wantErr string
	}{
		{"defaults", map[string]string{"APP_API_TOKEN": "at"}, defaults, ""},
		{"no app token", map[string]string{}, settings{}, "APP_API_TOKEN is required"},
		{"all set", map[string]string{"APP_PORT": "8000", "DAPR_HTTP_PORT": "3600", "DAPR_API_TOKEN": "dt", "STATE_STORE": "accounts",
			"APP_API_TOKEN": "at", "OIDC_ISSUER": "https://auth.tenflix.example/", "OIDC_AUDIENCE": "api",
			"ACCESS_TOKEN_TTL": "5m", "REFRESH_TOKEN_TTL": "7d", "ADMIN_PASSWORD": "pw", "LOG_LEVEL": "debug",
			"HASH_CONCURRENCY": "16", "HASH_WAIT": "3s"}, all, ""},
		{"bad port", map[string]string{"APP_PORT": "http"}, settings{}, "APP_PORT"},
		{"port out of range", map[string]string{"DAPR_HTTP_PORT": "70000"}, settings{}, "DAPR_HTTP_PORT"},
		{"bad ttl", map[string]string{"ACCESS_TOKEN_TTL": "soon"}, settings{}, "ACCESS_TOKEN_TTL"},
		{"ttl too long", map[string]string{"ACCESS_TOKEN_TTL": "48h"}, settings{}, "ACCESS_TOKEN_TTL"},
		{"refresh shorter than access", map[string]string{"ACCESS_TOKEN_TTL": "1h", "REFRESH_TOKEN_TTL": "30m"}, settings{}, "REFRESH_TOKEN_TTL"},
		{"no hashing at all", map[string]string{"HASH_CONCURRENCY": "0"}, settings{}, "HASH_CONCURRENCY"},
		{"hash wait too long", map[string]string{"HASH_WAIT": "1m"}, settings{}, "HASH_WAIT"},
		{"bad issuer", map[string]string{"OIDC_ISSUER": "tenflix"}, settings{}, "OIDC_ISSUER"},
		{"issuer with query", map[string]string{"OIDC_ISSUER": "http://a/?x=1"}, settings{}, "OIDC_ISSUER"},
		{"every error at once", map[string]string{"APP_PORT": "x", "OIDC_ISSUER": "ftp://a"}, settings{}, "OIDC_ISSUER"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadSettings(envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("loadSettings = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// fakeSidecar is a stand-in sidecar: its gRPC API (secrets, answering a
// missing key like the local file store) is platform/sidecar/sidecartest's,
// its HTTP API (readiness, state transactions with daprd's outbox) is
// dbtest.Daprd's, on the database dsn, whose state table it creates as daprd
// does. The database stays real.
type fakeSidecar struct {
	*sidecartest.Sidecar
	daprd *dbtest.Daprd
}

func newFakeSidecar(t *testing.T, dsn string, secrets map[string]string) fakeSidecar {
	return fakeSidecar{sidecartest.New(t, secrets), dbtest.StartDaprd(t, dsn)}
}

// env is the sidecar's part of the app's environment.
func (f fakeSidecar) env(m map[string]string) map[string]string {
	m["DAPR_HTTP_PORT"], m["DAPR_GRPC_PORT"] = f.daprd.HTTPPort(), f.GRPCPort()
	return m
}

// published is every CloudEvent published to pubsub/users.
func (f fakeSidecar) published() []map[string]any {
	var events []map[string]any
	for _, ev := range f.daprd.Published() {
		if ev["pubsubname"] == "pubsub" && ev["topic"] == "users" {
			events = append(events, ev)
		}
	}
	return events
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func keyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// started is one run() in the background.
type started struct {
	t    *testing.T
	base string
	stop func() error
	logs *logtest.Buffer
}

func start(t *testing.T, env map[string]string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(env), logs) }()
	s := &started{t: t, base: "http://127.0.0.1:" + env["APP_PORT"], logs: logs,
		stop: func() error { cancel(); return <-done }}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return s
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run ended before serving: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not serving after 30s\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post calls the app as its sidecar would.
func (s *started) do(method, path, contentType, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("dapr-api-token", "app-token")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func (s *started) login(email, pw string) int {
	s.t.Helper()
	code, _ := s.do(http.MethodPost, "/api/v1/auth/token", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}.Encode())
	return code
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunWithASidecar(t *testing.T) {
	const secretPW, envPW = "admin passphrase from the secret store", "another admin passphrase"
	dsn := dbtest.NewEmpty(t) // run applies the migrations itself
	sidecar := newFakeSidecar(t, dsn, map[string]string{
		"identity-db":             dsn,
		"identity-signing-key":    keyPEM(t),
		"identity-admin-password": secretPW,
	})
	env := sidecar.env(map[string]string{"APP_PORT": freePort(t),
		"DAPR_API_TOKEN": "dapr-token", "APP_API_TOKEN": "app-token", "OIDC_ISSUER": "http://gw.test"})

	s := start(t, env)
	if code := s.login("admin@tenflix.local", secretPW); code != http.StatusOK {
		t.Fatalf("admin login: %d", code)
	}
	code, body := s.do(http.MethodPost, "/api/v1/auth/register", "application/json",
		`{"email":"ann@example.com","password":"correct horse battery staple","name":"Ann"}`)
	if code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, body)
	}
	// The state transactions published the admin's and Ann's registrations.
	if n := len(sidecar.published()); n != 2 {
		t.Fatalf("%d events published, want 2", n)
	}
	code, disc := s.do(http.MethodGet, "/.well-known/openid-configuration", "", "")
	if code != http.StatusOK || disc["jwks_uri"] != "http://gw.test/.well-known/jwks.json" {
		t.Fatalf("discovery: %d %v", code, disc)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run returned %v after a clean shutdown", err)
	}
	for _, secret := range []string{secretPW, "app-token", "dapr-token", "BEGIN"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Fatalf("logs leak %q:\n%s", secret, s.logs)
		}
	}

	// Restart with ADMIN_PASSWORD set and a previous signing key: the
	// existing admin keeps its password, nothing is published again, and
	// the JWKS holds both keys.
	sidecar.SetSecret("identity-previous-signing-key", sidecar.Secret("identity-signing-key"))
	sidecar.SetSecret("identity-signing-key", keyPEM(t))
	env["ADMIN_PASSWORD"] = envPW
	s = start(t, env)
	defer s.stop() //nolint:errcheck
	if code := s.login("admin@tenflix.local", envPW); code != http.StatusUnauthorized {
		t.Fatalf("admin password was reset on restart: %d", code)
	}
	if code := s.login("admin@tenflix.local", secretPW); code != http.StatusOK {
		t.Fatalf("admin login after restart: %d", code)
	}
	if code := s.login("ann@example.com", "correct horse battery staple"); code != http.StatusOK {
		t.Fatalf("ann after restart: %d", code)
	}
	code, jwks := s.do(http.MethodGet, "/.well-known/jwks.json", "", "")
	if keys, _ := jwks["keys"].([]any); code != http.StatusOK || len(keys) != 2 {
		t.Fatalf("jwks after rotation: %d %v", code, jwks)
	}
	for _, token := range sidecar.daprd.Tokens() {
		if token != "dapr-token" {
			t.Errorf("state transaction with token %q", token)
		}
	}
	if p := sidecar.Published(); len(p) != 0 {
		t.Errorf("published directly, not through the outbox: %v", p)
	}
	events := sidecar.published()
	ids := map[any]bool{}
	emails := map[any]bool{}
	for _, ev := range events {
		ids[ev["id"]] = true
		data, _ := ev["data"].(map[string]any)
		emails[data["email"]] = true
		if ev["type"] != "tenflix.identity.user.registered.v1" || ev["source"] != "identity" ||
			ev["datacontenttype"] != "application/json" || len(data) != 4 || data["passwordHash"] != nil {
			t.Errorf("event %v, want a UserRegistered of 4 fields", ev)
		}
	}
	if len(ids) != 2 || !emails["admin@tenflix.local"] || !emails["ann@example.com"] {
		t.Fatalf("published %v, want one event per user, none again after the restart", events)
	}
}

func TestRunRefusesToStartWithoutItsSecrets(t *testing.T) {
	dsn := dbtest.NewEmpty(t)
	for _, tt := range []struct {
		name    string
		secrets map[string]string
		want    string
	}{
		{"no database", map[string]string{}, "database secret"},
		{"no signing key", map[string]string{"identity-db": dsn}, "identity-signing-key"},
		{"bad signing key", map[string]string{"identity-db": dsn, "identity-signing-key": "nope"}, "identity-signing-key"},
		{"no admin password", map[string]string{"identity-db": dsn, "identity-signing-key": keyPEM(t)}, "admin password"},
		{"weak admin password", map[string]string{"identity-db": dsn, "identity-signing-key": keyPEM(t),
			"identity-admin-password": "admin"}, "admin password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sidecar := newFakeSidecar(t, dsn, tt.secrets)
			err := run(context.Background(), envOf(sidecar.env(map[string]string{"APP_PORT": freePort(t),
				"APP_API_TOKEN": "at"})), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}
