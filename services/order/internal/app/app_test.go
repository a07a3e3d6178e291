package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/app/apptest"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
)

var now = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

const id1 = "0b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"

func newApp(s *apptest.Store) *app.App {
	return app.New(app.Options{State: s, Reads: s, Now: func() time.Time { return now }})
}

func request(id, user string) *orderv1.Order {
	return &orderv1.Order{
		Id: id, UserId: user,
		Customer: &orderv1.Customer{Name: "Ana", Email: "ana@example.com"},
		Plan:     &orderv1.Plan{Id: "p1", Name: "Monthly", Price: 50000, ActivePeriod: 30},
		Price:    50000,
	}
}

func TestCreateStoresAPendingOrderInsertOnly(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	o, err := a.Create(context.Background(), request(id1, "u1"))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Commits()
	if len(c) != 1 || c[0].Key != "order:"+id1 || !c[0].Create || c[0].EventType != orderv1.EventCreated ||
		c[0].Order.GetStatus() != orderv1.StatusPending || c[0].Order.GetVersion() != 1 || !proto.Equal(o, c[0].Order) {
		t.Fatalf("commits %+v", c)
	}
}

func TestCreateRefusesASecondOpenOrder(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	ctx := context.Background()
	if _, err := a.Create(ctx, request(id1, "u1")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, request("1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "u1")); !errors.Is(err, orders.ErrOrderPending) {
		t.Fatalf("second order: %v, want ErrOrderPending", err)
	}
	if n := len(s.Commits()); n != 1 {
		t.Fatalf("%d commits: the second create ran a transaction the index would fail", n)
	}
	// A retry of the first create answers the order stored.
	o, err := a.Create(ctx, request(id1, "u1"))
	if err != nil || o.GetId() != id1 || len(s.Commits()) != 1 {
		t.Fatalf("retried create: %v, %v", o, err)
	}
	// The id of another user's order.
	if _, err := a.Create(ctx, request(id1, "u2")); !errors.Is(err, orders.ErrIDTaken) {
		t.Fatalf("same id, other user: %v, want ErrIDTaken", err)
	}
	// Once the first is settled, the user may order again.
	if _, err := a.Cancel(ctx, id1, "payment-unavailable"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, request("1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "u1")); err != nil {
		t.Fatalf("after the cancel: %v", err)
	}
}

// Another instance's create committed after our check: the store's index
// refuses ours.
func TestCreateLosingTheRaceToTheIndexIsOrderPending(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	if _, err := a.Create(context.Background(), request(id1, "u1")); err != nil {
		t.Fatal(err)
	}
	s.HideOpenOrders()
	if _, err := a.Create(context.Background(), request("1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "u1")); !errors.Is(err, orders.ErrOrderPending) {
		t.Fatalf("create = %v, want ErrOrderPending", err)
	}
}

func TestConcurrentCreatesOfOneUserInOneInstance(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	ids := []string{id1, "1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "2b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "3b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { _, errs[i] = a.Create(context.Background(), request(id, "u1")) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, orders.ErrOrderPending):
			t.Fatal(err)
		}
	}
	if won != 1 || len(s.Commits()) != 1 {
		t.Fatalf("%d won, %d commits", won, len(s.Commits()))
	}
}

func TestCreateValidates(t *testing.T) {
	a := newApp(apptest.New())
	in := request(id1, "u1")
	in.Price = 1
	var ve *orders.ValidationError
	if _, err := a.Create(context.Background(), in); !errors.As(err, &ve) {
		t.Fatalf("create = %v, want a ValidationError", err)
	}
}

// stored is an order in status as the saga leaves it, at version 3.
func stored(s *apptest.Store, id, user, status string, refund bool, updated time.Time) *orderv1.Order {
	o := &orderv1.Order{
		Id: id, UserId: user, Status: status, RefundRequested: refund, Price: 50000,
		Plan:      &orderv1.Plan{Id: "p1", Name: "Monthly", Price: 50000, ActivePeriod: 30},
		Timeline:  []*orderv1.Step{{Name: orders.StepCreated, At: orders.Stamp(updated)}},
		CreatedAt: orders.Stamp(updated), UpdatedAt: orders.Stamp(updated), Version: 3,
	}
	s.Put(o)
	return o
}

func TestApplyCommitsEachOutcomeAsItShould(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	ctx := context.Background()
	stored(s, id1, "u1", orderv1.StatusPending, false, now.Add(-time.Hour))

	// A transition: conditional on the ETag read, one version up.
	o, res, err := a.Apply(ctx, id1, orders.Change{Kind: orders.Paid})
	if err != nil || res.Outcome != orders.Moved || o.GetStatus() != orderv1.StatusPaid || o.GetVersion() != 4 {
		t.Fatalf("paid: %v %+v %v", o, res, err)
	}
	c := s.Commits()
	if len(c) != 1 || c[0].Create || c[0].ETag == "" || c[0].EventType != orderv1.EventPaid {
		t.Fatalf("commits %+v", c)
	}
	// A re-announcement: the same document one version up, with the event
	// of its state.
	if _, res, err = a.Apply(ctx, id1, orders.Change{Kind: orders.Paid}); err != nil || res.Outcome != orders.Reannounced {
		t.Fatalf("paid again: %+v %v", res, err)
	}
	c = s.Commits()
	want := proto.Clone(c[0].Order).(*orderv1.Order)
	want.Version++
	if len(c) != 2 || c[1].EventType != orderv1.EventPaid || !proto.Equal(c[1].Order, want) {
		t.Fatalf("re-announcement %+v", c[1])
	}
	// An earlier step: nothing written.
	if o, res, err = a.Apply(ctx, id1, orders.Change{Kind: orders.PaymentRequested}); err != nil || res.Outcome != orders.Unchanged || o.GetVersion() != 5 {
		t.Fatalf("late payment-requested: %v %+v %v", o, res, err)
	}
	if len(s.Commits()) != 2 {
		t.Fatal("an unchanged order was written")
	}
	// A change the state refuses.
	if _, _, err = a.Apply(ctx, id1, orders.Change{Kind: orders.Refunded}); !errors.Is(err, orders.ErrWrongState) {
		t.Fatalf("refunded while PAID: %v", err)
	}
	for _, id := range []string{"1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "not-an-id"} {
		if _, _, err = a.Apply(ctx, id, orders.Change{Kind: orders.Paid}); !errors.Is(err, orders.ErrNotFound) {
			t.Fatalf("unknown order %s: %v", id, err)
		}
	}
}

func TestApplyRetriesLostRaces(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	stored(s, id1, "u1", orderv1.StatusPending, false, now)
	s.FailNext(2)
	if _, res, err := a.Apply(context.Background(), id1, orders.Change{Kind: orders.Paid}); err != nil || res.Outcome != orders.Moved {
		t.Fatalf("after two lost races: %+v %v", res, err)
	}
	s.FailNext(100)
	_, _, err := a.Apply(context.Background(), id1, orders.Change{Kind: orders.Granted})
	if !errors.Is(err, orders.ErrConflict) {
		t.Fatalf("always losing: %v, want ErrConflict", err)
	}
	if got := s.Order(id1).GetStatus(); got != orderv1.StatusPaid {
		t.Fatalf("status %s", got)
	}
}

func TestCancelAndMarkRefundedAreRefusedOutsideTheirState(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	ctx := context.Background()
	stored(s, id1, "u1", orderv1.StatusPaid, false, now)
	if _, err := a.Cancel(ctx, id1, "payment-unavailable"); !errors.Is(err, orders.ErrWrongState) {
		t.Fatalf("cancel of a PAID order: %v", err)
	}
	if _, err := a.MarkRefunded(ctx, id1, "transfer", "admin-1"); !errors.Is(err, orders.ErrWrongState) {
		t.Fatalf("mark-refunded of a PAID order: %v", err)
	}
	var ve *orders.ValidationError
	if _, err := a.Cancel(ctx, id1, ""); !errors.As(err, &ve) {
		t.Fatalf("cancel without a reason: %v", err)
	}
	if _, err := a.MarkRefunded(ctx, id1, "transfer", ""); !errors.As(err, &ve) {
		t.Fatalf("mark-refunded without an admin: %v", err)
	}

	id2 := "1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"
	stored(s, id2, "u2", orderv1.StatusRefundFailed, true, now)
	o, err := a.MarkRefunded(ctx, id2, "bank transfer 42", "admin-1")
	if err != nil || o.GetStatus() != orderv1.StatusRefunded || orders.LastStep(o).GetName() != orders.StepMarkedRefunded {
		t.Fatalf("mark-refunded: %v %v", o, err)
	}
	if c := s.Commits(); c[len(c)-1].EventType != orderv1.EventRefunded {
		t.Fatalf("published %s", c[len(c)-1].EventType)
	}
}

func TestStuckUsesTheDefaultAge(t *testing.T) {
	s := apptest.New()
	a := app.New(app.Options{State: s, Reads: s, Now: func() time.Time { return now }, StuckAfter: 10 * time.Minute})
	old := stored(s, id1, "u1", orderv1.StatusPaid, false, now.Add(-11*time.Minute))
	stored(s, "1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "u2", orderv1.StatusPending, false, now.Add(-9*time.Minute))
	got, err := a.Stuck(context.Background(), 0)
	if err != nil || len(got) != 1 || got[0].GetId() != old.GetId() {
		t.Fatalf("stuck: %v %v", got, err)
	}
	if got, _ = a.Stuck(context.Background(), time.Minute); len(got) != 2 {
		t.Fatalf("older than 1m: %d", len(got))
	}
	if q := s.Queries(); q[0].MovedBefore != now.Add(-10*time.Minute) || q[0].QuietFor != 0 || q[0].Limit != app.MaxStuck {
		t.Fatalf("query %+v", q[0])
	}
}

func TestListPagesAUsersOrders(t *testing.T) {
	s := apptest.New()
	a := newApp(s)
	stored(s, id1, "u1", orderv1.StatusCancelled, false, now.Add(-time.Hour))
	newer := stored(s, "1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", "u1", orderv1.StatusPending, false, now)
	p, err := a.List(context.Background(), "u1", app.Page{Page: 1, Size: 1})
	if err != nil || p.Total != 2 || len(p.Items) != 1 || p.Items[0].GetId() != newer.GetId() {
		t.Fatalf("page %+v %v", p, err)
	}
}
