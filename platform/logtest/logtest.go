// Package logtest helps tests read what a running service logs.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is the writer a test hands to a service's run as its stdout: the
// server's goroutines write log lines while the test reads them, so every
// access is locked (a bytes.Buffer alone is a data race under -race).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; it is how the logger writes.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
