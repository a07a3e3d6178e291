package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/logtest"
)

func envOf(m map[string]string) config.Env {
	return func(k string) string { return m[k] }
}

func TestLoadSettings(t *testing.T) {
	defaultOpenAPI, _ := filepath.Abs("../../docs/openapi.yaml")
	defaults := settings{
		ListenAddr: ":8080", DaprHTTPPort: 3500,
		OIDCIssuer: "http://127.0.0.1:8080", OIDCAudience: "tenflix-api", JWKSRefresh: 15 * time.Minute,
		CORSOrigins: []string{"http://localhost:3000"}, MaxBodyBytes: 1 << 20,
		MaxUploadBytes: 2 << 30, UploadTimeout: time.Hour,
		AuthRatePerMin: 10, AuthRateBurst: 10, UpstreamTimeout: 30 * time.Second,
		OpenAPIFile: defaultOpenAPI, WebMediaOrigins: []string{"https://res.cloudinary.com"}, LogLevel: "info",
	}
	t.Run("defaults", func(t *testing.T) {
		got, err := loadSettings(envOf(nil))
		if err != nil || !reflect.DeepEqual(got, defaults) {
			t.Fatalf("loadSettings = %+v, %v\nwant %+v", got, err, defaults)
		}
	})
	t.Run("keycloak", func(t *testing.T) {
		got, err := loadSettings(envOf(map[string]string{
			"OIDC_ISSUER":     "http://keycloak:8081/realms/tenflix",
			"OIDC_JWKS_URL":   "http://keycloak:8081/realms/tenflix/protocol/openid-connect/certs",
			"CORS_ORIGINS":    " https://app.example , http://localhost:3000 ",
			"TRUSTED_PROXIES": "10.0.0.0/8",
			"MAX_BODY_BYTES":  "2048",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if got.OIDCIssuer != "http://keycloak:8081/realms/tenflix" || got.MaxBodyBytes != 2048 ||
			!reflect.DeepEqual(got.CORSOrigins, []string{"https://app.example", "http://localhost:3000"}) ||
			!reflect.DeepEqual(got.TrustedProxies, []string{"10.0.0.0/8"}) {
			t.Fatalf("got %+v", got)
		}
	})
	for name, env := range map[string]map[string]string{
		"MAX_BODY_BYTES":   {"MAX_BODY_BYTES": "1MiB"},
		"DAPR_HTTP_PORT":   {"DAPR_HTTP_PORT": "70000"},
		"UPSTREAM_TIMEOUT": {"UPSTREAM_TIMEOUT": "30"},
		"AUTH_RATE_BURST":  {"AUTH_RATE_BURST": "0"},
	} {
		t.Run("bad "+name, func(t *testing.T) {
			if _, err := loadSettings(envOf(env)); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v, want one naming %s", err, name)
			}
		})
	}
}

func TestSettingsLogValueHidesTheToken(t *testing.T) {
	var buf bytes.Buffer
	config.NewLogger(&buf, service, "info").Info("starting", "config", settings{DaprAPIToken: "sidecar-secret", OIDCIssuer: "http://issuer"})
	if l := buf.String(); strings.Contains(l, "sidecar-secret") || !strings.Contains(l, `"dapr_api_token_set":true`) || !strings.Contains(l, "http://issuer") {
		t.Fatalf("log line: %s", l)
	}
}

// TestRunServesWithoutIssuerOrSidecar: the gateway starts although nothing
// it depends on is up (locally, the issuer is the gateway itself).
func TestRunServesWithoutIssuerOrSidecar(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var logs logtest.Buffer
	go func() {
		done <- run(ctx, envOf(map[string]string{"LISTEN_ADDR": addr, "DAPR_HTTP_PORT": "1", "OIDC_ISSUER": "http://" + addr}), &logs)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("healthz = %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/api/v1/movie-query/movies")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
