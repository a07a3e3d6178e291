package subscription_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/order-aggregator/internal/remote"
	"tenflix/services/order-aggregator/internal/subscription"
)

func newClient(t *testing.T, answer sidecartest.InvokeFunc) (*subscription.Client, *sidecartest.Sidecar) {
	t.Helper()
	sc := sidecartest.New(t, nil)
	sc.HandleInvoke(answer)
	return subscription.New(sc.Client(t, "dapr-token"), "subs"), sc
}

func TestPlan(t *testing.T) {
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		if inv.Method == "internal/plans/gone" {
			return 404, []byte(`{"error":{"code":"not_found","message":"plan gone not found, and more text than 63 bytes"}}`)
		}
		// protojson: int64 as strings, and a field this client does not know.
		return 200, []byte(`{"id":"monthly","name":"Monthly","price":"59000","discountPrice":"49000","activePeriod":30,"active":true,"version":"2","futureField":1}`)
	})
	p, err := c.Plan(context.Background(), "monthly")
	if err != nil || p.GetPrice() != 59000 || p.GetDiscountPrice() != 49000 || !p.GetActive() || p.GetActivePeriod() != 30 {
		t.Fatalf("Plan = %v, %v", p, err)
	}
	inv := sc.Invoked()[0]
	if inv.AppID != "subs" || inv.Verb != "GET" || inv.Method != "internal/plans/monthly" || inv.Token != "dapr-token" || len(inv.Body) != 0 {
		t.Errorf("invocation %+v", inv)
	}
	if _, err := c.Plan(context.Background(), "gone"); !remote.IsNotFound(err) {
		t.Errorf("missing plan: %v, want a 404 refusal", err)
	}
	if _, err := c.Plan(context.Background(), "a b/c"); err != nil {
		t.Fatal(err)
	}
	if got := sc.Invoked()[2].Method; got != "internal/plans/a%20b%2Fc" {
		t.Errorf("path = %q, want the id escaped", got)
	}
}

func TestEntitled(t *testing.T) {
	answers := map[string]string{
		"u-yes":     `{"userId":"u-yes","entitled":true,"subscription":{"id":"o1","endAt":"2025-04-01T00:00:00Z","version":"1"}}`,
		"u-no":      `{"userId":"u-no","entitled":false,"subscription":null}`,
		"u-missing": `{"userId":"u-missing"}`,
		"u-garbage": `not json`,
	}
	c, _ := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		if inv.Method == "internal/entitlements/u-down" {
			return 503, []byte(`{"error":{"code":"unavailable","message":"x"}}`)
		}
		return 200, []byte(answers[strings.TrimPrefix(inv.Method, "internal/entitlements/")])
	})
	ctx := context.Background()
	if ok, err := c.Entitled(ctx, "u-yes"); !ok || err != nil {
		t.Errorf("u-yes: %v %v", ok, err)
	}
	if ok, err := c.Entitled(ctx, "u-no"); ok || err != nil {
		t.Errorf("u-no: %v %v", ok, err)
	}
	// An answer that does not say is no answer: the caller must fail closed.
	for _, u := range []string{"u-missing", "u-garbage", "u-down"} {
		if _, err := c.Entitled(ctx, u); !errors.Is(err, remote.ErrUnavailable) {
			t.Errorf("%s: err = %v, want unavailable", u, err)
		}
	}
}

func TestOutcome(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"o-granted": {200, `{"subscription":{"id":"o-granted","userId":"u1","planId":"monthly","status":"ACTIVE","version":"1"}}`},
		"o-refused": {200, `{"refusal":{"orderId":"o-refused","reason":"plan-inactive","at":"2025-03-01T00:00:00Z","version":"1"}}`},
		"o-none":    {404, `{"error":{"code":"not_found","message":"neither yet"}}`},
		"o-empty":   {200, `{"subscription":null}`},
	}
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		id := strings.TrimSuffix(strings.TrimPrefix(inv.Method, "internal/orders/"), "/subscription")
		return answers[id].status, []byte(answers[id].body)
	})
	ctx := context.Background()
	s, r, err := c.Outcome(ctx, "o-granted")
	if err != nil || r != nil || s.GetStatus() != "ACTIVE" || s.GetVersion() != 1 {
		t.Errorf("granted: %v %v %v", s, r, err)
	}
	if sc.Invoked()[0].Method != "internal/orders/o-granted/subscription" || sc.Invoked()[0].Verb != http.MethodGet {
		t.Errorf("invocation %+v", sc.Invoked()[0])
	}
	s, r, err = c.Outcome(ctx, "o-refused")
	if err != nil || s != nil || r.GetReason() != "plan-inactive" {
		t.Errorf("refused: %v %v %v", s, r, err)
	}
	if _, _, err := c.Outcome(ctx, "o-none"); !remote.IsNotFound(err) {
		t.Errorf("none: %v, want 404", err)
	}
	if _, _, err := c.Outcome(ctx, "o-empty"); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("empty answer: %v, want unavailable", err)
	}
}
