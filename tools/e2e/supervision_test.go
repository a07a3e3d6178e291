package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashedProcessesAreRestarted: SIGKILL to movie-query and then to its
// sidecar; devstack logs each crash and restarts it, and browsing works again.
func TestCrashedProcessesAreRestarted(t *testing.T) {
	for _, name := range []string{"movie-query", "movie-query-daprd"} {
		pidFile := filepath.Join(stack.root, ".data", "pids", name+".pid")
		before := readPID(t, pidFile)
		if err := syscall.Kill(before, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s (%d): %v", name, before, err)
		}
		took := eventually(t, 60*time.Second, name+" restarted and browsing answers", func() bool {
			if pid := readPIDIfAny(pidFile); pid == 0 || pid == before {
				return false
			}
			return query(t, http.MethodGet, "/movies?size=1").Status == http.StatusOK
		})
		t.Logf("%s: killed, restarted and answering again in %s", name, took.Round(time.Millisecond))
	}
	logged, _ := os.ReadFile(stack.log)
	for _, name := range []string{"process=movie-query ", "process=movie-query-daprd "} {
		found := false
		for line := range strings.Lines(string(logged)) {
			found = found || strings.Contains(line, `msg="process crashed, restarting" `+name)
		}
		if !found {
			t.Errorf("devstack log does not record the crash of %s", name)
		}
	}
}

func readPID(t *testing.T, file string) int {
	t.Helper()
	pid := readPIDIfAny(file)
	if pid == 0 {
		t.Fatalf("no pid in %s", file)
	}
	return pid
}

func readPIDIfAny(file string) int {
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	return pid
}
