package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMidtransSwitch(t *testing.T) {
	t.Setenv("MIDTRANS_SERVER_KEY", "")
	if secretOverrides() != nil || midtransSandboxKey() != "" {
		t.Error("overrides without a sandbox key")
	}
	env := midtransAppEnv(true)
	if got := env["payment"]; len(got) != 1 || got[0] != "MIDTRANS_API_URL=http://127.0.0.1:8090" || len(env) != 1 {
		t.Errorf("emulated env %v", env)
	}
	if midtransAppEnv(false) != nil {
		t.Error("MIDTRANS_API_URL passed with a sandbox key")
	}

	t.Setenv("MIDTRANS_SERVER_KEY", " SB-Mid-server-real ")
	if got := secretOverrides(); got[midtransSecret] != "SB-Mid-server-real" {
		t.Errorf("overrides %v", got)
	}

	// The app's environment: what devstack adds comes after the run file's,
	// and the tokens last.
	a := app{ID: "payment", Env: map[string]string{"MIDTRANS_API_URL": "from-run-file"}, AppPort: 7105}
	got := appEnv(a, []string{"APP_API_TOKEN=t"}, env["payment"])
	file := slices.Index(got, "MIDTRANS_API_URL=from-run-file")
	extra := slices.Index(got, "MIDTRANS_API_URL=http://127.0.0.1:8090")
	if file < 0 || extra < file || got[len(got)-1] != "APP_API_TOKEN=t" {
		t.Errorf("app env tail %v", got[max(0, len(got)-8):])
	}
	if u := notificationURL([]app{{ID: "gateway", AppPort: 8081}}); u != "http://127.0.0.1:8081/api/v1/orders/notificationMidtrans" {
		t.Errorf("notification URL %s", u)
	}
}

func TestSandboxKeyBecomesTheSecret(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "secrets.local.json")
	dst := filepath.Join(dir, ".data", "secrets.json")
	if err := os.WriteFile(src, []byte(`{"midtrans-server-key": "generate:password", "other": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSecrets(src, dst, "", nil); err != nil {
		t.Fatal(err)
	}
	generated := readKey(t, dst)
	if len(generated) < 30 || generated == "generate:password" {
		t.Fatalf("generated key %q", generated)
	}
	if err := writeSecrets(src, dst, "", nil); err != nil || readKey(t, dst) != generated {
		t.Fatalf("the generated key changed: %v", err)
	}
	if err := writeSecrets(src, dst, "", map[string]string{midtransSecret: "SB-Mid-server-real"}); err != nil {
		t.Fatal(err)
	}
	if got := readKey(t, dst); got != "SB-Mid-server-real" {
		t.Errorf("with a sandbox key: %q", got)
	}
}

func readKey(t *testing.T, file string) string {
	t.Helper()
	s, err := readSecrets(file)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := s[midtransSecret].(string)
	return key
}

// The emulator as devstack runs it: built from tools/midtrans-emulator,
// started with the secret's key, its pid file written and removed.
func TestMidtransEmulatorStarts(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain to build the emulator")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "midtrans-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "midtrans-emulator")
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the emulator: %v\n%s", err, out)
	}
	data := filepath.Join(dir, ".data")
	if err := os.MkdirAll(filepath.Join(data, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := newEmulatorSettings(bin, data, nil)
	s.addr = freeAddr(t)

	if _, err := startMidtransEmulator(context.Background(), s); err == nil || !strings.Contains(err.Error(), "secrets.json") {
		t.Fatalf("started without secrets: %v", err)
	}
	secrets, _ := json.Marshal(map[string]string{midtransSecret: "generated-key"})
	if err := os.WriteFile(s.secretsFile, secrets, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := startMidtransEmulator(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer stopAll([]*proc{p}, stopGrace)

	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/snap/v1/transactions",
		strings.NewReader(`{"transaction_details":{"order_id":"devstack-1","gross_amount":1000}}`))
	req.SetBasicAuth("generated-key", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create with the secret's key: %d", resp.StatusCode)
	}
	pidFile := filepath.Join(data, "pids", "midtrans-emulator.pid")
	if raw, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(raw)) != strconv.Itoa(p.pid()) {
		t.Errorf("pid file %q, %v", raw, err)
	}
	stopAll([]*proc{p}, stopGrace)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "midtrans", "transactions.json")); err != nil {
		t.Errorf("no data in .data/midtrans: %v", err)
	}
	if log := tail(filepath.Join(data, "logs", "midtrans-emulator.log"), 50); !strings.Contains(log, `"msg":"listening"`) || strings.Contains(log, "generated-key") {
		t.Errorf("log:\n%s", log)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
