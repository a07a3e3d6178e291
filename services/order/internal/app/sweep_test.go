package app_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/app/apptest"
	"tenflix/services/order/internal/orders"
	"tenflix/services/order/internal/payment"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
)

// The sweep against a stand-in sidecar (sidecartest) that answers payment's
// sync route as payment would, with every kind of waiting order in store.
func TestSweep(t *testing.T) {
	const (
		stillPending    = "a0000000-0000-4000-8000-000000000001"
		noPayment       = "a0000000-0000-4000-8000-000000000002"
		paidMeanwhile   = "a0000000-0000-4000-8000-000000000003"
		cancelledThere  = "a0000000-0000-4000-8000-000000000004"
		paymentDown     = "a0000000-0000-4000-8000-000000000005"
		paid            = "a0000000-0000-4000-8000-000000000006"
		refundAsked     = "a0000000-0000-4000-8000-000000000007"
		paidAfterCancel = "a0000000-0000-4000-8000-000000000008"
		recent          = "a0000000-0000-4000-8000-000000000009"
		completed       = "a0000000-0000-4000-8000-00000000000a"
	)
	sc := sidecartest.New(t, nil)
	sc.HandleInvoke(func(inv sidecartest.Invoked) (int, []byte) {
		id, ok := strings.CutPrefix(inv.Method, "internal/payments/")
		id, sync := strings.CutSuffix(id, "/sync")
		if !ok || !sync || inv.AppID != payment.AppID || inv.Verb != http.MethodPost {
			return http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"no route"}}`)
		}
		payment := func(status, reason string) []byte {
			return []byte(`{"orderId":"` + id + `","amount":"50000","status":"` + status + `","reason":"` + reason + `","version":"3"}`)
		}
		switch id {
		case stillPending:
			return http.StatusOK, payment("PENDING", "")
		case paidMeanwhile:
			return http.StatusOK, payment("PAID", "")
		case cancelledThere:
			return http.StatusOK, payment("CANCELLED", "expire")
		case paymentDown:
			return http.StatusBadGateway, []byte(`{"error":{"code":"bad_gateway","message":"midtrans down"}}`)
		}
		return http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"no payment for this order"}}`)
	})

	s := apptest.New()
	old := now.Add(-5 * time.Minute)
	for i, o := range []struct {
		id, user, status string
		refund           bool
		updated          time.Time
	}{
		{stillPending, "u1", orderv1.StatusPending, false, old},
		{noPayment, "u2", orderv1.StatusPending, false, old},
		{paidMeanwhile, "u3", orderv1.StatusPending, false, old},
		{cancelledThere, "u4", orderv1.StatusPending, false, old},
		{paymentDown, "u5", orderv1.StatusPending, false, old},
		{paid, "u6", orderv1.StatusPaid, false, old},
		{refundAsked, "u7", orderv1.StatusPaid, true, old},
		{paidAfterCancel, "u8", orderv1.StatusCancelled, true, old},
		{recent, "u9", orderv1.StatusPending, false, now.Add(-time.Minute)},
		{completed, "u10", orderv1.StatusCompleted, false, old},
	} {
		stored(s, o.id, o.user, o.status, o.refund, o.updated.Add(time.Duration(i)*time.Millisecond))
	}
	var logs logtest.Buffer
	a := app.New(app.Options{
		State: s, Reads: s, Payments: payment.New(sc.Client(t, "")), Now: func() time.Time { return now },
		Log: config.NewLogger(&logs, "order", "info"), SweepAfter: 2 * time.Minute, SweepBatch: 50,
	})

	rep, err := a.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (app.SweepReport{Checked: 8, Nudged: 5, Cancelled: 2, Failed: 1}); rep != want {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	if q := s.Queries()[0]; q.MovedBefore != now.Add(-2*time.Minute) || q.QuietFor != 2*time.Minute || q.Limit != 50 {
		t.Fatalf("query %+v", q)
	}

	published := map[string]string{} // order id -> event type of its write
	for _, c := range s.Commits() {
		published[c.Order.GetId()] = c.EventType
	}
	for id, want := range map[string]string{
		noPayment: orderv1.EventCancelled, paidMeanwhile: orderv1.EventPaid, cancelledThere: orderv1.EventCancelled,
		paid: orderv1.EventPaid, refundAsked: orderv1.EventRefundRequested, paidAfterCancel: orderv1.EventRefundRequested,
	} {
		if published[id] != want {
			t.Errorf("order %s published %q, want %q", id, published[id], want)
		}
	}
	if len(published) != 6 {
		t.Errorf("writes for %v: a still pending, failed, recent or settled order was written", published)
	}
	if o := s.Order(noPayment); o.GetStatus() != orderv1.StatusCancelled || o.GetReason() != app.NoPaymentReason {
		t.Errorf("no payment: %v", o)
	}
	if o := s.Order(cancelledThere); o.GetReason() != "expire" {
		t.Errorf("cancelled at payment: reason %q", o.GetReason())
	}
	// Re-announcing leaves updatedAt: the order still shows as stuck.
	if o := s.Order(paid); o.GetUpdatedAt() != orders.Stamp(old.Add(5*time.Millisecond)) || o.GetVersion() != 4 {
		t.Errorf("re-announced: %v", o)
	}
	for _, id := range []string{paymentDown, paid, noPayment} {
		if !strings.Contains(logs.String(), id) {
			t.Errorf("order %s not logged", id)
		}
	}
	if invoked := len(sc.Invoked()); invoked != 5 {
		t.Errorf("%d payment syncs, want one per PENDING order (5)", invoked)
	}
}

func TestSweepRunsOneAtATime(t *testing.T) {
	s := apptest.New()
	stored(s, id1, "u1", orderv1.StatusPending, false, now.Add(-time.Hour))
	block := make(chan struct{})
	entered := make(chan struct{})
	a := app.New(app.Options{State: s, Reads: s, Now: func() time.Time { return now },
		Payments: paymentsFunc(func(ctx context.Context, id string) error {
			close(entered)
			<-block
			return errors.New("slow")
		})})
	done := make(chan error)
	go func() { _, err := a.Sweep(context.Background()); done <- err }()
	<-entered
	if _, err := a.Sweep(context.Background()); !errors.Is(err, app.ErrSweepRunning) {
		t.Fatalf("second sweep: %v", err)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type paymentsFunc func(ctx context.Context, orderID string) error

func (f paymentsFunc) Sync(ctx context.Context, orderID string) (*paymentv1.Payment, error) {
	return nil, f(ctx, orderID)
}
