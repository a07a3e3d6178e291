// Package e2e drives the whole local stack (tools/devstack up) over HTTP,
// through the services' Dapr sidecars, as a client would.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Addresses from dapr/dapr.yaml: the public gateway, and movie-command's
// sidecar (used to publish raw events, as Kafka redelivery would).
const (
	gateway        = "http://127.0.0.1:8080"
	commandSidecar = "http://127.0.0.1:3501"
)

var stack stackProcess

func TestMain(m *testing.M) {
	os.Exit(runWithStack(m))
}

func runWithStack(m *testing.M) int {
	root := os.Getenv("TENFLIX_ROOT")
	if root == "" {
		fmt.Fprintln(os.Stderr, "e2e: set TENFLIX_ROOT to the repository root (make e2e does)")
		return 1
	}
	// A temporary root that shares the repo's config and binaries but has its
	// own .data (Kafka, MongoDB, secrets, logs) and its own databases.
	tmp, err := os.MkdirTemp("", "tenflix-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for _, d := range []string{"components", "dapr", "bin", "services"} {
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(tmp, d)); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	stack.devstack = filepath.Join(root, "bin", "devstack")
	stack.root = tmp
	stack.suffix = "_e2e_" + randomHex(4)
	stack.log = filepath.Join(tmp, "devstack.log")
	defer func() {
		stack.stop()
		dropDatabases(stack.suffix)
		if os.Getenv("E2E_KEEP") == "" {
			os.RemoveAll(tmp)
		} else {
			fmt.Fprintln(os.Stderr, "e2e: kept", tmp)
		}
	}()
	start := time.Now()
	if err := stack.start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		dumpLogs(tmp, stack.log)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: stack ready in %s\n", time.Since(start).Round(time.Millisecond))
	stack.token = sidecarToken("movie-command")
	if err := signIn(filepath.Join(tmp, ".data", "secrets.json")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		dumpLogs(tmp, stack.log)
		return 1
	}
	code := m.Run()
	if code != 0 {
		dumpLogs(tmp, stack.log)
	}
	return code
}

// stackProcess is the running `devstack up`.
type stackProcess struct {
	devstack, root, suffix, log string
	token                       string // movie-command's DAPR_API_TOKEN (its sidecar's API)
	adminToken, userToken       string // bearer tokens for the gateway
	cmd                         *exec.Cmd
	exited                      chan struct{}
}

// start runs devstack up in the temporary root and waits until it is ready.
func (s *stackProcess) start() error {
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	offset, _ := logFile.Seek(0, io.SeekEnd)
	// As make run does: demo data once the stack is ready.
	s.cmd = exec.Command(s.devstack, "up", "-root", s.root, "-db-suffix", s.suffix,
		"-then", filepath.Join(s.root, "bin", "seed"))
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Tests sign in more often than a person would.
	s.cmd.Env = append(os.Environ(), "AUTH_RATE_PER_MINUTE=6000", "AUTH_RATE_BURST=1000",
		// Orders untouched for 15 s are swept by the cron binding (once a
		// minute), so that a lost event is repaired within a test's time.
		"SWEEP_AFTER=15s")
	if os.Getenv("E2E_CLOUDINARY") == "1" { // media's Cloudinary backend (cloudinary_test.go)
		s.cmd.Env = append(s.cmd.Env, "TENFLIX_MEDIA_BACKEND=cloudinary")
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start devstack: %w", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(s.cmd, s.exited)
	return waitReady(s.log, offset, s.exited, 4*time.Minute)
}

// stop interrupts devstack (as Ctrl-C would) and waits for it to exit.
func (s *stackProcess) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// waitReady waits for devstack's ready line; it gives up early when devstack
// exits (a port in use, a service that cannot start).
func waitReady(logPath string, offset int64, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		b, _ := os.ReadFile(logPath)
		if int64(len(b)) > offset && bytes.Contains(b[offset:], []byte("devstack: ready")) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("devstack exited before the stack was ready")
		case <-deadline:
			return fmt.Errorf("stack not ready after %s", timeout)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func readEnvFile(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), name+"="); ok {
			return v
		}
	}
	return ""
}

