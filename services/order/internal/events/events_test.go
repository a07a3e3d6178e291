package events_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"tenflix/platform/subscriber"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/app/apptest"
	"tenflix/services/order/internal/events"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
)

const id1 = "0b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"

var now = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, status string, refund bool) (*events.Handlers, *apptest.Store) {
	t.Helper()
	s := apptest.New()
	s.Put(&orderv1.Order{
		Id: id1, UserId: "u1", Status: status, RefundRequested: refund, Price: 50000,
		Timeline:  []*orderv1.Step{{Name: orders.StepCreated, At: orders.Stamp(now)}},
		CreatedAt: orders.Stamp(now), UpdatedAt: orders.Stamp(now), Version: 2,
	})
	a := app.New(app.Options{State: s, Reads: s, Now: func() time.Time { return now.Add(time.Minute) }})
	return events.New(a, slog.New(slog.NewTextHandler(io.Discard, nil))), s
}

// event is a CloudEvent as daprd delivers an outbox event: data the
// document's protojson.
func event(eventType, data string) subscriber.Event {
	return subscriber.Event{ID: "e1", Type: eventType, Data: json.RawMessage(data)}
}

func paymentData(orderID, extra string) string {
	return `{"orderId":"` + orderID + `","userId":"u1","amount":"50000","status":"PAID","version":"3"` + extra + `}`
}

func lastEvent(s *apptest.Store) string {
	c := s.Commits()
	if len(c) == 0 {
		return ""
	}
	return c[len(c)-1].EventType
}

func TestPaymentEventsMoveTheOrder(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name       string
		status     string
		refund     bool
		handle     func(*events.Handlers) subscriber.Handler
		eventType  string
		data       string
		wantStatus string
		wantEvent  string
		wantReason string
	}{
		{"requested", orderv1.StatusPending, false, func(h *events.Handlers) subscriber.Handler { return h.PaymentRequested },
			paymentv1.EventRequested, paymentData(id1, `,"snapToken":"t"`), orderv1.StatusPending, orderv1.EventPaymentRequested, ""},
		{"paid", orderv1.StatusPending, false, func(h *events.Handlers) subscriber.Handler { return h.PaymentPaid },
			paymentv1.EventPaid, paymentData(id1, `,"someNewField":1`), orderv1.StatusPaid, orderv1.EventPaid, ""},
		{"paid after cancel", orderv1.StatusCancelled, false, func(h *events.Handlers) subscriber.Handler { return h.PaymentPaid },
			paymentv1.EventPaid, paymentData(id1, ""), orderv1.StatusCancelled, orderv1.EventRefundRequested, ""},
		{"cancelled", orderv1.StatusPending, false, func(h *events.Handlers) subscriber.Handler { return h.PaymentCancelled },
			paymentv1.EventCancelled, paymentData(id1, `,"transactionStatus":"expire"`), orderv1.StatusCancelled, orderv1.EventCancelled, "payment-expire"},
		{"cancelled with a reason", orderv1.StatusPending, false, func(h *events.Handlers) subscriber.Handler { return h.PaymentCancelled },
			paymentv1.EventCancelled, paymentData(id1, `,"reason":"fraud challenge"`), orderv1.StatusCancelled, orderv1.EventCancelled, "fraud challenge"},
		{"refunded", orderv1.StatusPaid, true, func(h *events.Handlers) subscriber.Handler { return h.PaymentRefunded },
			paymentv1.EventRefunded, paymentData(id1, ""), orderv1.StatusRefunded, orderv1.EventRefunded, ""},
		{"refund failed", orderv1.StatusPaid, true, func(h *events.Handlers) subscriber.Handler { return h.PaymentRefundFailed },
			paymentv1.EventRefundFailed, paymentData(id1, `,"reason":"gopay cannot be refunded"`), orderv1.StatusRefundFailed, orderv1.EventRefundFailed, "gopay cannot be refunded"},
		{"granted", orderv1.StatusPaid, false, func(h *events.Handlers) subscriber.Handler { return h.SubscriptionGranted },
			subscriptionv1.EventGranted, `{"id":"` + id1 + `","orderId":"` + id1 + `","userId":"u1","status":"ACTIVE","version":"1"}`,
			orderv1.StatusCompleted, orderv1.EventCompleted, ""},
		{"granted, order id in id only", orderv1.StatusPaid, false, func(h *events.Handlers) subscriber.Handler { return h.SubscriptionGranted },
			subscriptionv1.EventGranted, `{"id":"` + id1 + `","userId":"u1"}`, orderv1.StatusCompleted, orderv1.EventCompleted, ""},
		{"refused", orderv1.StatusPaid, false, func(h *events.Handlers) subscriber.Handler { return h.SubscriptionRefused },
			subscriptionv1.EventRefused, `{"orderId":"` + id1 + `","userId":"u1","reason":"active-subscription-exists","version":"1"}`,
			orderv1.StatusPaid, orderv1.EventRefundRequested, "active-subscription-exists"},
		{"refused again re-announces", orderv1.StatusPaid, true, func(h *events.Handlers) subscriber.Handler { return h.SubscriptionRefused },
			subscriptionv1.EventRefused, `{"orderId":"` + id1 + `","reason":"plan-inactive"}`, orderv1.StatusPaid, orderv1.EventRefundRequested, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, s := setup(t, c.status, c.refund)
			if err := c.handle(h)(ctx, event(c.eventType, c.data)); err != nil {
				t.Fatal(err)
			}
			o := s.Order(id1)
			if o.GetStatus() != c.wantStatus || lastEvent(s) != c.wantEvent || o.GetVersion() != 3 {
				t.Fatalf("order %s v%d, published %q; want %s, %q", o.GetStatus(), o.GetVersion(), lastEvent(s), c.wantStatus, c.wantEvent)
			}
			if c.wantReason != "" && o.GetReason() != c.wantReason {
				t.Fatalf("reason %q, want %q", o.GetReason(), c.wantReason)
			}
		})
	}
}

