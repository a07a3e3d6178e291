package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/platform/pgdb/pgtest"
	"tenflix/platform/service"
	"tenflix/platform/sidecar/sidecartest"
)

func envOf(m map[string]string) config.Env { return func(k string) string { return m[k] } }

func TestLoadSettings(t *testing.T) {
	s, err := loadSettings(envOf(map[string]string{"APP_API_TOKEN": "at"}))
	if err != nil {
		t.Fatal(err)
	}
	want := settings{
		Settings: service.Settings{Port: 7105, DaprHTTPPort: 3500, DaprGRPCPort: 50001, AppAPIToken: "at",
			SecretStore: "secretstore", LogLevel: "info"},
		StateStore: "order-state", DBSecret: "order-db", SweepAfter: 2 * time.Minute, SweepBatch: 100,
		StuckAfter: 10 * time.Minute}
	if s != want {
		t.Fatalf("defaults %+v, want %+v", s, want)
	}
	s, err = loadSettings(envOf(map[string]string{"APP_API_TOKEN": "at", "SWEEP_AFTER": "30s", "SWEEP_BATCH": "10",
		"STUCK_AFTER": "1h", "STATE_STORE": "s", "LOG_LEVEL": "debug"}))
	if err != nil || s.SweepAfter != 30*time.Second || s.SweepBatch != 10 || s.StuckAfter != time.Hour || s.StateStore != "s" {
		t.Fatalf("set: %+v %v", s, err)
	}
	for _, name := range []string{"APP_API_TOKEN", "APP_PORT", "SWEEP_AFTER", "SWEEP_BATCH", "STUCK_AFTER", "LOG_LEVEL"} {
		env := map[string]string{"APP_API_TOKEN": "at", "APP_PORT": "7105", "SWEEP_AFTER": "2m", "SWEEP_BATCH": "5", "STUCK_AFTER": "10m"}
		bad := map[string]string{"APP_API_TOKEN": "", "APP_PORT": "70000", "SWEEP_AFTER": "0s", "SWEEP_BATCH": "0", "STUCK_AFTER": "soon", "LOG_LEVEL": "loud"}
		env[name] = bad[name]
		if _, err := loadSettings(envOf(env)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v, want one naming it", name, bad[name], err)
		}
	}
}

func TestSettingsLogValueHidesTheTokens(t *testing.T) {
	var buf bytes.Buffer
	config.NewLogger(&buf, appID, "info").Info("starting", "config", settings{Settings: service.Settings{DaprAPIToken: "dapr-secret", AppAPIToken: "sidecar-secret"}})
	if l := buf.String(); strings.Contains(l, "dapr-secret") || strings.Contains(l, "sidecar-secret") || !strings.Contains(l, `"app_api_token_set":true`) {
		t.Fatalf("log line: %s", l)
	}
}

// TestRunWiresTheService starts the service against a stand-in sidecar
// holding the database secret and a real PostgreSQL with daprd's table:
// it migrates, serves the SQL-backed routes and the sweep, and shuts down.
func TestRunWiresTheService(t *testing.T) {
	dsn := pgtest.NewDatabase(t, "order_main_test")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE order_state (key text NOT NULL PRIMARY KEY, value jsonb NOT NULL,
		isbinary boolean NOT NULL, insertdate timestamptz NOT NULL DEFAULT now(), updatedate timestamptz NULL,
		expiredate timestamptz NULL)`); err != nil {
		t.Fatal(err)
	}
	sc := sidecartest.New(t, map[string]string{"order-db": dsn})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	const appToken = "sidecar-only-token"
	runCtx, stop := context.WithCancel(ctx)
	var logs logtest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, envOf(map[string]string{
			"APP_PORT": strconv.Itoa(port), "APP_API_TOKEN": appToken, "DAPR_HTTP_PORT": sc.HTTPPort(), "DAPR_GRPC_PORT": sc.GRPCPort(),
		}), &logs)
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("dapr-api-token", appToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get(http.MethodGet, "/healthz"); code == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get(http.MethodGet, "/internal/orders?userId=u1"); code != http.StatusOK || !strings.Contains(body, `"items":[]`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := get(http.MethodGet, "/internal/orders/stuck"); code != http.StatusOK || body != `{"items":[]}` {
		t.Fatalf("stuck: %d %s", code, body)
	}
	if code, body := get(http.MethodPost, "/order-sweep-cron"); code != http.StatusOK || body != `{"checked":0,"nudged":0,"cancelled":0,"failed":0}` {
		t.Fatalf("sweep: %d %s", code, body)
	}
	var indexes int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'order_state' AND indexname IN ('order_one_open_per_user', 'order_history', 'order_unsettled')`).Scan(&indexes); err != nil || indexes != 3 {
		t.Fatalf("%d of our indexes on order_state (%v), want 3", indexes, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if strings.Contains(logs.String(), appToken) || strings.Contains(logs.String(), dsn) {
		t.Fatalf("a secret was logged:\n%s", logs.String())
	}
}
