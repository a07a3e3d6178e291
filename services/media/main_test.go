package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadSettings(t *testing.T) {
	s, err := loadSettings(envOf(map[string]string{"APP_API_TOKEN": "app-secret", "DAPR_API_TOKEN": "dapr-secret",
		"OIDC_ISSUER": "http://127.0.0.1:8080", "MEDIA_DIR": "/tmp/m"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 7108 || s.MaxUpload != 2<<30 || s.Lease != 30*time.Second || s.DBSecret != "media-db" || s.GrantSecret != "playback-signing-key" {
		t.Fatalf("defaults %+v", s)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", s)
	if strings.Contains(buf.String(), "secret") && (strings.Contains(buf.String(), "app-secret") || strings.Contains(buf.String(), "dapr-secret")) {
		t.Fatalf("a token was logged: %s", buf.String())
	}
	for _, bad := range []map[string]string{
		{"OIDC_ISSUER": "x", "MEDIA_DIR": "/tmp/m"},
		{"APP_API_TOKEN": "a", "OIDC_ISSUER": "x"},
		{"APP_API_TOKEN": "a", "OIDC_ISSUER": "x", "MEDIA_DIR": "/m", "MEDIA_MAX_UPLOAD_BYTES": "-1"},
		{"APP_API_TOKEN": "a", "OIDC_ISSUER": "x", "MEDIA_DIR": "/m", "MEDIA_JOB_LEASE": "1ms"},
	} {
		if _, err := loadSettings(envOf(bad)); err == nil {
			t.Errorf("loadSettings(%v) accepted", bad)
		}
	}
}
