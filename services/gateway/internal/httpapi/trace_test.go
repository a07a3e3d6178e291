package httpapi_test

import (
	"testing"

	"tenflix/platform/tracecontext"
)

const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"

// sentTrace is the traceparent the sidecar got for one request to a public
// route with the given client headers.
func sentTrace(t *testing.T, g *gateway, headers ...string) (tracecontext.Span, []string) {
	t.Helper()
	if rec := g.do("GET", "/.well-known/jwks.json", nil, headers...); rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := g.sidecar.last(t).Header
	v := got.Values("Traceparent")
	if len(v) != 1 {
		t.Fatalf("sidecar got traceparent %q, want one", v)
	}
	span, ok := tracecontext.Parse(v[0])
	if !ok {
		t.Fatalf("sidecar got an invalid traceparent %q", v[0])
	}
	return span, got.Values("Tracestate")
}

func TestProxyContinuesTheClientsTrace(t *testing.T) {
	g := newGateway(t)
	span, state := sentTrace(t, g, "Traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-01", "Tracestate", "vendor=1")
	if span.TraceIDString() != clientTrace || span.SpanIDString() == "00f067aa0ba902b7" {
		t.Fatalf("sidecar got %s: want the client's trace with the gateway's span as parent", span.Traceparent())
	}
	if len(state) != 1 || state[0] != "vendor=1" {
		t.Fatalf("tracestate %q, want the client's", state)
	}
}

func TestProxyStartsATraceForTheClient(t *testing.T) {
	g := newGateway(t)
	for name, headers := range map[string][]string{
		"none":      nil,
		"malformed": {"Traceparent", "00-" + clientTrace + "-00f067aa0ba902b7-zz", "Tracestate", "vendor=1"},
		"zero ids":  {"Traceparent", "00-00000000000000000000000000000000-0000000000000000-01"},
	} {
		t.Run(name, func(t *testing.T) {
			span, state := sentTrace(t, g, headers...)
			if span.TraceIDString() == clientTrace {
				t.Fatalf("sidecar got %s: the client's invalid trace", span.Traceparent())
			}
			if len(state) != 0 {
				t.Fatalf("tracestate %q of an invalid trace forwarded", state)
			}
		})
	}
	first, _ := sentTrace(t, g)
	second, _ := sentTrace(t, g)
	if first.TraceID == second.TraceID {
		t.Fatal("two client requests share a trace")
	}
}
