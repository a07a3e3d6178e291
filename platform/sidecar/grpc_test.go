package sidecar_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"tenflix/platform/sidecar"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/platform/tracecontext"
)

func TestSecretOverGRPC(t *testing.T) {
	fake := sidecartest.New(t, map[string]string{"db": "postgres://x"})
	c := fake.Client(t, "dapr-token")
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Secret(t.Context(), "secretstore", "db"); err != nil || v != "postgres://x" {
		t.Fatalf("Secret = %q, %v", v, err)
	}
	if _, err := c.Secret(t.Context(), "secretstore", "missing"); !errors.Is(err, sidecar.ErrNotFound) {
		t.Fatalf("missing secret: err = %v, want ErrNotFound", err)
	}
}

// The relay's CloudEvent keeps its content type, so daprd keeps its id and type.
func TestPublishOverGRPCSendsTokenAndContentType(t *testing.T) {
	fake := sidecartest.New(t, nil)
	c := fake.Client(t, "dapr-token")
	ev := map[string]string{"id": "e1", "type": "t"}
	h := http.Header{"Content-Type": {"application/cloudevents+json"}}
	if err := c.Publish(t.Context(), "pubsub", "users", ev, h); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(t.Context(), "pubsub", "users", ev, nil); err != nil {
		t.Fatal(err)
	}
	got := fake.Published()
	if len(got) != 2 || got[0].Token != "dapr-token" || got[0].Topic != "users" || got[0].PubSub != "pubsub" ||
		got[0].ContentType != "application/cloudevents+json" || got[1].ContentType != "application/json" {
		t.Fatalf("published %+v", got)
	}
	var data map[string]string
	if err := json.Unmarshal(got[0].Data, &data); err != nil || data["id"] != "e1" {
		t.Fatalf("data %s: %v", got[0].Data, err)
	}
	fake.FailPublishes(1)
	if err := c.Publish(t.Context(), "pubsub", "users", ev, h); err == nil {
		t.Fatal("publish during an outage: err = nil")
	}
}

func TestInvokeJSONOverGRPC(t *testing.T) {
	fake := sidecartest.New(t, nil)
	fake.HandleInvoke(func(inv sidecartest.Invoked) (int, []byte) {
		if inv.Query == "after=bad" {
			return http.StatusBadRequest, []byte(`{"error":{"code":"invalid"}}`)
		}
		if inv.Verb == "POST" {
			if inv.ContentType != "application/json" || string(inv.Body) != `{"planId":"p1"}` {
				return http.StatusBadRequest, []byte("bad body")
			}
			return http.StatusConflict, []byte(`{"error":{"code":"order_pending","message":"` + strings.Repeat("x", 100) + `"}}`)
		}
		return http.StatusOK, []byte(`{"n":1}`)
	})
	c := fake.Client(t, "dapr-token")
	var out struct{ N int }
	if err := c.InvokeJSON(t.Context(), http.MethodGet, "movie-command", "/internal/x?after=a&limit=2", nil, &out); err != nil || out.N != 1 {
		t.Fatalf("InvokeJSON = %+v, %v", out, err)
	}
	inv := fake.Invoked()[0]
	if inv.AppID != "movie-command" || inv.Method != "internal/x" || inv.Verb != "GET" || inv.Query != "after=a&limit=2" || inv.Token != "dapr-token" {
		t.Fatalf("invoked %+v", inv)
	}
	err := c.InvokeJSON(t.Context(), http.MethodGet, "movie-command", "/internal/x?after=bad", nil, &out)
	var apiErr *sidecar.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Message != `{"error":{"code":"invalid"}}` || apiErr.Code() != "invalid" {
		t.Fatalf("a 400 answer: err = %v", err)
	}
	// A body goes as JSON; the callee's envelope code survives daprd's
	// 63-byte cut of its error body.
	err = c.InvokeJSON(t.Context(), http.MethodPost, "order", "/internal/orders", map[string]string{"planId": "p1"}, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Code() != "order_pending" {
		t.Fatalf("a 409 answer: err = %v", err)
	}
}

func TestGRPCCallsCarryTheContextsTrace(t *testing.T) {
	fake := sidecartest.New(t, map[string]string{"k": "v"})
	c := fake.Client(t, "")
	span := tracecontext.New()
	if _, err := c.Secret(tracecontext.NewContext(t.Context(), span), "s", "k"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Traceparents(); len(got) != 1 || got[0] != span.Traceparent() {
		t.Fatalf("traceparents %q, want %q", got, span.Traceparent())
	}
}

func TestHTTPOnlyClientRefusesGRPCCalls(t *testing.T) {
	c := sidecar.New("1", "")
	if _, err := c.Secret(t.Context(), "s", "k"); !errors.Is(err, sidecar.ErrNoGRPC) {
		t.Fatalf("err = %v", err)
	}
}