func TestEventDataEncodings(t *testing.T) {
	data := paymentData(id1, "")
	quoted, _ := json.Marshal(data)
	for name, ev := range map[string]subscriber.Event{
		"object":      event(paymentv1.EventPaid, data),
		"JSON string": event(paymentv1.EventPaid, string(quoted)),
		"base64":      {Type: paymentv1.EventPaid, DataBase64: base64.StdEncoding.EncodeToString([]byte(data))},
	} {
		t.Run(name, func(t *testing.T) {
			h, s := setup(t, orderv1.StatusPending, false)
			if err := h.PaymentPaid(context.Background(), ev); err != nil || s.Order(id1).GetStatus() != orderv1.StatusPaid {
				t.Fatalf("err %v, order %v", err, s.Order(id1))
			}
		})
	}
}

func TestEventsThatCanNeverApplyAreDropped(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		status string
		ev     subscriber.Event
	}{
		"wrong type for the route": {orderv1.StatusPending, event(paymentv1.EventCancelled, paymentData(id1, ""))},
		"no type":                  {orderv1.StatusPending, event("", paymentData(id1, ""))},
		"no data":                  {orderv1.StatusPending, event(paymentv1.EventPaid, ``)},
		"null data":                {orderv1.StatusPending, event(paymentv1.EventPaid, `null`)},
		"not protojson":            {orderv1.StatusPending, event(paymentv1.EventPaid, `{"orderId":5}`)},
		"bad base64":               {orderv1.StatusPending, subscriber.Event{Type: paymentv1.EventPaid, DataBase64: "%%%"}},
		"no order id":              {orderv1.StatusPending, event(paymentv1.EventPaid, `{"status":"PAID"}`)},
		"order id not a uuid":      {orderv1.StatusPending, event(paymentv1.EventPaid, paymentData("order-1", ""))},
		"unknown order":            {orderv1.StatusPending, event(paymentv1.EventPaid, paymentData("1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", ""))},
		"refund nobody asked for":  {orderv1.StatusPaid, event(paymentv1.EventRefunded, paymentData(id1, ""))},
	} {
		t.Run(name, func(t *testing.T) {
			h, s := setup(t, c.status, false)
			handle := h.PaymentPaid
			if c.ev.Type == paymentv1.EventRefunded {
				handle = h.PaymentRefunded
			}
			if err := handle(ctx, c.ev); !errors.Is(err, subscriber.ErrDrop) {
				t.Fatalf("err = %v, want a drop", err)
			}
			if len(s.Commits()) != 0 {
				t.Fatal("a dropped event wrote")
			}
		})
	}
	h, _ := setup(t, orderv1.StatusPending, false)
	if err := h.SubscriptionGranted(ctx, event(subscriptionv1.EventGranted, `{"id":"`+id1+`"}`)); !errors.Is(err, subscriber.ErrDrop) {
		t.Fatalf("granted for a PENDING order: %v, want a drop", err)
	}
}

func TestLateEventsSucceedWithoutAWrite(t *testing.T) {
	h, s := setup(t, orderv1.StatusCompleted, false)
	ctx := context.Background()
	for i, handle := range []func(context.Context, subscriber.Event) error{h.PaymentRequested, h.PaymentPaid, h.PaymentCancelled} {
		types := []string{paymentv1.EventRequested, paymentv1.EventPaid, paymentv1.EventCancelled}
		if err := handle(ctx, event(types[i], paymentData(id1, ""))); err != nil {
			t.Fatalf("%s: %v", types[i], err)
		}
	}
	if err := h.SubscriptionGranted(ctx, event(subscriptionv1.EventGranted, `{"orderId":"`+id1+`"}`)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Commits()); n != 0 {
		t.Fatalf("%d writes for late events", n)
	}
}

func TestStoreFailuresAreRetried(t *testing.T) {
	h, s := setup(t, orderv1.StatusPending, false)
	s.FailNext(100)
	err := h.PaymentPaid(context.Background(), event(paymentv1.EventPaid, paymentData(id1, "")))
	if err == nil || errors.Is(err, subscriber.ErrDrop) || !errors.Is(err, orders.ErrConflict) {
		t.Fatalf("err = %v, want a retry", err)
	}
	if v := s.Order(id1).GetVersion(); v != 2 {
		t.Fatalf("version %s", strconv.FormatInt(v, 10))
	}
}
