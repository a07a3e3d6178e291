package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stack is the set of sidecars and apps of one run file.
type stack struct {
	apps     []app
	sidecars map[string]*proc // by app id
	procs    map[string]*proc // by app id
}

// sidecarSettings is what every sidecar of one stack shares.
type sidecarSettings struct {
	daprd        string // the daprd binary
	workDir      string // daprd's working directory (see daprdWorkDir)
	logDir       string
	pidDir       string
	sentryAddr   string // Dapr's CA, for mTLS between sidecars
	trustAnchors string // PEM of sentry's root certificate
	// metrics turns on every sidecar's Prometheus endpoint. Off by default:
	// daprd 1.14 ignores --metrics-listen-address and would listen on every
	// interface (cmd/daprd/app/app.go builds metrics.Options without it).
	metrics bool
}

// startStack starts, for every app, its sidecar and then the app itself,
// each with the app's own pair of API tokens and whatever extraEnv (by app
// id) adds to that app's environment. On error, whatever was started is
// stopped again.
func startStack(apps []app, set sidecarSettings, tokens map[string]appTokens, extraEnv map[string][]string) (*stack, error) {
	s := &stack{apps: apps, sidecars: map[string]*proc{}, procs: map[string]*proc{}}
	for _, a := range apps {
		t := tokens[a.ID].env()
		sidecarEnv := append(os.Environ(), t...)
		sidecarEnv = append(sidecarEnv,
			"DAPR_TRUST_ANCHORS="+set.trustAnchors,
			// The address daprd registers for its internal gRPC port; it
			// listens on loopback only.
			"DAPR_HOST_IP=127.0.0.1",
		)
		name := a.ID + "-daprd"
		sidecar, err := startProc(name, daprdArgs(set, a), set.workDir, sidecarEnv,
			filepath.Join(set.logDir, name+".log"), filepath.Join(set.pidDir, name+".pid"))
		if err != nil {
			s.stop()
			return nil, err
		}
		s.sidecars[a.ID] = sidecar

		p, err := startProc(a.ID, a.Command, a.Dir, appEnv(a, t, extraEnv[a.ID]),
			filepath.Join(set.logDir, a.ID+".log"), filepath.Join(set.pidDir, a.ID+".pid"))
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs[a.ID] = p
	}
	return s, nil
}

// supervise restarts any app or sidecar that crashes from now on.
func (s *stack) supervise() {
	for _, p := range s.procs {
		p.supervise()
	}
	for _, p := range s.sidecars {
		p.supervise()
	}
}

func daprdArgs(set sidecarSettings, a app) []string {
	args := []string{set.daprd,
		"--app-id", a.ID,
		"--app-protocol", a.AppProtocol,
		"--app-channel-address", a.AppChannelAddress,
		"--dapr-http-port", strconv.Itoa(a.DaprHTTPPort),
		"--dapr-grpc-port", strconv.Itoa(a.DaprGRPCPort),
		"--dapr-internal-grpc-port", strconv.Itoa(a.DaprInternalGRPCPort),
		"--dapr-listen-addresses", "127.0.0.1",
		"--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--enable-mtls",
		"--sentry-address", set.sentryAddr,
		"--log-level", a.LogLevel,
	}
	if set.metrics {
		args = append(args, "--metrics-port", strconv.Itoa(a.MetricsPort))
	} else {
		args = append(args, "--enable-metrics=false")
	}
	if a.AppPort > 0 {
		args = append(args, "--app-port", strconv.Itoa(a.AppPort))
	}
	if a.MaxBodyMiB > 0 {
		args = append(args, "--max-body-size", strconv.Itoa(a.MaxBodyMiB)+"Mi")
	}
	if a.ReadBufferKiB > 0 {
		args = append(args, "--read-buffer-size", strconv.Itoa(a.ReadBufferKiB)+"Ki")
	}
	for _, p := range a.ResourcesPaths {
		args = append(args, "--resources-path", p)
	}
	if a.ConfigFile != "" {
		args = append(args, "--config", a.ConfigFile)
	}
	return args
}

