package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStopAll(t *testing.T) {
	dir := t.TempDir()
	polite, err := startProc("polite", []string{"sleep", "30"}, dir, os.Environ(), filepath.Join(dir, "polite.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Ignores SIGTERM, and so does its child: only SIGKILL to the group stops both.
	stubborn, err := startProc("stubborn", []string{"sh", "-c", `trap "" TERM; echo started; sleep 30; echo survived`},
		dir, os.Environ(), filepath.Join(dir, "stubborn.log"))
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
