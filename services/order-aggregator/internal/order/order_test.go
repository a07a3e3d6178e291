package order_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/sidecar/sidecartest"
	orderv1 "tenflix/proto/order/v1"
	"tenflix/services/order-aggregator/internal/order"
	"tenflix/services/order-aggregator/internal/remote"
)

const stored = `{"id":"o1","userId":"u1","status":"PENDING","price":"49000","plan":{"id":"monthly","price":"59000","discountPrice":"49000","activePeriod":30},
	"timeline":[{"name":"created","at":"2025-03-01T00:00:00Z"}],"version":"1","newField":true}`

func newClient(t *testing.T, answer sidecartest.InvokeFunc) (*order.Client, *sidecartest.Sidecar) {
	t.Helper()
	sc := sidecartest.New(t, nil)
	sc.HandleInvoke(answer)
	return order.New(sc.Client(t, "dapr-token"), ""), sc
}

func TestCreateSendsProtojson(t *testing.T) {
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) { return 201, []byte(stored) })
	o, err := c.Create(context.Background(), &orderv1.Order{Id: "o1", UserId: "u1", Price: 49000,
		Plan: &orderv1.Plan{Id: "monthly", Price: 59000}, Customer: &orderv1.Customer{UserId: "u1", Name: "N", Email: "e@x"}})
	if err != nil || o.GetStatus() != "PENDING" || o.GetPrice() != 49000 || o.GetVersion() != 1 || len(o.GetTimeline()) != 1 {
		t.Fatalf("Create = %v, %v", o, err)
	}
	inv := sc.Invoked()[0]
	if inv.AppID != order.DefaultAppID || inv.Verb != "POST" || inv.Method != "internal/orders" || inv.ContentType != "application/json" {
		t.Errorf("invocation %+v", inv)
	}
	// The contract's document encoding: protojson, int64 as strings.
	var sent map[string]any
	if err := json.Unmarshal(inv.Body, &sent); err != nil || sent["price"] != "49000" || sent["userId"] != "u1" {
		t.Errorf("body %s", inv.Body)
	}
	back := &orderv1.Order{}
	if err := protojson.Unmarshal(inv.Body, back); err != nil || back.GetCustomer().GetEmail() != "e@x" {
		t.Errorf("body %s is not the order: %v", inv.Body, err)
	}
}

func TestCreateRefusedOrderPending(t *testing.T) {
	c, _ := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		return 409, []byte(`{"error":{"code":"order_pending","message":"the user has an order in flight: pay or cancel it"}}`)
	})
	_, err := c.Create(context.Background(), &orderv1.Order{Id: "o1"})
	if !remote.IsRefusedWith(err, "order_pending") {
		t.Fatalf("err = %v, want the order_pending refusal", err)
	}
}

func TestCalls(t *testing.T) {
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		switch inv.Method {
		case "internal/orders":
			return 200, []byte(`{"items":[` + stored + `,` + stored + `],"page":2,"size":2,"total":"5"}`)
		case "internal/orders/stuck":
			return 200, []byte(`{"items":[` + stored + `]}`)
		case "internal/orders/bad":
			return 200, []byte(`{"id":3}`)
		}
		return 200, []byte(stored)
	})
	ctx := context.Background()
	if err := c.Cancel(ctx, "o1", "payment-unavailable"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MarkRefunded(ctx, "o1", "by bank", "admin-1"); err != nil {
		t.Fatal(err)
	}
	items, total, err := c.List(ctx, "u 1&x", 2, 2)
	if err != nil || len(items) != 2 || total != 5 || items[0].GetPlan().GetDiscountPrice() != 49000 {
		t.Fatalf("List = %v %d %v", items, total, err)
	}
	stuck, err := c.Stuck(ctx, 90*time.Minute)
	if err != nil || len(stuck) != 1 {
		t.Fatalf("Stuck = %v %v", stuck, err)
	}
	if _, err := c.Get(ctx, "bad"); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("an answer that is no order: %v, want unavailable", err)
	}

	inv := sc.Invoked()
	want := []struct{ verb, method, body string }{
		{"POST", "internal/orders/o1/cancel", `{"reason":"payment-unavailable"}`},
		{"GET", "internal/orders/o1", ""},
		{"POST", "internal/orders/o1/mark-refunded", `{"by":"admin-1","note":"by bank"}`},
		{"GET", "internal/orders", ""},
		{"GET", "internal/orders/stuck", ""},
	}
	for i, w := range want {
		if inv[i].Verb != w.verb || inv[i].Method != w.method || string(inv[i].Body) != w.body {
			t.Errorf("call %d = %s %s %s, want %s %s %s", i, inv[i].Verb, inv[i].Method, inv[i].Body, w.verb, w.method, w.body)
		}
	}
	if q, _ := url.ParseQuery(inv[3].Query); q.Get("userId") != "u 1&x" || q.Get("page") != "2" || q.Get("size") != "2" {
		t.Errorf("list query %q", inv[3].Query)
	}
	if q, _ := url.ParseQuery(inv[4].Query); q.Get("olderThan") != "1h30m0s" {
		t.Errorf("stuck query %q", inv[4].Query)
	}
}
