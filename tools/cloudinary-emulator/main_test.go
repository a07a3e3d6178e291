package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettings(t *testing.T) {
	s, err := loadSettings(env(map[string]string{"CLOUDINARY_URL": "cloudinary://key:secret@demo?upload_prefix=http://127.0.0.1:8091&signature_algorithm=sha256"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != defaultAddr || s.BaseURL != "http://"+defaultAddr || s.Cloud != "demo" || s.APIKey != "key" || s.APISecret != "secret" || s.Algorithm != "sha256" {
		t.Errorf("%+v", s)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "CLOUDINARY_URL is required"},
		{map[string]string{"CLOUDINARY_URL": "https://key:secret@demo"}, "not cloudinary://"},
		{map[string]string{"CLOUDINARY_URL": "cloudinary://key@demo"}, "api secret"},
		{map[string]string{"CLOUDINARY_URL": "cloudinary://k:s@demo?signature_algorithm=md5"}, "signature_algorithm"},
		{map[string]string{"CLOUDINARY_URL": "cloudinary://k:s@demo", "CLOUDINARY_EMULATOR_ADDR": "0.0.0.0:8091"}, "not a loopback address"},
		{map[string]string{"CLOUDINARY_URL": "cloudinary://k:s@demo", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
	} {
		if _, err := loadSettings(env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
	if got := (settings{APISecret: "hush-hush"}).LogValue().String(); strings.Contains(got, "hush-hush") {
		t.Errorf("log value shows the secret: %s", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env(map[string]string{"CLOUDINARY_URL": "cloudinary://k:hush-hush@demo",
			"CLOUDINARY_EMULATOR_ADDR": "127.0.0.1:18091", "CLOUDINARY_EMULATOR_DATA": t.TempDir()}), &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:18091/emulator/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if log := out.String(); !strings.Contains(log, `"msg":"listening"`) || strings.Contains(log, "hush-hush") {
		t.Errorf("log:\n%s", log)
	}
}
