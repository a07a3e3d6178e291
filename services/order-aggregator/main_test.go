package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/platform/service"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/order-aggregator/internal/sagatest"
)

func envOf(m map[string]string) config.Env {
	return func(k string) string { return m[k] }
}

func TestLoadSettings(t *testing.T) {
	required := map[string]string{"OIDC_ISSUER": "http://gw", "APP_API_TOKEN": "at"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range required {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    settings
		wantErr string
	}{
		{"defaults", required, settings{
			Settings:    service.Settings{Port: 7104, AppAPIToken: "at", DaprHTTPPort: 3500, DaprGRPCPort: 50001, SecretStore: "secretstore", LogLevel: "info"},
			OIDC:        service.OIDC{OIDCIssuer: "http://gw", OIDCAudience: "tenflix-api"},
			PartTimeout: 3 * time.Second, OrderApp: "order", PaymentApp: "payment", SubscriptionApp: "subscription"}, ""},
		{"all set", with(map[string]string{"APP_PORT": "8000", "OIDC_AUDIENCE": "api", "OIDC_JWKS_URL": "https://sso/keys",
			"DAPR_HTTP_PORT": "3504", "DAPR_GRPC_PORT": "3604", "DAPR_API_TOKEN": "dt", "LOG_LEVEL": "debug", "PART_TIMEOUT": "1500ms",
			"ORDER_APP": "o", "PAYMENT_APP": "p", "SUBSCRIPTION_APP": "s"}),
			settings{
				Settings:    service.Settings{Port: 8000, AppAPIToken: "at", DaprHTTPPort: 3504, DaprGRPCPort: 3604, DaprAPIToken: "dt", SecretStore: "secretstore", LogLevel: "debug"},
				OIDC:        service.OIDC{OIDCIssuer: "http://gw", OIDCAudience: "api", OIDCJWKSURL: "https://sso/keys"},
				PartTimeout: 1500 * time.Millisecond, OrderApp: "o", PaymentApp: "p", SubscriptionApp: "s"}, ""},
		{"app token missing", map[string]string{"OIDC_ISSUER": "http://gw"}, settings{}, "APP_API_TOKEN is required"},
		{"issuer missing", map[string]string{"APP_API_TOKEN": "at"}, settings{}, "OIDC_ISSUER is required"},
		{"bad port", with(map[string]string{"APP_PORT": "http"}), settings{}, "APP_PORT"},
		{"part timeout too short", with(map[string]string{"PART_TIMEOUT": "1ms"}), settings{}, "PART_TIMEOUT"},
		{"part timeout not a duration", with(map[string]string{"PART_TIMEOUT": "soon"}), settings{}, "PART_TIMEOUT"},
		{"bad log level", with(map[string]string{"LOG_LEVEL": "loud"}), settings{}, "LOG_LEVEL"},
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
	s := settings{Settings: service.Settings{Port: 1, AppAPIToken: "sidecar-secret", DaprAPIToken: "dapr-secret"}, OIDC: service.OIDC{OIDCIssuer: "https://sso.example"}}
	var buf bytes.Buffer
	config.NewLogger(&buf, appID, "info").Info("starting", "config", s)
	if l := buf.String(); strings.Contains(l, "sidecar-secret") || strings.Contains(l, "dapr-secret") || !strings.Contains(l, "sso.example") {
		t.Fatalf("log line leaks a secret or lost the issuer: %s", l)
	}
}

// run wires the real pieces: a user places an order through the app token
// check, the token check and the sidecar.
func TestRunServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	sc := sidecartest.New(t, nil)
	sagatest.New(sc) // no plans: the order below is refused by subscription
	iss := authntest.NewIssuer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs logtest.Buffer
	env := map[string]string{
		"APP_PORT": fmt.Sprint(port), "APP_API_TOKEN": "sidecar-secret", "OIDC_ISSUER": iss.URL,
		"DAPR_HTTP_PORT": sc.HTTPPort(), "DAPR_GRPC_PORT": sc.GRPCPort(), "DAPR_API_TOKEN": "dapr-secret",
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(env), &logs) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base, done)

	post := func(appToken, bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/orders", strings.NewReader(`{"planId":"nope"}`))
		req.Header.Set("Content-Type", "application/json")
		if appToken != "" {
			req.Header.Set("dapr-api-token", appToken)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	user := iss.Token(t, "user-1", "user")
	if code, _ := post("", user); code != http.StatusUnauthorized {
		t.Errorf("without the app token: %d, want 401", code)
	}
	if code, _ := post("sidecar-secret", ""); code != http.StatusUnauthorized {
		t.Errorf("without a bearer token: %d, want 401", code)
	}
	// An unknown plan: the answer came from the (fake) subscription service.
	if code, body := post("sidecar-secret", user); code != http.StatusNotFound || !strings.Contains(body, "plan not found") {
		t.Errorf("with both tokens: %d %s, want 404 plan not found", code, body)
	}
	if inv := sc.Invoked(); len(inv) != 1 || inv[0].AppID != "subscription" || inv[0].Token != "dapr-secret" {
		t.Errorf("invocations %+v", inv)
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
	if l := logs.String(); strings.Contains(l, "sidecar-secret") || strings.Contains(l, "dapr-secret") || !strings.Contains(l, `"service":"order-aggregator"`) {
		t.Fatalf("logs leak a token or lack the service name:\n%s", l)
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
