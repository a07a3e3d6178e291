package logtest_test

import (
	"strings"
	"sync"
	"testing"

	"tenflix/platform/config"
	"tenflix/platform/logtest"
)

// Run with -race: loggers on many goroutines and a reader at once.
func TestBufferTakesConcurrentWritesAndReads(t *testing.T) {
	var logs logtest.Buffer
	log := config.NewLogger(&logs, "test", "info")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				log.Info("line")
				_ = logs.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(logs.String(), "\n"); n != 400 {
		t.Fatalf("%d lines, want 400", n)
	}
}
