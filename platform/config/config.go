// Package config reads a service's settings from the environment once, at
// start, into typed values.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"tenflix/platform/tracecontext"
)

// Env looks up variables; tests pass a map's lookup instead of os.Getenv.
type Env func(string) string

// Reader collects missing or malformed variables so that a service reports
// all of them at once.
type Reader struct {
	env  Env
	errs []string
}

// NewReader reads from env.
func NewReader(env Env) *Reader { return &Reader{env: env} }

// String returns the variable or def when unset.
func (r *Reader) String(name, def string) string {
	if v := r.env(name); v != "" {
		return v
	}
	return def
}

// Required returns the variable and records an error when it is unset.
func (r *Reader) Required(name string) string {
	v := r.env(name)
	if v == "" {
		r.errs = append(r.errs, name+" is required")
	}
	return v
}

// Err reports every problem seen.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %s", strings.Join(r.errs, "; "))
}

// NewLogger is the JSON slog logger every service uses, tagged with its name.
func NewLogger(w io.Writer, service, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(tracecontext.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))).With("service", service)
}
