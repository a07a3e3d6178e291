package service

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"tenflix/platform/config"
)

func envOf(m map[string]string) config.Env { return func(k string) string { return m[k] } }

func TestReadSettingsDefaults(t *testing.T) {
	r := config.NewReader(envOf(map[string]string{"APP_API_TOKEN": "at"}))
	got := ReadSettings(r, 7101)
	want := Settings{Port: 7101, DaprHTTPPort: 3500, DaprGRPCPort: 50001, AppAPIToken: "at", SecretStore: "secretstore", LogLevel: "info"}
	if err := r.Err(); err != nil || got != want {
		t.Fatalf("ReadSettings = %+v, %v; want %+v", got, err, want)
	}
	if got.Addr() != "127.0.0.1:7101" {
		t.Fatalf("Addr = %q", got.Addr())
	}
}

func TestReadSettingsReportsEveryProblem(t *testing.T) {
	r := config.NewReader(envOf(map[string]string{"APP_PORT": "x", "DAPR_GRPC_PORT": "70000", "LOG_LEVEL": "loud"}))
	ReadSettings(r, 7101)
	ReadOIDC(r)
	err := r.Err()
	for _, name := range []string{"APP_PORT", "DAPR_GRPC_PORT", "LOG_LEVEL", "APP_API_TOKEN is required", "OIDC_ISSUER is required"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("err = %v, want one naming %s", err, name)
		}
	}
}

func TestReadOIDC(t *testing.T) {
	r := config.NewReader(envOf(map[string]string{"OIDC_ISSUER": "http://issuer"}))
	if got := ReadOIDC(r); r.Err() != nil || got != (OIDC{OIDCIssuer: "http://issuer", OIDCAudience: "tenflix-api"}) {
		t.Fatalf("ReadOIDC = %+v, %v", got, r.Err())
	}
}

func TestLogAttrsHideTheTokens(t *testing.T) {
	s := Settings{DaprAPIToken: "dapr-secret", AppAPIToken: "app-secret"}
	o := OIDC{OIDCIssuer: "http://user:pw@issuer"}
	var buf bytes.Buffer
	Logger(&buf, "svc", "info", logValuer(append(s.LogAttrs(), o.LogAttrs()...)))
	l := buf.String()
	for _, leak := range []string{"dapr-secret", "app-secret", ":pw@"} {
		if strings.Contains(l, leak) {
			t.Errorf("log line leaks %q: %s", leak, l)
		}
	}
	for _, want := range []string{`"msg":"starting"`, `"service":"svc"`, `"app_api_token_set":true`, `"dapr_api_token_set":true`, `"oidc_issuer":"http://user:xxxxx@issuer"`} {
		if !strings.Contains(l, want) {
			t.Errorf("log line lacks %s: %s", want, l)
		}
	}
}

type logValuer []slog.Attr

func (v logValuer) LogValue() slog.Value { return slog.GroupValue(v...) }

func TestWaitReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/healthz/outbound" || r.Header.Get("dapr-api-token") != "dt" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	dapr, err := Sidecar(Settings{DaprHTTPPort: atoi(t, u.Port()), DaprGRPCPort: 1, DaprAPIToken: "dt"})
	if err != nil {
		t.Fatal(err)
	}
	defer dapr.Close() //nolint:errcheck
	if err := WaitReady(t.Context(), dapr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	srv.Close()
	if err := WaitReady(ctx, dapr); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitReady after cancel = %v", err)
	}
}

type secrets map[string]string

func (s secrets) Secret(_ context.Context, store, name string) (string, error) {
	if v, ok := s[store+"/"+name]; ok {
		return v, nil
	}
	return "", errors.New("not found")
}

func TestDatabaseURL(t *testing.T) {
	s := secrets{"secretstore/x-db": "postgres://db"}
	if dsn, err := DatabaseURL(t.Context(), s, "secretstore", "x-db"); err != nil || dsn != "postgres://db" {
		t.Fatalf("DatabaseURL = %q, %v", dsn, err)
	}
	if _, err := DatabaseURL(t.Context(), s, "secretstore", "y-db"); err == nil || !strings.HasPrefix(err.Error(), "database secret: ") {
		t.Fatalf("DatabaseURL of a missing secret = %v", err)
	}
}

type fakeDB struct {
	migrateErr error
	migrated   fs.FS
	closed     bool
}

func (d *fakeDB) Migrate(_ context.Context, m fs.FS) error { d.migrated = m; return d.migrateErr }
func (d *fakeDB) Close()                                   { d.closed = true }

func TestOpenDatabase(t *testing.T) {
	migrations := fstest.MapFS{"001.sql": {Data: []byte("SELECT 1")}}
	var opened *fakeDB
	open := func(_ context.Context, dsn string) (*fakeDB, error) {
		if dsn != "postgres://db" {
			return nil, errors.New("bad dsn")
		}
		opened = &fakeDB{}
		return opened, nil
	}
	db, err := OpenDatabase(t.Context(), "postgres://db", open, migrations)
	if err != nil || db != opened || db.migrated == nil || db.closed {
		t.Fatalf("OpenDatabase = %+v, %v", db, err)
	}
	if _, err := OpenDatabase(t.Context(), "other", open, migrations); err == nil {
		t.Fatal("OpenDatabase with a failing open succeeded")
	}

	boom := errors.New("boom")
	failing := func(context.Context, string) (*fakeDB, error) { opened = &fakeDB{migrateErr: boom}; return opened, nil }
	if db, err := OpenDatabase(t.Context(), "postgres://db", failing, migrations); !errors.Is(err, boom) || db != nil || !opened.closed {
		t.Fatalf("OpenDatabase with a failing migration = %v, %v (closed %v)", db, err, opened.closed)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
