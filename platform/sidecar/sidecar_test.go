package sidecar_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"tenflix/platform/sidecar"
	"tenflix/platform/tracecontext"
)

// The outbox puts the trace of the transaction's request in the event, so
// the client sends the context's trace to daprd.
func TestTransactSendsTheContextsTrace(t *testing.T) {
	got := make(chan []string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Values("Traceparent")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := sidecar.New(port, "")

	span := tracecontext.New()
	if err := c.Transact(tracecontext.NewContext(t.Context(), span), "state", nil); err != nil {
		t.Fatal(err)
	}
	if v := <-got; len(v) != 1 || v[0] != span.Traceparent() {
		t.Fatalf("traced context: sidecar got traceparent %q, want %q", v, span.Traceparent())
	}
	if err := c.Transact(context.Background(), "state", nil); err != nil {
		t.Fatal(err)
	}
	if v := <-got; len(v) != 0 {
		t.Fatalf("untraced context: sidecar got traceparent %q", v)
	}
}
