package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettings(t *testing.T) {
	s, err := loadSettings(env(map[string]string{"MIDTRANS_SERVER_KEY": "SB-Mid-server-x"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != defaultAddr || s.NotificationURL != defaultNotificationURL || s.DataDir != "" {
		t.Errorf("defaults %+v", s)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "MIDTRANS_SERVER_KEY is required"},
		{map[string]string{"MIDTRANS_SERVER_KEY": "k", "MIDTRANS_EMULATOR_ADDR": "0.0.0.0:8090"}, "not a loopback address"},
		{map[string]string{"MIDTRANS_SERVER_KEY": "k", "MIDTRANS_EMULATOR_ADDR": ":8090"}, "not a loopback address"},
		{map[string]string{"MIDTRANS_SERVER_KEY": "k", "MIDTRANS_EMULATOR_ADDR": "192.168.1.2:8090"}, "not a loopback address"},
		{map[string]string{"MIDTRANS_SERVER_KEY": "k", "MIDTRANS_EMULATOR_ADDR": "127.0.0.1"}, "MIDTRANS_EMULATOR_ADDR"},
		{map[string]string{"MIDTRANS_SERVER_KEY": "k", "MIDTRANS_NOTIFICATION_URL": "ftp://x"}, "MIDTRANS_NOTIFICATION_URL"},
		{map[string]string{"MIDTRANS_SERVER_KEY": "a key"}, "space"},
	} {
		if _, err := loadSettings(env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
	for _, addr := range []string{"127.0.0.1:8090", "[::1]:8090", "localhost:8090", "127.0.0.2:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if got := (settings{ServerKey: "secret-key"}).LogValue().String(); strings.Contains(got, "secret-key") {
		t.Errorf("log value shows the key: %s", got)
	}
}

// syncBuffer is run's stdout, read while run writes.
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

func TestRunServesAndPersists(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	vars := map[string]string{"MIDTRANS_SERVER_KEY": "SB-Mid-server-run", "MIDTRANS_EMULATOR_ADDR": addr, "MIDTRANS_EMULATOR_DATA": data}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, env(vars), out) }()

	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/emulator/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not up: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/snap/v1/transactions",
		strings.NewReader(`{"transaction_details":{"order_id":"run-1","gross_amount":25000}}`))
	req.SetBasicAuth("SB-Mid-server-run", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(data, "transactions.json"))
	if err != nil || !strings.Contains(string(raw), `"order_id": "run-1"`) {
		t.Errorf("data file: %v\n%s", err, raw)
	}
	if logs := out.String(); strings.Contains(logs, "SB-Mid-server-run") || !strings.Contains(logs, `"msg":"listening"`) {
		t.Errorf("logs:\n%s", logs)
	}
}