// appEnv is what the Dapr CLI would give the app: the parent env, the run
// file's env, and where to find its sidecar; then what devstack adds for
// this app (extra) and its tokens.
func appEnv(a app, tokens, extra []string) []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(a.Env)) {
		env = append(env, k+"="+a.Env[k])
	}
	env = append(env,
		"APP_ID="+a.ID,
		"APP_PORT="+strconv.Itoa(a.AppPort),
		"DAPR_HTTP_PORT="+strconv.Itoa(a.DaprHTTPPort),
		"DAPR_GRPC_PORT="+strconv.Itoa(a.DaprGRPCPort),
	)
	env = append(env, extra...)
	return append(env, tokens...) // later entries win in os/exec
}

// stop stops the apps first (they may still be talking to their sidecars),
// then the sidecars.
func (s *stack) stop() {
	stopAll(slices.Collect(maps.Values(s.procs)), stopGrace)
	stopAll(slices.Collect(maps.Values(s.sidecars)), stopGrace)
}

// waitReady waits until every sidecar's /v1.0/healthz answers 204, which
// means its components are loaded and its app is reachable. It gives up early
// when an app or a sidecar exits, since it would never become healthy.
func (s *stack) waitReady(ctx context.Context, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	pending := map[string]bool{}
	for _, a := range s.apps {
		pending[a.ID] = true
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, a := range s.apps {
			if !pending[a.ID] {
				continue
			}
			for _, p := range []*proc{s.sidecars[a.ID], s.procs[a.ID]} {
				if p.exited() {
					s.printTails(out, []string{a.ID})
					return fmt.Errorf("%s exited during startup (%s): see %s", p.name, p.exitDesc(), p.logPath)
				}
			}
			if healthy(ctx, client, a.DaprHTTPPort) {
				slog.Info("sidecar healthy", "app", a.ID)
				delete(pending, a.ID)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				ids := slices.Sorted(maps.Keys(pending))
				s.printTails(out, ids)
				return fmt.Errorf("not healthy after %s: %s", timeout, strings.Join(ids, ", "))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func healthy(ctx context.Context, client *http.Client, port int) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", port), nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNoContent
}

func (s *stack) printTails(out io.Writer, ids []string) {
	for _, id := range ids {
		for _, p := range []*proc{s.procs[id], s.sidecars[id]} {
			fmt.Fprintf(out, "----- last lines of %s -----\n%s\n", p.logPath, tail(p.logPath, 25))
		}
	}
}

// tail returns the last n lines of a file (from its last 16 KiB).
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	const chunk = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > chunk {
		_, _ = f.Seek(-chunk, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// portUse names who needs a port, for a useful "port taken" message.
type portUse struct {
	port int
	who  string
}

func stackPorts(apps []app) []portUse {
	uses := []portUse{{kafkaPort, "kafka"}, {mongoPort, "mongodb"},
		{sentryPort, "sentry"}, {sentryHealthzPort, "sentry healthz"}}
	for _, a := range apps {
		if a.AppPort > 0 {
			uses = append(uses, portUse{a.AppPort, a.ID + " appPort"})
		}
		uses = append(uses,
			portUse{a.DaprHTTPPort, a.ID + " daprHTTPPort"},
			portUse{a.DaprGRPCPort, a.ID + " daprGRPCPort"},
			portUse{a.DaprInternalGRPCPort, a.ID + " daprInternalGRPCPort"},
			portUse{a.MetricsPort, a.ID + " metricsPort"},
		)
	}
	return uses
}

// checkPortsFree fails when any port is taken, before anything starts: a
// sidecar that cannot bind its port would otherwise fail half-way up.
func checkPortsFree(uses []portUse) error {
	var taken []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range uses {
		wg.Go(func() {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", u.port))
			if err != nil {
				mu.Lock()
				taken = append(taken, fmt.Sprintf("%d (%s)", u.port, u.who))
				mu.Unlock()
				return
			}
			ln.Close()
		})
	}
	wg.Wait()
	if len(taken) > 0 {
		slices.Sort(taken)
		return fmt.Errorf("ports already in use: %s (is devstack already running? `make stop`)", strings.Join(taken, ", "))
	}
	return nil
}
