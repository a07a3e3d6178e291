package main

import (
	"bytes"
	"strings"
	"testing"

	"tenflix/platform/config"
	"tenflix/platform/service"
)

func TestLoadSettingsNeedsTheIssuerAndTheAppToken(t *testing.T) {
	_, err := loadSettings(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "OIDC_ISSUER") || !strings.Contains(err.Error(), "APP_API_TOKEN") {
		t.Fatalf("loadSettings without OIDC_ISSUER and APP_API_TOKEN = %v, want an error naming both", err)
	}
	env := map[string]string{"OIDC_ISSUER": "http://127.0.0.1:8080", "APP_API_TOKEN": "at"}
	s, err := loadSettings(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.OIDCIssuer != "http://127.0.0.1:8080" || s.OIDCAudience != "tenflix-api" || s.OIDCJWKSURL != "" {
		t.Fatalf("settings %+v", s)
	}
	env["OIDC_AUDIENCE"], env["OIDC_JWKS_URL"] = "api", "http://keys.example/jwks"
	if s, _ = loadSettings(func(k string) string { return env[k] }); s.OIDCAudience != "api" || s.OIDCJWKSURL != "http://keys.example/jwks" {
		t.Fatalf("settings %+v", s)
	}
}

func TestLoadSettingsNamesABadPort(t *testing.T) {
	for _, name := range []string{"APP_PORT", "DAPR_HTTP_PORT"} {
		env := map[string]string{"OIDC_ISSUER": "http://127.0.0.1:8080", "APP_API_TOKEN": "at", name: "70000"}
		if _, err := loadSettings(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=70000: err = %v, want one naming %s", name, err, name)
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
