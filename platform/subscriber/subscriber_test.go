package subscriber_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"tenflix/platform/httpserver"
	"tenflix/platform/subscriber"
	"tenflix/platform/tracecontext"
)

const (
	eventTrace    = "4bf92f3577b34da6a3ce929d0e0e4736"
	eventParent   = "00-" + eventTrace + "-00f067aa0ba902b7-01"
	deliveryTrace = "0af7651916cd43dd8448eb211c80319c"
	// What daprd's callback sets on the delivery request.
	deliveryParent = "00-" + deliveryTrace + "-b7ad6b7169203331-01"
)

// deliver posts body to a subscription route served by the house engine,
// whose handler answers result; it returns Dapr's status, the trace the
// handler's context carried and the subscriber's log lines.
func deliver(t *testing.T, body string, result error) (string, tracecontext.Span, []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	var seen tracecontext.Span
	r := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler)})
	r.POST("/events", subscriber.Handle(slog.New(slog.NewJSONHandler(&buf, nil)), func(ctx context.Context, _ subscriber.Event) error {
		seen, _ = tracecontext.FromContext(ctx)
		return result
	}))
	req := httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("Traceparent", deliveryParent)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	var st struct{ Status string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &st) != nil {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return st.Status, seen, lines
}

func cloudEvent(attrs string) string {
	return `{"id":"e-1","type":"tenflix.catalog.movie.created.v1","topic":"catalog","data":{}` + attrs + `}`
}

func TestEventLinesCarryTheEventsTrace(t *testing.T) {
	for _, tc := range []struct {
		name, attrs string
		result      error
		status, msg string
	}{
		{"handled", `,"traceparent":"` + eventParent + `","traceid":"` + eventParent + `"`, nil, "SUCCESS", "event handled"},
		{"dropped", `,"traceparent":"` + eventParent + `"`, fmt.Errorf("%w: unknown type", subscriber.ErrDrop), "DROP", "event dropped"},
		{"failed", `,"traceparent":"` + eventParent + `"`, errors.New("database down"), "RETRY", "event failed, will be redelivered"},
		// daprd 1.14's outbox: an empty traceparent, the writer's trace in traceid.
		{"outbox", `,"traceparent":"","traceid":"` + eventParent + `","tracestate":""`, nil, "SUCCESS", "event handled"},
		{"traceparent wins", `,"traceparent":"` + eventParent + `","traceid":"` + deliveryParent + `"`, nil, "SUCCESS", "event handled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, seen, lines := deliver(t, cloudEvent(tc.attrs), tc.result)
			if status != tc.status {
				t.Fatalf("status %s, want %s", status, tc.status)
			}
			if len(lines) != 1 || lines[0]["msg"] != tc.msg || lines[0]["event_id"] != "e-1" {
				t.Fatalf("log lines %v, want one %q", lines, tc.msg)
			}
			if lines[0]["trace_id"] != eventTrace || seen.TraceIDString() != eventTrace {
				t.Fatalf("trace_id %v, handler's context %s: want the event's %s", lines[0]["trace_id"], seen.TraceIDString(), eventTrace)
			}
			if lines[0]["span_id"] != seen.SpanIDString() {
				t.Fatalf("span_id %v, handler's %s", lines[0]["span_id"], seen.SpanIDString())
			}
		})
	}
}

func TestEventWithoutValidTraceKeepsTheDeliverysTrace(t *testing.T) {
	for name, attrs := range map[string]string{
		"none":          ``,
		"malformed":     `,"traceparent":"00-xyz","traceid":"not a trace"`,
		"not a string":  `,"traceparent":42,"traceid":{"a":1}`,
		"zero trace id": `,"traceparent":"00-00000000000000000000000000000000-00f067aa0ba902b7-01"`,
	} {
		t.Run(name, func(t *testing.T) {
			status, seen, lines := deliver(t, cloudEvent(attrs), nil)
			if status != "SUCCESS" {
				t.Fatalf("status %s: a bad trace attribute must not lose the event", status)
			}
			if lines[0]["trace_id"] != deliveryTrace || seen.TraceIDString() != deliveryTrace {
				t.Fatalf("trace_id %v, handler's %s: want the delivery's %s", lines[0]["trace_id"], seen.TraceIDString(), deliveryTrace)
			}
		})
	}
}

func TestUndecodableEventIsLoggedWithTheDeliverysTrace(t *testing.T) {
	status, _, lines := deliver(t, `{"id":`, nil)
	if status != "DROP" || len(lines) != 1 || lines[0]["msg"] != "undecodable cloudevent dropped" || lines[0]["trace_id"] != deliveryTrace {
		t.Fatalf("status %s, lines %v", status, lines)
	}
}

// A route mounted outside the house engine has no request trace: the event
// still gets one.
func TestEventOutsideTheEngineGetsATrace(t *testing.T) {
	var buf bytes.Buffer
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/events", subscriber.Handle(slog.New(slog.NewJSONHandler(&buf, nil)), func(context.Context, subscriber.Event) error { return nil }))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(cloudEvent(""))))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if id, _ := line["trace_id"].(string); len(id) != 32 {
		t.Fatalf("trace_id %v", line["trace_id"])
	}
}
