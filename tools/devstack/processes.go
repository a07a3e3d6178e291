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
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stopGrace is how long a child gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// proc is one child process (an app or a sidecar) and its log file.
type proc struct {
	name     string
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	err      error         // exit error, valid after done
	stopping atomic.Bool   // set before we signal it, so its exit is not "unexpected"
}

// startProc starts argv in dir with env, appending its output to logPath.
func startProc(name string, argv []string, dir string, env []string, logPath string) (*proc, error) {
	logf, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	// The child keeps its own copy of the descriptor.
	defer logf.Close()
	fmt.Fprintf(logf, "\n=== devstack %s: %s (in %s)\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "), dir)

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		// Not restarted: a crash loop would hide the cause; the log has it.
		if !p.stopping.Load() {
			slog.Error("process exited unexpectedly", "process", name, "err", p.exitDesc(), "log", logPath)
		}
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) exitDesc() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// signal sends sig to the child's process group, so that whatever it spawned
// (a shell wrapper's children) gets it too.
func (p *proc) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// stopAll sends SIGTERM to every process, waits up to grace, then SIGKILLs
// the ones still running.
func stopAll(procs []*proc, grace time.Duration) {
	for _, p := range procs {
		p.stopping.Store(true)
		if !p.exited() {
			p.signal(syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		if p.exited() {
			continue
		}
		select {
		case <-p.done:
		case <-time.After(time.Until(deadline)):
			slog.Warn("did not stop in time, killing", "process", p.name)
			p.signal(syscall.SIGKILL)
			<-p.done
		}
	}
}

// stack is the set of sidecars and apps of one run file.
type stack struct {
	apps     []app
	sidecars map[string]*proc // by app id
	procs    map[string]*proc // by app id
}

// startStack starts, for every app, its sidecar and then the app itself.
// On error, whatever was started is stopped again.
func startStack(apps []app, daprd, daprdDir, logDir, daprToken, appToken string) (*stack, error) {
	s := &stack{apps: apps, sidecars: map[string]*proc{}, procs: map[string]*proc{}}
	tokens := []string{"DAPR_API_TOKEN=" + daprToken, "APP_API_TOKEN=" + appToken}
	for _, a := range apps {
		sidecar, err := startProc(a.ID+"-daprd", daprdArgs(daprd, a), daprdDir,
			append(os.Environ(), tokens...), filepath.Join(logDir, a.ID+"-daprd.log"))
		if err != nil {
			s.stop()
			return nil, err
		}
		s.sidecars[a.ID] = sidecar

		p, err := startProc(a.ID, a.Command, a.Dir, appEnv(a, tokens), filepath.Join(logDir, a.ID+".log"))
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs[a.ID] = p
	}
	return s, nil
}

func daprdArgs(daprd string, a app) []string {
	args := []string{daprd,
		"--app-id", a.ID,
		"--app-protocol", a.AppProtocol,
		"--app-channel-address", a.AppChannelAddress,
		"--dapr-http-port", strconv.Itoa(a.DaprHTTPPort),
		"--dapr-grpc-port", strconv.Itoa(a.DaprGRPCPort),
		"--dapr-internal-grpc-port", strconv.Itoa(a.DaprInternalGRPCPort),
		"--metrics-port", strconv.Itoa(a.MetricsPort),
		"--dapr-listen-addresses", "127.0.0.1",
		"--log-level", a.LogLevel,
	}
	if a.AppPort > 0 {
		args = append(args, "--app-port", strconv.Itoa(a.AppPort))
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
// file's env, and where to find its sidecar.
func appEnv(a app, tokens []string) []string {
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
	uses := []portUse{{kafkaPort, "kafka"}, {mongoPort, "mongodb"}}
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
