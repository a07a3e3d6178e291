package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Internal gRPC ports of the sidecars (dapr/dapr.yaml): sidecar-to-sidecar
// service invocation, mTLS only.
const commandInternalGRPC = "127.0.0.1:3701"

// TestOnlyTheGatewayListensBeyondLoopback reads the socket table (no traffic
// is sent anywhere): of every TCP listener and bound UDP socket that belongs
// to the stack's processes, only the gateway's may be on a non-loopback
// address.
func TestOnlyTheGatewayListensBeyondLoopback(t *testing.T) {
	pids := processTree(stack.cmd.Process.Pid)
	if len(pids) < 10 { // devstack, mongodb, sentry, 4 apps, 4 sidecars
		t.Fatalf("found only %d processes of the stack: %v", len(pids), pids)
	}
	owner := map[string]string{} // socket inode -> process name
	for _, pid := range pids {
		name := processName(pid)
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if inode, ok := strings.CutPrefix(link, "socket:["); ok {
				owner[strings.TrimSuffix(inode, "]")] = name
			}
		}
	}
	var exposed, loopback []string
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		for _, s := range readSocketTable(t, table) {
			name, ours := owner[s.inode]
			if !ours || !s.listening {
				continue
			}
			desc := fmt.Sprintf("%s %s:%d (%s)", table, s.ip, s.port, name)
			if s.ip.IsLoopback() {
				loopback = append(loopback, desc)
			} else {
				exposed = append(exposed, desc)
			}
		}
	}
	t.Logf("stack sockets: %d on loopback, %d beyond: %v", len(loopback), len(exposed), exposed)
	if len(exposed) != 1 || !strings.Contains(exposed[0], ":8080 (gateway)") {
		t.Fatalf("beyond loopback: %v; want only the gateway's :8080", exposed)
	}
}

// TestSidecarNotOnTheAllowListIsRefused: sidecars identify each other by the
// SPIFFE id of their mTLS certificates and each app's accessControl allows
// only its known callers. A stranger sidecar (a valid certificate from the
// stack's own sentry, but no policy) and a known app calling outside its
// allowed paths both get 403 PermissionDenied; the gateway's own calls pass
// (every other e2e test).
func TestSidecarNotOnTheAllowListIsRefused(t *testing.T) {
	stranger := startStrangerSidecar(t)
	r := call(t, http.MethodPost, stranger+"/v1.0/invoke/movie-command/method/api/v1/movie-command/categories",
		map[string]string{"name": "forged-" + randomHex(3)})
	if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "spiffe://public/ns/default/stranger") {
		t.Fatalf("stranger -> movie-command: %d %s; want 403 naming its SPIFFE id", r.Status, r.Body)
	}

	// movie-query may read movie-command's /internal/* (reconciliation), nothing else.
	r = call(t, http.MethodPost, querySidecar+"/v1.0/invoke/movie-command/method/api/v1/movie-command/categories",
		map[string]string{"name": "forged-" + randomHex(3)}, "dapr-api-token", sidecarToken("movie-query"))
	if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "PermissionDenied") {
		t.Fatalf("movie-query -> movie-command catalog write: %d %s; want 403", r.Status, r.Body)
	}
	// Nobody may invoke the gateway, nor identity outside its public paths.
	r = call(t, http.MethodGet, commandSidecar+"/v1.0/invoke/identity/method/api/v1/auth/me", nil,
		"dapr-api-token", sidecarToken("movie-command"))
	if r.Status != http.StatusForbidden {
		t.Fatalf("movie-command -> identity: %d %s; want 403", r.Status, r.Body)
	}
}

