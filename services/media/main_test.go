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

func TestCloudinarySettingsAndMaskedURL(t *testing.T) {
	s, err := loadSettings(envOf(map[string]string{"APP_API_TOKEN": "a", "OIDC_ISSUER": "http://127.0.0.1:8080", "MEDIA_DIR": "/m"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.CloudinarySecret != "cloudinary-url" || s.CloudinaryProfile != "auto" || s.CloudinaryNotifyTimeout != 3*time.Hour || s.CloudinaryNotificationURL != "" {
		t.Fatalf("cloudinary defaults %+v", s)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cloudinary",
		cloudinaryURL("cloudinary://key123:topsecret@demo?upload_prefix=http://127.0.0.1:8091"))
	if out := buf.String(); strings.Contains(out, "topsecret") || strings.Contains(out, "key123") ||
		!strings.Contains(out, `"cloud_name":"demo"`) || !strings.Contains(out, `"upload_prefix":"http://127.0.0.1:8091"`) {
		t.Fatalf("logged %s", out)
	}
	if _, err := loadSettings(envOf(map[string]string{"APP_API_TOKEN": "a", "OIDC_ISSUER": "x", "MEDIA_DIR": "/m",
		"CLOUDINARY_NOTIFY_TIMEOUT": "1s"})); err == nil {
		t.Error("a notify timeout of 1s was accepted")
	}
}
