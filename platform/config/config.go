// Package config reads a service's settings from the environment once, at
// start, into typed values, and says how those settings may be logged.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tenflix/platform/tracecontext"
)

// Env looks up variables; tests pass a map's lookup instead of os.Getenv.
type Env func(string) string

// Reader collects missing or malformed variables so that a service reports
// all of them at once. A getter that meets a malformed value records the
// problem and returns its default, so that checks across settings still see
// sane values.
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

// Int returns the variable as a whole number from lo to hi, or def when
// unset. math.MaxInt as hi means no upper bound.
func (r *Reader) Int(name string, def, lo, hi int) int {
	v := r.env(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.invalid(name, describe("whole number", lo, hi, math.MaxInt, strconv.Itoa), v)
		return def
	}
	return n
}

// Port returns the variable as a TCP port number, or def when unset.
func (r *Reader) Port(name string, def int) int {
	v := r.env(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		r.invalid(name, "a port number (1-65535)", v)
		return def
	}
	return n
}

// Duration returns the variable as a duration from lo to hi, or def when
// unset. It takes Go's units (90s, 15m, 720h) and whole days (30d), since
// token lifetimes are thought of in days. math.MaxInt64 as hi means no upper
// bound.
func (r *Reader) Duration(name string, def, lo, hi time.Duration) time.Duration {
	v := r.env(name)
	if v == "" {
		return def
	}
	d, err := parseDuration(v)
	if err != nil || d < lo || d > hi {
		r.invalid(name, describe("duration", lo, hi, math.MaxInt64, time.Duration.String)+" (like 30s, 15m or 30d)", v)
		return def
	}
	return d
}

// List returns the variable's comma-separated items, trimmed, empty ones
// dropped, or def when unset.
func (r *Reader) List(name string, def []string) []string {
	v := r.env(name)
	if v == "" {
		return slices.Clone(def)
	}
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// Check records the message when ok is false: for rules that span settings
// or that no getter knows (REFRESH_TOKEN_TTL must be longer than
// ACCESS_TOKEN_TTL).
func (r *Reader) Check(ok bool, format string, args ...any) {
	if !ok {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}
}

// Err reports every problem seen.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %s", strings.Join(r.errs, "; "))
}

func (r *Reader) invalid(name, want, got string) {
	r.errs = append(r.errs, fmt.Sprintf("%s must be %s, got %q", name, want, got))
}

// describe says what a bounded setting wants: "a positive duration", "a
// whole number of at least 0", "a whole number from 1 to 1024".
func describe[T int | time.Duration](noun string, lo, hi, unbounded T, format func(T) string) string {
	switch {
	case hi == unbounded && lo == 1:
		return "a positive " + noun
	case hi == unbounded:
		return "a " + noun + " of at least " + format(lo)
	}
	return "a " + noun + " from " + format(lo) + " to " + format(hi)
}

// parseDuration is time.ParseDuration plus whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > math.MaxInt64/int(24*time.Hour) {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// Secret is how a secret setting (a token, a password) appears in a
// settings struct's LogValue: "<key>_set", whether it is set, never its value.
func Secret(key, value string) slog.Attr { return slog.Bool(key+"_set", value != "") }

// URL is how a URL setting appears in a settings struct's LogValue: with
// its password and every query value replaced by "xxxxx" (database URLs
// carry credentials there too, e.g. ?password=), and not at all unless it is
// a URL with a scheme and a host: url.Parse accepts almost anything, a
// key=value connection string included, whose password it cannot find.
func URL(key, raw string) slog.Attr {
	if raw == "" {
		return slog.String(key, "")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return slog.String(key, "(not a URL)")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		u.RawQuery = q.Encode()
	}
	return slog.String(key, u.Redacted())
}

// LogLevel returns the variable (or def) when slog knows it as a level
// (debug, info, warn, error, optionally with +N/-N), and records an error
// otherwise: a misspelt level would silently log at info.
func (r *Reader) LogLevel(name, def string) string {
	v := r.String(name, def)
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.errs = append(r.errs, fmt.Sprintf("%s must be a log level (debug, info, warn, error), got %q", name, v))
		return def
	}
	return v
}

// NewLogger is the JSON slog logger every service uses, tagged with its name.
func NewLogger(w io.Writer, service, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(tracecontext.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))).With("service", service)
}