// TestInternalPortRefusesPlainText: the internal gRPC port of a sidecar
// speaks only mTLS. Plain-text HTTP/2 (what an unauthenticated gRPC client
// sends) gets no HTTP/2 answer, and TLS without a client certificate is
// refused in the handshake.
func TestInternalPortRefusesPlainText(t *testing.T) {
	conn, err := net.DialTimeout("tcp", commandInternalGRPC, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	// The HTTP/2 client preface and an empty SETTINGS frame.
	if _, err := conn.Write(append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 9)
	n, _ := io.ReadFull(conn, head)
	if n == 9 && head[3] == 4 { // frame type 4: the server's SETTINGS, i.e. plain text accepted
		t.Fatalf("plain-text HTTP/2 accepted on %s: % x", commandInternalGRPC, head)
	}
	t.Logf("plain text: %d bytes back (% x)", n, head[:n])

	tlsConn, err := tls.Dial("tcp", commandInternalGRPC, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err == nil {
		_ = tlsConn.SetDeadline(time.Now().Add(3 * time.Second))
		// TLS 1.3 reports a missing client certificate on the first read.
		_, err = tlsConn.Read(make([]byte, 1))
		tlsConn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("TLS without a client certificate: %v; want a certificate error", err)
	}
}

// TestMetricSeriesStayBounded: 10,000 requests for random movie ids through
// a sidecar that uses the project's metric configuration add a bounded number
// of series; the same requests with 1.14's default (increasedCardinality)
// add about one series per id. Metrics are off in the stack (daprd 1.14
// serves them on every interface), so two probe sidecars are started here,
// only for the length of the test.
func TestMetricSeriesStayBounded(t *testing.T) {
	const requests = 10_000
	project := filepath.Join(stack.root, "dapr", "config", "movie-query.yaml")
	legacy := writeLegacyMetricsConfig(t)
	var bounded, unbounded int
	for _, probe := range []struct {
		config string
		series *int
	}{{project, &bounded}, {legacy, &unbounded}} {
		app := startEchoApp(t)
		sidecar, metrics := startProbeSidecar(t, probe.config, app)
		// The first requests create the series that every sidecar has
		// (one per method, status and bucket); only growth after that counts.
		sendRandomIDs(t, sidecar, 100)
		before := countSeries(t, metrics)
		sendRandomIDs(t, sidecar, requests)
		*probe.series = countSeries(t, metrics) - before
	}
	t.Logf("metric series added by %d more random ids: %d with dapr/config (increasedCardinality: false), %d with 1.14's default",
		requests, bounded, unbounded)
	if bounded > 10 {
		t.Errorf("project config: %d new series for %d ids; want a bounded handful", bounded, requests)
	}
	if unbounded < requests {
		t.Errorf("the baseline added only %d series: the probe does not exercise per-path metrics", unbounded)
	}
}

// ---- helpers ----

// querySidecar is movie-query's sidecar HTTP API (dapr/dapr.yaml).
const querySidecar = "http://127.0.0.1:3502"

type socket struct {
	ip        net.IP
	port      int
	inode     string
	listening bool
}

// readSocketTable parses /proc/net/{tcp,tcp6,udp,udp6}.
func readSocketTable(t *testing.T, table string) []socket {
	t.Helper()
	f, err := os.Open("/proc/net/" + table)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []socket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		hostHex, portHex, _ := strings.Cut(fields[1], ":")
		raw, err := hex.DecodeString(hostHex)
		if err != nil {
			continue
		}
		// The kernel prints each 32-bit word in host (little-endian) order.
		for i := 0; i+4 <= len(raw); i += 4 {
			slices.Reverse(raw[i : i+4])
		}
		port, _ := strconv.ParseInt(portHex, 16, 32)
		state := fields[3]
		out = append(out, socket{
			ip: net.IP(raw), port: int(port), inode: fields[9],
			// TCP: LISTEN (0A). UDP: every bound socket receives (07).
			listening: (strings.HasPrefix(table, "tcp") && state == "0A") || (strings.HasPrefix(table, "udp") && state == "07"),
		})
	}
	return out
}

// processTree is pid and all its descendants.
func processTree(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after ')'.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
		if f := strings.Fields(rest); len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

func processName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// freePort asks the kernel for a free loopback port (the stack's fixed ports
// stay below the ephemeral range, so these never clash with them).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sidecar is a daprd started by a test, with its log kept for failures.
type sidecar struct {
	httpURL, metricsURL string
}

// startSidecar runs bin/daprd as appID with the stack's sentry (mTLS) and
// name resolution, no components, and extra flags; stopped at cleanup.
func startSidecar(t *testing.T, appID, config string, extra ...string) sidecar {
	t.Helper()
	httpPort, grpcPort, internalPort, metricsPort := freePort(t), freePort(t), freePort(t), freePort(t)
	anchors, err := os.ReadFile(filepath.Join(stack.root, ".data", "sentry", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	args := append([]string{"--app-id", appID,
		"--dapr-http-port", strconv.Itoa(httpPort), "--dapr-grpc-port", strconv.Itoa(grpcPort),
		"--dapr-internal-grpc-port", strconv.Itoa(internalPort), "--metrics-port", strconv.Itoa(metricsPort),
		"--dapr-listen-addresses", "127.0.0.1", "--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--enable-mtls", "--sentry-address", "127.0.0.1:3900",
		"--resources-path", empty, "--config", config, "--log-level", "warn"}, extra...)
	cmd := exec.Command(filepath.Join(stack.root, "bin", "daprd"), args...)
	cmd.Dir = stack.root // the configs name .data/nameresolution.db relative to it
	cmd.Env = append(os.Environ(), "DAPR_TRUST_ANCHORS="+string(anchors), "DAPR_HOST_IP=127.0.0.1")
	logPath := filepath.Join(t.TempDir(), appID+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", appID, b)
		}
	})
	s := sidecar{httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	eventually(t, 60*time.Second, appID+" sidecar healthy", func() bool {
		resp, err := http.Get(s.httpURL + "/v1.0/healthz/outbound")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	})
	return s
}

func startStrangerSidecar(t *testing.T) string {
	return startSidecar(t, "stranger", filepath.Join(stack.root, "dapr", "config", "gateway.yaml")).httpURL
}

func startProbeSidecar(t *testing.T, config string, appPort int) (httpURL, metricsURL string) {
	s := startSidecar(t, "metrics-probe-"+randomHex(2), config, "--app-port", strconv.Itoa(appPort), "--app-channel-address", "127.0.0.1")
	return s.httpURL, s.metricsURL
}

// startEchoApp is the probe's app: 404 for every movie id, as movie-query
// answers an unknown one.
func startEchoApp(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no such movie"}}`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// writeLegacyMetricsConfig is the project's movie-query config with 1.14's
// default for HTTP metrics: the path in every series.
func writeLegacyMetricsConfig(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(stack.root, "dapr", "config", "movie-query.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.Replace(string(raw), "increasedCardinality: false", "increasedCardinality: true", 1)
	if legacy == string(raw) {
		t.Fatal("dapr/config/movie-query.yaml does not set increasedCardinality: false")
	}
	path := filepath.Join(t.TempDir(), "legacy-metrics.yaml")
	if err := os.WriteFile(path, []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sendRandomIDs asks the probe's sidecar for n random movie ids (8 clients).
func sendRandomIDs(t *testing.T, sidecarURL string, n int) {
	t.Helper()
	appID := ""
	resp, err := http.Get(sidecarURL + "/v1.0/metadata")
	if err == nil {
		var meta struct {
			ID string `json:"id"`
		}
		(response{Body: readAll(resp)}).json(t, &meta)
		appID = meta.ID
	}
	if appID == "" {
		t.Fatalf("probe metadata: %v", err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	jobs := make(chan string)
	for range 8 {
		wg.Go(func() {
			for id := range jobs {
				resp, err := client.Get(sidecarURL + "/v1.0/invoke/" + appID + "/method/api/v1/movie-query/movies/" + id)
				if err != nil || resp.StatusCode != http.StatusNotFound {
					mu.Lock()
					failures++
					mu.Unlock()
				}
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	for range n {
		jobs <- fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	}
	close(jobs)
	wg.Wait()
	if failures > 0 {
		t.Fatalf("%d of %d probe requests did not get the app's 404", failures, n)
	}
}

// countSeries counts the sample lines of a Prometheus text exposition.
func countSeries(t *testing.T, metricsURL string) int {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(readAll(resp))) {
		if line != "\n" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestSecretsAreScopedPerApp: each app's sidecar hands it only the secrets
// its config allows (dapr/config/<app>.yaml, secrets.scopes).
func TestSecretsAreScopedPerApp(t *testing.T) {
	sidecars := map[string]string{"gateway": gatewaySidecar, "identity": "http://127.0.0.1:3503",
		"movie-command": commandSidecar, "movie-query": querySidecar}
	for _, tt := range []struct {
		app, secret string
		want        int
	}{
		{"gateway", "identity-signing-key", http.StatusForbidden},
		{"gateway", "kafka-brokers", http.StatusForbidden},
		{"movie-query", "movie-command-db", http.StatusForbidden},
		{"movie-command", "identity-admin-password", http.StatusForbidden},
		{"identity", "identity-signing-key", http.StatusOK},
		{"movie-command", "movie-command-db", http.StatusOK},
	} {
		r := call(t, http.MethodGet, sidecars[tt.app]+"/v1.0/secrets/secretstore/"+tt.secret, nil,
			"dapr-api-token", sidecarToken(tt.app))
		if r.Status != tt.want {
			t.Errorf("%s reads %s: %d, want %d", tt.app, tt.secret, r.Status, tt.want)
		}
	}
}