// signIn gets an admin token (the bootstrapped admin, password from the
// local secret store) and a user token (a freshly registered user).
func signIn(secretsFile string) error {
	raw, err := os.ReadFile(secretsFile)
	if err != nil {
		return err
	}
	var secrets map[string]string
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return err
	}
	if stack.adminToken, err = passwordGrant("admin@tenflix.local", secrets["identity-admin-password"]); err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	email := "e2e-" + randomHex(4) + "@tenflix.test"
	const password = "e2e-password-0123"
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "name": "E2E Viewer"})
	resp, err := http.Post(gateway+"/api/v1/auth/register", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("register: %d", resp.StatusCode)
	}
	stack.userToken, err = passwordGrant(email, password)
	return err
}

func passwordGrant(email, password string) (string, error) {
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	resp, err := http.PostForm(gateway+"/api/v1/auth/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token for %s: %d %s", email, resp.StatusCode, b)
	}
	return tok.AccessToken, nil
}

func dumpLogs(tmp, devstackLog string) {
	files, _ := filepath.Glob(filepath.Join(tmp, ".data", "logs", "*.log"))
	for _, f := range append([]string{devstackLog}, files...) {
		b, _ := os.ReadFile(f)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		fmt.Fprintf(os.Stderr, "\n==== %s (tail)\n%s\n", f, b)
	}
}

func dropDatabases(suffix string) {
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
		"SELECT datname FROM pg_database WHERE datname LIKE '%"+suffix+"'").Output()
	if err != nil {
		return
	}
	for _, db := range strings.Fields(string(out)) {
		_ = exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
			`DROP DATABASE "`+db+`" WITH (FORCE)`).Run()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- HTTP helpers ----

type response struct {
	Status int
	Body   []byte
}

func (r response) json(t testing.TB, into any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, into); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode is the envelope's code, or "" when the body is not an envelope.
func (r response) errorCode() string {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &env)
	return env.Error.Code
}

func call(t testing.TB, method, url string, body any, header ...string) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = bytes.NewReader(b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b}
}

// command calls movie-command's public API through the gateway, as an admin.
func command(t testing.TB, method, path string, body any) response {
	t.Helper()
	return call(t, method, gateway+"/api/v1/movie-command"+path, body, "Authorization", "Bearer "+stack.adminToken)
}

// query calls movie-query's public API through the gateway, as a user.
func query(t testing.TB, method, path string) response {
	t.Helper()
	return call(t, method, gateway+"/api/v1/movie-query"+path, nil, "Authorization", "Bearer "+stack.userToken)
}

// stackSecret is a secret of the running stack's local secret store.
func stackSecret(t testing.TB, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(stack.root, ".data", "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(raw, &secrets); err != nil {
		t.Fatal(err)
	}
	return secrets[name]
}

// serviceSQL runs SQL on a service's database (named by its secret), behind
// the service's back.
func serviceSQL(t testing.TB, dbSecret, sql string) string {
	t.Helper()
	out, err := exec.Command("psql", stackSecret(t, dbSecret), "-v", "ON_ERROR_STOP=1", "-Atc", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// sidecarToken is the DAPR_API_TOKEN with which appID calls its own sidecar;
// appToken the APP_API_TOKEN with which that sidecar calls the app. Every app
// has its own pair (tools/devstack/tokens.go).
func sidecarToken(appID string) string { return stackToken(appID, "DAPR_API_TOKEN") }
func appToken(appID string) string     { return stackToken(appID, "APP_API_TOKEN") }

func stackToken(appID, kind string) string {
	name := strings.ToUpper(strings.ReplaceAll(appID, "-", "_")) + "_" + kind
	return readEnvFile(filepath.Join(stack.root, ".data", "tokens.env"), name)
}

// publishRaw publishes a CloudEvent through movie-command's sidecar, as an
// internal client (the sidecar's API token) would.
func publishRaw(t testing.TB, topic string, event any) {
	t.Helper()
	r := call(t, http.MethodPost, commandSidecar+"/v1.0/publish/pubsub/"+topic, event,
		"Content-Type", "application/cloudevents+json", "dapr-api-token", stack.token)
	if r.Status/100 != 2 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
}

func mustStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s", what, timeout)
	return 0
}
