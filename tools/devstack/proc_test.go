package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStopAll(t *testing.T) {
	dir := t.TempDir()
	polite, err := startProc("polite", []string{"sleep", "30"}, dir, os.Environ(), filepath.Join(dir, "polite.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Ignores SIGTERM, and so does its child: only SIGKILL to the group stops both.
	stubborn, err := startProc("stubborn", []string{"sh", "-c", `trap "" TERM; echo started; sleep 30; echo survived`},
		dir, os.Environ(), filepath.Join(dir, "stubborn.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let sh install its trap

	start := time.Now()
	stopAll([]*proc{polite, stubborn}, 500*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopAll took %s", d)
	}
	if !polite.exited() || !stubborn.exited() {
		t.Fatal("process still running")
	}
	if got := stubborn.exitDesc(); !strings.Contains(got, "killed") {
		t.Errorf("stubborn: %s, want killed", got)
	}
	if log := tail(stubborn.logPath, 5); !strings.HasSuffix(log, "\nstarted") {
		t.Errorf("stubborn log:\n%s", log)
	}
}

func TestSupervisedCrashIsRestarted(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids", "crashy.pid")
	// Runs a moment, then crashes; each incarnation leaves a line in the log.
	p, err := startProc("crashy", []string{"sh", "-c", "echo run; sleep 0.5; exit 3"}, dir, os.Environ(),
		filepath.Join(dir, "crashy.log"), pidFile)
	if err != nil {
		t.Fatal(err)
	}
	p.supervise()
	first := p.pid()
	deadline := time.Now().Add(10 * time.Second)
	for p.restarts.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := p.restarts.Load(); n < 2 {
		t.Fatalf("restarted %d times in 10 s, want >= 2 (backoff 1 s, 2 s)", n)
	}
	if p.exited() || p.pid() == first {
		t.Fatal("not running a new incarnation")
	}
	if raw, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(raw)) != strconv.Itoa(p.pid()) {
		t.Errorf("pid file: %q, %v", raw, err)
	}

	stopAll([]*proc{p}, time.Second)
	if !p.exited() {
		t.Fatal("still running after stopAll")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	n := p.restarts.Load()
	time.Sleep(1500 * time.Millisecond)
	if p.restarts.Load() != n {
		t.Error("restarted after stopAll")
	}
}

// Stopping a supervised process while it waits to be restarted ends the wait
// at once, signals nothing (its pid is no longer its own) and starts nothing.
func TestStopDuringRestartBackoff(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "crash.pid")
	p, err := startProc("crash", []string{"sh", "-c", "exit 1"}, dir, os.Environ(), filepath.Join(dir, "crash.log"), pidFile)
	if err != nil {
		t.Fatal(err)
	}
	p.supervise()
	deadline := time.Now().Add(5 * time.Second)
	for p.isRunning() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.isRunning() {
		t.Fatal("did not crash")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("pid file of the dead incarnation kept during the backoff: %v", err)
	}
	start := time.Now()
	stopAll([]*proc{p}, time.Second)
	if !p.exited() || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("stop during the backoff took %s (exited %v)", time.Since(start), p.exited())
	}
	if n := p.restarts.Load(); n != 0 {
		t.Errorf("restarted %d times", n)
	}
}

func TestUnsupervisedExitIsFinal(t *testing.T) {
	dir := t.TempDir()
	p, err := startProc("once", []string{"sh", "-c", "exit 2"}, dir, os.Environ(), filepath.Join(dir, "once.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("did not exit")
	}
	if got := p.exitDesc(); !strings.Contains(got, "exit status 2") {
		t.Errorf("exit = %q", got)
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	var b strings.Builder
	for i := range 5000 { // larger than the 16 KiB tail reads
		b.WriteString(strings.Repeat("x", i%7) + "\n")
	}
	b.WriteString("last-but-one\nlast\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tail(path, 2); got != "last-but-one\nlast" {
		t.Errorf("tail = %q", got)
	}
}
