package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
	"tenflix/services/order-aggregator/internal/app"
	"tenflix/services/order-aggregator/internal/remote"
)

// Small in-memory stand-ins of the three services; the HTTP tests run the
// real clients against the contract's fake (internal/sagatest).

type fakeOrders struct {
	app.Orders
	get     func(ctx context.Context, id string) (*orderv1.Order, error)
	stuck   []*orderv1.Order
	cancels []string
	// cancelCtxErr is ctx.Err() as Cancel saw it.
	cancelCtxErr error
}

func (f *fakeOrders) Create(_ context.Context, o *orderv1.Order) (*orderv1.Order, error) {
	o.Status = orderv1.StatusPending
	return o, nil
}

func (f *fakeOrders) Cancel(ctx context.Context, id, reason string) error {
	f.cancels = append(f.cancels, id+" "+reason)
	f.cancelCtxErr = ctx.Err()
	return nil
}

func (f *fakeOrders) Get(ctx context.Context, id string) (*orderv1.Order, error) {
	return f.get(ctx, id)
}

func (f *fakeOrders) Stuck(context.Context, time.Duration) ([]*orderv1.Order, error) {
	return f.stuck, nil
}

type fakePayments struct {
	app.Payments
	create   func(ctx context.Context, o *orderv1.Order) (*paymentv1.Payment, error)
	get      func(ctx context.Context, id string) (*paymentv1.Payment, error)
	notified [][]byte
}

func (f *fakePayments) Create(ctx context.Context, o *orderv1.Order) (*paymentv1.Payment, error) {
	return f.create(ctx, o)
}

func (f *fakePayments) Get(ctx context.Context, id string) (*paymentv1.Payment, error) {
	return f.get(ctx, id)
}

func (f *fakePayments) Notify(_ context.Context, b []byte) error {
	f.notified = append(f.notified, b)
	return nil
}

type fakeSubscriptions struct {
	plan    *subscriptionv1.Plan
	outcome func(ctx context.Context, id string) (*subscriptionv1.Subscription, *subscriptionv1.Refusal, error)
}

func (f *fakeSubscriptions) Plan(context.Context, string) (*subscriptionv1.Plan, error) {
	return f.plan, nil
}
func (f *fakeSubscriptions) Entitled(context.Context, string) (bool, error) { return false, nil }
func (f *fakeSubscriptions) Outcome(ctx context.Context, id string) (*subscriptionv1.Subscription, *subscriptionv1.Refusal, error) {
	return f.outcome(ctx, id)
}

var notFound = &remote.Refusal{Service: "x", Status: 404, Code: "not_found"}

const orderID = "0b6c7a3e-3f1e-4d5a-9a43-4c1f0e2d9b11"

func TestPrice(t *testing.T) {
	if p := app.Price(&subscriptionv1.Plan{Price: 59000, DiscountPrice: 49000}); p != 49000 {
		t.Errorf("with a discount: %d", p)
	}
	if p := app.Price(&subscriptionv1.Plan{Price: 59000}); p != 59000 {
		t.Errorf("without: %d", p)
	}
}

// The client hanging up while Snap is called must not leave the order
// PENDING: the cancel runs on a context of its own.
func TestPlaceCancelsEvenWhenTheClientLeft(t *testing.T) {
	orders := &fakeOrders{}
	ctx, hangUp := context.WithCancel(context.Background())
	a := app.New(app.Options{
		Orders: orders,
		Payments: &fakePayments{create: func(ctx context.Context, o *orderv1.Order) (*paymentv1.Payment, error) {
			hangUp()
			return nil, ctx.Err()
		}},
		Subscriptions: &fakeSubscriptions{plan: &subscriptionv1.Plan{Id: "p", Price: 1000, Active: true}},
	})
	_, err := a.Place(ctx, app.Caller{UserID: "u1"}, "p")
	if !errors.Is(err, app.ErrPaymentFailed) {
		t.Fatalf("Place = %v, want ErrPaymentFailed", err)
	}
	if len(orders.cancels) != 1 || orders.cancelCtxErr != nil {
		t.Fatalf("cancels %v with ctx err %v, want one on a live context", orders.cancels, orders.cancelCtxErr)
	}
}

func TestPlaceWithoutASnapTokenIsAFailedPayment(t *testing.T) {
	orders := &fakeOrders{}
	a := app.New(app.Options{
		Orders: orders,
		Payments: &fakePayments{create: func(context.Context, *orderv1.Order) (*paymentv1.Payment, error) {
			return &paymentv1.Payment{Status: "PENDING"}, nil
		}},
		Subscriptions: &fakeSubscriptions{plan: &subscriptionv1.Plan{Id: "p", Price: 1000, Active: true}},
	})
	if _, err := a.Place(context.Background(), app.Caller{UserID: "u1"}, "p"); !errors.Is(err, app.ErrPaymentFailed) || len(orders.cancels) != 1 {
		t.Fatalf("Place = %v, cancels %v", err, orders.cancels)
	}
}

