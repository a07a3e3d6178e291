package tracecontext_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"tenflix/platform/tracecontext"
)

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestParse(t *testing.T) {
	s, ok := tracecontext.Parse(valid)
	if !ok {
		t.Fatalf("Parse(%q) refused", valid)
	}
	if s.TraceIDString() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.SpanIDString() != "00f067aa0ba902b7" || s.Flags != 1 {
		t.Fatalf("Parse(%q) = %s %s %x", valid, s.TraceIDString(), s.SpanIDString(), s.Flags)
	}
	if got := s.Traceparent(); got != valid {
		t.Fatalf("Traceparent() = %q, want %q", got, valid)
	}
	if s, ok := tracecontext.Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"); !ok || s.Flags != 0 {
		t.Fatalf("unsampled trace refused or flags lost: %v %x", ok, s.Flags)
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	for name, v := range map[string]string{
		"empty":             "",
		"version ff":        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"version 01":        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"upper case":        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"zero trace id":     "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"zero parent id":    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"short trace id":    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
		"long parent id":    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b70-01",
		"missing flags":     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
		"trailing data":     valid + "-extra",
		"not hex":           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"not hex flags":     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
		"wrong separator":   "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"spaces":            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
		"dashes in the id":  "00-4bf92f3577b34da6-3ce929d0e0e4736-00f067aa0ba902b7-01",
		"only separators":   strings.Repeat("-", 55),
		"sign in a hex run": "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		if _, ok := tracecontext.Parse(v); ok {
			t.Errorf("%s: Parse(%q) accepted", name, v)
		}
	}
}

func TestNewAndChild(t *testing.T) {
	a, b := tracecontext.New(), tracecontext.New()
	if a.TraceID == b.TraceID || a.SpanID == b.SpanID {
		t.Fatal("two new traces share an id")
	}
	if _, ok := tracecontext.Parse(a.Traceparent()); !ok {
		t.Fatalf("new trace's traceparent %q does not parse", a.Traceparent())
	}
	c := a.Child()
	if c.TraceID != a.TraceID || c.Flags != a.Flags || c.SpanID == a.SpanID {
		t.Fatalf("child %s of %s: want the same trace, a new span", c.Traceparent(), a.Traceparent())
	}
}

func logLines(t testing.TB, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestLogHandlerAddsTheContextsTrace(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracecontext.LogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "test")
	span, _ := tracecontext.Parse(valid)
	ctx := tracecontext.NewContext(t.Context(), span)

	log.InfoContext(ctx, "with trace")
	log.InfoContext(t.Context(), "without trace")
	log.With(span.Child().LogAttrs()...).InfoContext(ctx, "scoped logger")

	lines := logLines(t, &buf)
	if lines[0]["trace_id"] != span.TraceIDString() || lines[0]["span_id"] != span.SpanIDString() {
		t.Errorf("line with a traced context: %v", lines[0])
	}
	if _, ok := lines[1]["trace_id"]; ok {
		t.Errorf("line without a trace got one: %v", lines[1])
	}
	// Once per line: a logger that carries a trace_id is not given a second.
	if n := strings.Count(buf.String(), `"trace_id"`); n != 2 {
		t.Errorf("%d trace_id keys in %s, want 2", n, buf.String())
	}
}
