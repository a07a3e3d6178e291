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

	"tenflix/platform/authn/authntest"
	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
)

func envOf(m map[string]string) config.Env {
	return func(k string) string { return m[k] }
}

func TestLoadSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    settings
		wantErr string
	}{
		{"defaults", map[string]string{"MONGO_URL": "mongodb://db:27017", "OIDC_ISSUER": "http://gw", "APP_API_TOKEN": "at"},
			settings{Port: 7102, MongoURL: "mongodb://db:27017", MongoDatabase: "movie_query", AppAPIToken: "at", DaprHTTPPort: 3500, DaprGRPCPort: 50001,
				OIDCIssuer: "http://gw", OIDCAudience: "tenflix-api", LogLevel: "info",
				SecretStore: "secretstore", PlaybackGrantTTL: 4 * time.Hour, EntitlementTimeout: 3 * time.Second}, ""},
		{"all set", map[string]string{"MONGO_URL": "mongodb://db", "APP_PORT": "8000", "MONGO_DATABASE": "mq",
			"APP_API_TOKEN": "secret", "DAPR_HTTP_PORT": "3502", "DAPR_API_TOKEN": "dapr-secret",
			"OIDC_ISSUER": "https://sso", "OIDC_AUDIENCE": "api",
			"OIDC_JWKS_URL": "https://sso/keys", "LOG_LEVEL": "debug", "SECRET_STORE": "vault",
			"PLAYBACK_GRANT_TTL": "30m", "ENTITLEMENT_TIMEOUT": "500ms"},
			settings{Port: 8000, MongoURL: "mongodb://db", MongoDatabase: "mq", AppAPIToken: "secret",
				DaprHTTPPort: 3502, DaprGRPCPort: 50001, DaprAPIToken: "dapr-secret", OIDCIssuer: "https://sso", OIDCAudience: "api", OIDCJWKSURL: "https://sso/keys", LogLevel: "debug",
				SecretStore: "vault", PlaybackGrantTTL: 30 * time.Minute, EntitlementTimeout: 500 * time.Millisecond}, ""},
		{"grant ttl too short", map[string]string{"MONGO_URL": "mongodb://db", "OIDC_ISSUER": "http://gw", "APP_API_TOKEN": "at",
			"PLAYBACK_GRANT_TTL": "10s"}, settings{}, "PLAYBACK_GRANT_TTL"},
		{"mongo url missing", map[string]string{"OIDC_ISSUER": "http://gw"}, settings{}, "MONGO_URL is required"},
		{"app token missing", map[string]string{"MONGO_URL": "mongodb://db", "OIDC_ISSUER": "http://gw"}, settings{}, "APP_API_TOKEN is required"},
		{"issuer missing", map[string]string{"MONGO_URL": "mongodb://db"}, settings{}, "OIDC_ISSUER is required"},
		{"bad port", map[string]string{"MONGO_URL": "mongodb://db", "OIDC_ISSUER": "http://gw", "APP_PORT": "http"}, settings{}, "APP_PORT"},
		{"port out of range", map[string]string{"MONGO_URL": "mongodb://db", "OIDC_ISSUER": "http://gw", "APP_PORT": "70000"}, settings{}, "APP_PORT"},
		{"bad sidecar port", map[string]string{"MONGO_URL": "mongodb://db", "OIDC_ISSUER": "http://gw", "APP_API_TOKEN": "at", "DAPR_HTTP_PORT": "x"}, settings{}, "DAPR_HTTP_PORT"},
	}
	for _, tt := range tests {
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

func TestSettingsLogValueHidesSecrets(t *testing.T) {
	s := settings{Port: 1, MongoURL: "mongodb://user:hunter2@db:27017/?authSource=admin", AppAPIToken: "sidecar-secret", DaprAPIToken: "dapr-secret"}
	var buf bytes.Buffer
	config.NewLogger(&buf, service, "info").Info("starting", "config", s)
	if l := buf.String(); strings.Contains(l, "hunter2") || strings.Contains(l, "sidecar-secret") || strings.Contains(l, "dapr-secret") || !strings.Contains(l, "db:27017") {
		t.Fatalf("log line leaks a secret or lost the host: %s", l)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	client := mongotest.Client(t)
	dbName := mongotest.NewDatabaseName(t, client)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs logtest.Buffer
	iss := authntest.NewIssuer(t)
	env := map[string]string{
		"APP_PORT": fmt.Sprint(port), "MONGO_URL": mongotest.URL(), "MONGO_DATABASE": dbName,
		"APP_API_TOKEN": "sidecar-secret", "OIDC_ISSUER": iss.URL,
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(env), &logs) }()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base, done)

	get := func(token, bearer string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/movie-query/movies", nil)
		if token != "" {
			req.Header.Set("dapr-api-token", token)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	user := iss.Token(t, "user-1", "user")
	if code := get("", user); code != http.StatusUnauthorized {
		t.Errorf("without the app token: %d, want 401", code)
	}
	if code := get("sidecar-secret", ""); code != http.StatusUnauthorized {
		t.Errorf("without a bearer token: %d, want 401", code)
	}
	if code := get("sidecar-secret", user); code != http.StatusOK {
		t.Errorf("with the app token and a user's token: %d, want 200", code)
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
	if l := logs.String(); strings.Contains(l, "sidecar-secret") || !strings.Contains(l, `"service":"movie-query"`) {
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