func detailApp(partTimeout time.Duration, wait time.Duration, owner string) *app.App {
	sleep := func(ctx context.Context) error {
		select {
		case <-time.After(wait):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return app.New(app.Options{
		PartTimeout: partTimeout,
		Orders: &fakeOrders{get: func(ctx context.Context, id string) (*orderv1.Order, error) {
			if err := sleep(ctx); err != nil {
				return nil, err
			}
			if owner == "" {
				return nil, notFound
			}
			return &orderv1.Order{Id: id, UserId: owner}, nil
		}},
		Payments: &fakePayments{get: func(ctx context.Context, id string) (*paymentv1.Payment, error) {
			if err := sleep(ctx); err != nil {
				return nil, err
			}
			return &paymentv1.Payment{OrderId: id}, nil
		}},
		Subscriptions: &fakeSubscriptions{outcome: func(ctx context.Context, id string) (*subscriptionv1.Subscription, *subscriptionv1.Refusal, error) {
			if err := sleep(ctx); err != nil {
				return nil, nil, err
			}
			return nil, nil, notFound
		}},
	})
}

func TestDetail(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	d, err := detailApp(time.Second, 300*time.Millisecond, "u1").Detail(ctx, app.Caller{UserID: "u1"}, orderID)
	if elapsed := time.Since(start); elapsed >= 600*time.Millisecond {
		t.Errorf("three 300 ms parts took %s: not concurrent", elapsed)
	}
	if err != nil || d.Order.GetId() != orderID || !d.Payment.Found || d.Subscription.Found || d.Subscription.Err != nil {
		t.Fatalf("Detail = %+v, %v", d, err)
	}

	// Parts slower than the part timeout fail as timed out; the order part
	// failing fails the whole.
	_, err = detailApp(50*time.Millisecond, time.Second, "u1").Detail(ctx, app.Caller{UserID: "u1"}, orderID)
	var pe *app.PartError
	if !errors.Is(err, app.ErrUnavailable) || !errors.As(err, &pe) || pe.Service != "order" || pe.Timeout != 50*time.Millisecond {
		t.Errorf("slow order part: %v", err)
	}

	for name, tc := range map[string]struct {
		owner  string
		caller app.Caller
		id     string
		want   error
	}{
		"another user":   {"u1", app.Caller{UserID: "u2"}, orderID, app.ErrOrderNotFound},
		"admin":          {"u1", app.Caller{UserID: "root", Admin: true}, orderID, nil},
		"no such order":  {"", app.Caller{UserID: "u1", Admin: true}, orderID, app.ErrOrderNotFound},
		"not a UUID":     {"u1", app.Caller{UserID: "u1"}, "o-1", app.ErrOrderNotFound},
		"UUID in braces": {"u1", app.Caller{UserID: "u1"}, "{" + orderID + "}", app.ErrOrderNotFound},
	} {
		_, err := detailApp(time.Second, 0, tc.owner).Detail(ctx, tc.caller, tc.id)
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestStuckAges(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	orders := &fakeOrders{stuck: []*orderv1.Order{
		{Id: "a", UpdatedAt: "2025-03-01T11:00:00Z", Timeline: []*orderv1.Step{
			{Name: "created", At: "2025-03-01T10:00:00Z"}, {Name: "paid", At: "2025-03-01T11:30:00.5Z"}}},
		{Id: "b", UpdatedAt: "2025-03-01T09:00:00Z"},
		{Id: "c", UpdatedAt: "yesterday"},
	}}
	a := app.New(app.Options{Orders: orders, Now: func() time.Time { return now }})
	got, err := a.Stuck(context.Background(), 10*time.Minute)
	if err != nil || len(got) != 3 {
		t.Fatalf("Stuck = %v, %v", got, err)
	}
	if got[0].LastStep != "paid" || got[0].Age != 29*time.Minute+59*time.Second {
		t.Errorf("a: %+v", got[0])
	}
	if got[1].LastStep != "" || got[1].LastStepAt != "2025-03-01T09:00:00Z" || got[1].Age != 3*time.Hour {
		t.Errorf("b (no timeline): %+v", got[1])
	}
	if got[2].Age != 0 {
		t.Errorf("c (bad time): %+v", got[2])
	}
}

func TestNotifyChecksTheBodyBeforeRelaying(t *testing.T) {
	payments := &fakePayments{}
	a := app.New(app.Options{Payments: payments})
	var ve *app.ValidationError
	for _, body := range []string{``, `[]`, `null`, `"x"`, `{`, "{\"a\":\"\xff\"}"} {
		if err := a.Notify(context.Background(), []byte(body)); !errors.As(err, &ve) {
			t.Errorf("%q: err = %v, want a validation error", body, err)
		}
	}
	if err := a.Notify(context.Background(), []byte(`{}`)); err != nil || len(payments.notified) != 1 {
		t.Errorf("{}: err = %v, notified %d", err, len(payments.notified))
	}
}
