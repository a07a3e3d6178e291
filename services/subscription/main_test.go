package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/platform/pgdb/pgtest"
	"tenflix/platform/service"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/subscription/internal/postgres/postgrestest"
)

func envOf(m map[string]string) config.Env {
	return func(k string) string { return m[k] }
}

func TestLoadSettings(t *testing.T) {
	required := map[string]string{"OIDC_ISSUER": "http://gw", "APP_API_TOKEN": "at"}
	got, err := loadSettings(envOf(required))
	want := settings{
		Settings: service.Settings{Port: 7107, DaprHTTPPort: 3500, DaprGRPCPort: 50001, AppAPIToken: "at",
			SecretStore: "secretstore", LogLevel: "info"},
		OIDC:       service.OIDC{OIDCIssuer: "http://gw", OIDCAudience: "tenflix-api"},
		StateStore: "subscription-state", DBSecret: "subscription-db", ExpiryBatch: 100}
	if err != nil || got != want {
		t.Fatalf("defaults: %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := loadSettings(envOf(nil)); err == nil ||
		!strings.Contains(err.Error(), "OIDC_ISSUER") || !strings.Contains(err.Error(), "APP_API_TOKEN") {
		t.Fatalf("nothing set: %v, want an error naming both required settings", err)
	}
	for name, value := range map[string]string{
		"APP_PORT": "70000", "DAPR_HTTP_PORT": "x", "DAPR_GRPC_PORT": "0",
		"EXPIRY_BATCH": "0", "LOG_LEVEL": "loud",
	} {
		env := map[string]string{"OIDC_ISSUER": "http://gw", "APP_API_TOKEN": "at", name: value}
		if _, err := loadSettings(envOf(env)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, value, err)
		}
	}
}

func TestSettingsLogValueHidesTheTokens(t *testing.T) {
	var buf bytes.Buffer
	config.NewLogger(&buf, appID, "info").Info("starting", "config",
		settings{Settings: service.Settings{DaprAPIToken: "dapr-secret", AppAPIToken: "sidecar-secret"}, OIDC: service.OIDC{OIDCIssuer: "http://issuer"}})
	if l := buf.String(); strings.Contains(l, "dapr-secret") || strings.Contains(l, "sidecar-secret") ||
		!strings.Contains(l, `"app_api_token_set":true`) || !strings.Contains(l, "http://issuer") {
		t.Fatalf("log line: %s", l)
	}
}

// TestRunMigratesAndServes starts the service as the stack does: the
// sidecar ready, daprd's state table created, the database URL in the
// secret store.
func TestRunMigratesAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.NewDatabase(t, "subscription_run")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, postgrestest.DaprStateTable); err != nil {
		t.Fatal(err)
	}
	dapr := sidecartest.New(t, map[string]string{"subscription-db": dsn})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	iss := authntest.NewIssuer(t)
	var logs logtest.Buffer
	env := map[string]string{
		"APP_PORT": fmt.Sprint(port), "APP_API_TOKEN": "sidecar-secret", "OIDC_ISSUER": iss.URL,
		"DAPR_HTTP_PORT": dapr.HTTPPort(), "DAPR_GRPC_PORT": dapr.GRPCPort(),
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(env), &logs) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base, done)

	var indexes int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'subscription_state'
		AND indexname = ANY($1)`, []string{"subscription_one_active_per_user", "subscription_one_outcome_per_order",
		"subscription_plan_unique_name", "subscription_active_by_end", "subscription_by_user"}).Scan(&indexes); err != nil || indexes != 5 {
		t.Fatalf("indexes after start: %d, %v; want the migrations' 5", indexes, err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/subscription/me", nil)
	req.Header.Set("dapr-api-token", "sidecar-secret")
	req.Header.Set("Authorization", "Bearer "+iss.Token(t, "user-1", "user"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /me of a user without a subscription: %d, want 404", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want nil after cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if l := logs.String(); strings.Contains(l, "sidecar-secret") || !strings.Contains(l, `"service":"subscription"`) {
		t.Fatalf("logs leak the token or lack the service name:\n%s", l)
	}
}

func waitHealthy(t *testing.T, base string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("service did not become healthy")
}
