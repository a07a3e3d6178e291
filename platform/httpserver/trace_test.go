package httpserver_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"tenflix/platform/httpserver"
	"tenflix/platform/tracecontext"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// tracedEngine logs one line through LoggerFrom in its /traced route and
// answers the trace its handler found in the request's context.
func tracedEngine(tb testing.TB) (http.Handler, *bytes.Buffer) {
	tb.Helper()
	var buf bytes.Buffer
	r := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	r.GET("/traced", func(c *gin.Context) {
		httpserver.LoggerFrom(c).InfoContext(c, "handler line")
		span, _ := tracecontext.FromContext(c.Request.Context())
		c.String(http.StatusOK, span.Traceparent())
	})
	return r, &buf
}

func logLines(tb testing.TB, buf *bytes.Buffer) []map[string]any {
	tb.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// serveTraced serves GET /traced with the given traceparent headers and
// returns the span the handler saw and the two log lines (handler, access).
func serveTraced(t *testing.T, headers ...string) (tracecontext.Span, []map[string]any) {
	t.Helper()
	h, buf := tracedEngine(t)
	req := httptest.NewRequest(http.MethodGet, "/traced", nil)
	for _, v := range headers {
		req.Header.Add("Traceparent", v)
	}
	rec := serve(h, req)
	span, ok := tracecontext.Parse(rec.Body.String())
	if rec.Code != http.StatusOK || !ok {
		t.Fatalf("status %d, handler's trace %q", rec.Code, rec.Body)
	}
	lines := logLines(t, buf)
	if len(lines) != 2 || lines[0]["msg"] != "handler line" || lines[1]["msg"] != "http request" {
		t.Fatalf("log lines: %v", lines)
	}
	for _, l := range lines {
		if l["trace_id"] != span.TraceIDString() || l["span_id"] != span.SpanIDString() {
			t.Errorf("line %v: want trace_id %s span_id %s", l, span.TraceIDString(), span.SpanIDString())
		}
	}
	return span, lines
}

func TestRequestContinuesTheCallersTrace(t *testing.T) {
	span, _ := serveTraced(t, traceparent)
	if got := span.TraceIDString(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace_id %s, want the caller's", got)
	}
	if span.SpanIDString() == "00f067aa0ba902b7" {
		t.Fatal("the service's span is the caller's: want a child span")
	}
}

func TestRequestWithoutValidTraceStartsOne(t *testing.T) {
	for name, headers := range map[string][]string{
		"none":          nil,
		"malformed":     {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"},
		"zero trace id": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		"two headers":   {traceparent, traceparent},
	} {
		t.Run(name, func(t *testing.T) {
			span, _ := serveTraced(t, headers...)
			if span.TraceIDString() == "4bf92f3577b34da6a3ce929d0e0e4736" || span.TraceIDString() == strings.Repeat("0", 32) {
				t.Fatalf("trace_id %s taken from an invalid traceparent", span.TraceIDString())
			}
		})
	}
}
