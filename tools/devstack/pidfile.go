package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func pidPath(data string) string { return filepath.Join(data, "devstack.pid") }

// writePID records this process for `devstack stop`; the returned func
// removes the file again.
func writePID(data string) (func(), error) {
	path := pidPath(data)
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(path) }, nil
}

// runningPID returns the pid of a live devstack recorded in data, or 0.
func runningPID(data string) (int, error) {
	raw, err := os.ReadFile(pidPath(data))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad pid %q", pidPath(data), raw)
	}
	if !isDevstack(pid) {
		return 0, nil // stale file: the process is gone (or the pid was reused)
	}
	return pid, nil
}

// isDevstack tells whether pid is alive and, where /proc says, a devstack.
func isDevstack(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true // no /proc (macOS): trust the pid
	}
	return strings.Contains(string(cmdline), "devstack")
}

func checkNotRunning(data string) error {
	pid, err := runningPID(data)
	if err != nil {
		return err
	}
	if pid != 0 {
		return fmt.Errorf("already running (pid %d): stop it first (`make stop`)", pid)
	}
	return nil
}

// stopRunning sends SIGTERM to the recorded devstack and waits until it is
// gone, so that `make stop && make run` does not race for the ports.
func stopRunning(data string, stdout io.Writer) error {
	pid, err := runningPID(data)
	if err != nil {
		return err
	}
	if pid == 0 {
		fmt.Fprintln(stdout, "devstack: not running")
		return nil
	}
	slog.Info("stopping devstack", "pid", pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	// Apps, sidecars, sentry and MongoDB stop in turn, up to 10 s each.
	deadline := time.Now().Add(60 * time.Second)
	for isDevstack(pid) { // a zombie has an empty cmdline, so it counts as gone
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack (pid %d) still running after 60s", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(stdout, "devstack: stopped")
	return nil
}
