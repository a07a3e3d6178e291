package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stopGrace is how long a child gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// Restart backoff of a supervised process that crashed: doubling from
// restartMin to restartMax, back to restartMin once a run lasted restartReset.
const (
	restartMin   = time.Second
	restartMax   = 30 * time.Second
	restartReset = time.Minute
)

// proc is one child process (an app, a sidecar, sentry, MongoDB) and its log
// file. Until supervise is called an exit is final, so that startup fails
// fast; after it, a crash is logged and the process restarted with backoff,
// as a restart policy in compose or Kubernetes would.
type proc struct {
	name    string
	argv    []string
	dir     string
	env     []string
	logPath string
	pidFile string // "" for none; holds the pid of the running incarnation, absent between two

	mu      sync.Mutex
	cmd     *exec.Cmd // the running (or last) incarnation
	running bool      // cmd has not exited: its pid is still its own
	err     error     // exit error of the last incarnation

	supervised atomic.Bool
	stopping   atomic.Bool   // set before we signal it, so its exit is not a crash
	restarts   atomic.Int32  // crashes restarted so far
	wake       chan struct{} // interrupts a restart backoff when stopping
	done       chan struct{} // closed when the process has exited for good
}

// startProc starts argv in dir with env, appending its output to logPath.
// pidFile, when not empty, holds the running incarnation's pid.
func startProc(name string, argv []string, dir string, env []string, logPath, pidFile string) (*proc, error) {
	p := &proc{name: name, argv: argv, dir: dir, env: env, logPath: logPath, pidFile: pidFile,
		wake: make(chan struct{}), done: make(chan struct{})}
	cmd, err := p.launch()
	if err != nil {
		return nil, err
	}
	go p.watch(cmd)
	return p, nil
}

func (p *proc) launch() (*exec.Cmd, error) {
	logf, err := openLog(p.logPath)
	if err != nil {
		return nil, err
	}
	// The child keeps its own copy of the descriptor.
	defer logf.Close()
	fmt.Fprintf(logf, "\n=== devstack %s: %s (in %s)\n", time.Now().Format(time.RFC3339), strings.Join(p.argv, " "), p.dir)

	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	p.mu.Lock()
	p.cmd, p.running = cmd, true
	p.mu.Unlock()
	if p.stopping.Load() { // stopAll ran while this incarnation started
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	if p.pidFile != "" {
		_ = os.MkdirAll(filepath.Dir(p.pidFile), 0o755)
		_ = os.WriteFile(p.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	}
	return cmd, nil
}

// watch waits for each incarnation and restarts it while supervised.
func (p *proc) watch(cmd *exec.Cmd) {
	defer close(p.done)
	backoff := restartMin
	for {
		began := time.Now()
		err := cmd.Wait()
		p.mu.Lock()
		p.err, p.running = err, false
		p.mu.Unlock()
		if p.pidFile != "" {
			_ = os.Remove(p.pidFile) // rewritten by the next incarnation
		}
		if p.stopping.Load() {
			return
		}
		if !p.supervised.Load() {
			slog.Error("process exited unexpectedly", "process", p.name, "err", p.exitDesc(), "log", p.logPath)
			return
		}
		if time.Since(began) >= restartReset {
			backoff = restartMin
		}
		slog.Error("process crashed, restarting", "process", p.name, "err", p.exitDesc(),
			"ran", time.Since(began).Round(time.Millisecond), "restart_in", backoff, "log", p.logPath)
		select {
		case <-p.wake:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, restartMax)
		next, err := p.launch()
		for err != nil {
			slog.Error("restart failed", "process", p.name, "err", err, "retry_in", backoff)
			select {
			case <-p.wake:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, restartMax)
			next, err = p.launch()
		}
		p.restarts.Add(1)
		cmd = next
	}
}

// supervise turns on restarts: from now on a crash is not final.
func (p *proc) supervise() { p.supervised.Store(true) }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) exitDesc() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// pid is the running incarnation's pid.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// signal sends sig to the child's process group, so that whatever it spawned
// (a shell wrapper's children) gets it too. An exited incarnation is not
// signalled: its pid may belong to someone else by now.
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// stopAll sends SIGTERM to every process, waits up to grace, then SIGKILLs
// the ones still running. Supervised processes are not restarted.
func stopAll(procs []*proc, grace time.Duration) {
	for _, p := range procs {
		if p.stopping.Swap(true) {
			continue
		}
		close(p.wake)
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

func (p *proc) isRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}
