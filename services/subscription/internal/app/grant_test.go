package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

func TestGrantThenRedeliveryReannounces(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	ctx := context.Background()
	plan := e.plan(a, "Basic", 30)
	order := paid("o1", "u1", plan)

	mark := e.mark()
	d, err := a.GrantOrder(ctx, order)
	if err != nil || d.Action != subscription.Grant {
		t.Fatalf("first delivery: %v, %v", d, err)
	}
	wantEvents(t, e.published(mark), subscriptionv1.EventGranted, "subscription:o1")
	var sub subscriptionv1.Subscription
	if !e.doc("subscription:o1", &sub) {
		t.Fatal("no subscription stored")
	}
	if sub.Id != "o1" || sub.OrderId != "o1" || sub.UserId != "u1" || sub.PlanId != plan.Id || sub.PlanName != "Basic" ||
		sub.Status != subscription.StatusActive || sub.StartAt != "2025-03-01T12:00:00Z" ||
		sub.EndAt != "2025-03-31T12:00:00Z" || sub.Version != 1 {
		t.Fatalf("subscription %v", &sub)
	}

	// Redelivered (the granted event was lost, say): announced again, one
	// version up, nothing else.
	for v := int64(2); v <= 3; v++ {
		mark = e.mark()
		d, err = a.GrantOrder(ctx, order)
		if err != nil || d.Action != subscription.ReannounceGrant {
			t.Fatalf("redelivery: %v, %v", d, err)
		}
		wantEvents(t, e.published(mark), subscriptionv1.EventGranted, "subscription:o1")
		var again subscriptionv1.Subscription
		e.doc("subscription:o1", &again)
		if again.Version != v || again.EndAt != sub.EndAt || again.Status != sub.Status {
			t.Fatalf("after redelivery %d: %v", v, &again)
		}
	}
	if e.doc("refusal:o1", &subscriptionv1.Refusal{}) {
		t.Fatal("a granted order was refused too")
	}
	ent, err := a.Entitlement(ctx, "u1")
	if err != nil || !ent.Entitled || ent.Subscription.GetOrderId() != "o1" {
		t.Fatalf("entitlement %+v, %v", ent, err)
	}
}

func TestGrantRefusals(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	ctx := context.Background()
	active := e.plan(a, "Basic", 30)
	retired := e.plan(a, "Retired", 30)
	if _, err := a.DeactivatePlan(ctx, retired.Id, 0); err != nil {
		t.Fatal(err)
	}
	missing := &subscriptionv1.Plan{Id: "0b9c6d4e-1111-4a2b-9c3d-123456789abc", Name: "Gone", ActivePeriod: 30}
	if _, err := a.GrantOrder(ctx, paid("held", "u-held", active)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, order, user string
		plan              *subscriptionv1.Plan
		reason            string
	}{
		{"plan missing", "o-missing", "u1", missing, subscriptionv1.RefusedPlanNotFound},
		{"plan deactivated", "o-retired", "u2", retired, subscriptionv1.RefusedPlanInactive},
		{"an active subscription exists", "o-second", "u-held", active, subscriptionv1.RefusedActiveExists},
	} {
		t.Run(c.name, func(t *testing.T) {
			mark := e.mark()
			d, err := a.GrantOrder(ctx, paid(c.order, c.user, c.plan))
			if err != nil || d.Action != subscription.Refuse || d.Reason != c.reason {
				t.Fatalf("GrantOrder = %+v, %v; want a refusal for %s", d, err, c.reason)
			}
			wantEvents(t, e.published(mark), subscriptionv1.EventRefused, "refusal:"+c.order)
			var r subscriptionv1.Refusal
			if !e.doc("refusal:"+c.order, &r) || r.Reason != c.reason || r.OrderId != c.order || r.UserId != c.user ||
				r.At != "2025-03-01T12:00:00Z" || r.Version != 1 {
				t.Fatalf("refusal %v", &r)
			}
			mark = e.mark()
			if d, err := a.GrantOrder(ctx, paid(c.order, c.user, c.plan)); err != nil || d.Action != subscription.ReannounceRefusal {
				t.Fatalf("redelivery: %+v, %v", d, err)
			}
			wantEvents(t, e.published(mark), subscriptionv1.EventRefused, "refusal:"+c.order)
			if e.doc("refusal:"+c.order, &r); r.Version != 2 || r.Reason != c.reason {
				t.Fatalf("after redelivery: %v", &r)
			}
		})
	}
	// A refused order stays refused, even once it could be granted.
	if _, err := a.UpdatePlan(ctx, retired.Id, subscription.PlanInput{Name: "Retired", Price: 50_000, ActivePeriod: 30}, ptr(true), 0); err != nil {
		t.Fatal(err)
	}
	if d, err := a.GrantOrder(ctx, paid("o-retired", "u2", retired)); err != nil || d.Action != subscription.ReannounceRefusal {
		t.Fatalf("after the plan's re-activation: %+v, %v", d, err)
	}
	if e.doc("subscription:o-retired", &subscriptionv1.Subscription{}) {
		t.Fatal("a refused order was granted")
	}

	// The refusal for u-held released the lock of u-held's subscription: the
	// expiry (which takes it) gets through.
	e.advance(31 * 24 * time.Hour)
	done := make(chan error, 1)
	go func() {
		rep, err := a.ExpireDue(ctx)
		if err == nil && rep.Expired != 1 {
			err = fmt.Errorf("report %+v, want 1 expired", rep)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the expiry waits for a lock a grant never released")
	}
}

func TestGrantReplacesAnEndedSubscription(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	ctx := context.Background()
	plan := e.plan(a, "Day pass", 1)
	if _, err := a.GrantOrder(ctx, paid("o1", "u1", plan)); err != nil {
		t.Fatal(err)
	}
	e.advance(24 * time.Hour) // ended exactly now; the expiry job has not run
	if ent, _ := a.Entitlement(ctx, "u1"); ent.Entitled {
		t.Fatal("entitled at the end time")
	}
	mark := e.mark()
	d, err := a.GrantOrder(ctx, paid("o2", "u1", plan))
	if err != nil || d.Action != subscription.ExpireAndGrant {
		t.Fatalf("GrantOrder = %+v, %v", d, err)
	}
	wantEvents(t, e.published(mark),
		subscriptionv1.EventExpired, "subscription:o1", subscriptionv1.EventGranted, "subscription:o2")
	var old, cur subscriptionv1.Subscription
	e.doc("subscription:o1", &old)
	e.doc("subscription:o2", &cur)
	if old.Status != subscription.StatusExpired || old.Version != 2 || cur.Status != subscription.StatusActive ||
		cur.StartAt != "2025-03-02T12:00:00Z" || cur.EndAt != "2025-03-03T12:00:00Z" {
		t.Fatalf("old %v, new %v", &old, &cur)
	}
}

func TestGrantUsesWhatTheOrderPaidFor(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	ctx := context.Background()
	plan := e.plan(a, "Monthly", 30)
	order := paid("o1", "u1", plan)
	// The plan changed after the order was placed.
	if _, err := a.UpdatePlan(ctx, plan.Id, subscription.PlanInput{Name: "Monthly Plus", Price: 70_000, ActivePeriod: 31}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GrantOrder(ctx, order); err != nil {
		t.Fatal(err)
	}
	var sub subscriptionv1.Subscription
	if e.doc("subscription:o1", &sub); sub.EndAt != "2025-03-31T12:00:00Z" || sub.PlanName != "Monthly" {
		t.Fatalf("subscription %v: want the 30 days and the name of the order", &sub)
	}
}

func TestMalformedPaidOrdersWriteNothing(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	plan := e.plan(a, "Basic", 30)
	mark := e.mark()
	for name, edit := range map[string]func(id, user *string, period *int32, planGone *bool){
		"no id":     func(id, _ *string, _ *int32, _ *bool) { *id = "" },
		"odd id":    func(id, _ *string, _ *int32, _ *bool) { *id = "a:b" },
		"no user":   func(_, user *string, _ *int32, _ *bool) { *user = "" },
		"no plan":   func(_, _ *string, _ *int32, gone *bool) { *gone = true },
		"no period": func(_, _ *string, period *int32, _ *bool) { *period = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			id, user, period, gone := "o1", "u1", plan.ActivePeriod, false
			edit(&id, &user, &period, &gone)
			o := paid(id, user, plan)
			o.Plan.ActivePeriod = period
			if gone {
				o.Plan = nil
			}
			if _, err := a.GrantOrder(context.Background(), o); !errors.Is(err, subscription.ErrMalformedOrder) {
				t.Fatalf("GrantOrder = %v, want ErrMalformedOrder", err)
			}
		})
	}
	if got := e.published(mark); len(got) != 0 {
		t.Fatalf("malformed orders published %v", got)
	}
}

// TestConcurrentGrantsAcrossInstances races two instances (no in-process
// lock between them) on the grants of two orders of one user, and on two
// deliveries of one order: one effect each time, and the loser's redelivery
// ends in the outcome the rules give.
func TestConcurrentGrantsAcrossInstances(t *testing.T) {
	const rounds = 20
	e := newEnv(t)
	instances := [2]*app.App{e.instance(app.Options{}), e.instance(app.Options{})}
	ctx := context.Background()
	plan := e.plan(instances[0], "Basic", 30)
	race := func(orders [2]string, user string) (ds [2]subscription.Decision, errs [2]error) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range instances {
			wg.Go(func() {
				<-start
				ds[i], errs[i] = instances[i].GrantOrder(ctx, paid(orders[i], user, plan))
			})
		}
		close(start)
		wg.Wait()
		return ds, errs
	}
	for r := range rounds {
		// Two orders of one user.
		user := fmt.Sprintf("u%d", r)
		orders := [2]string{fmt.Sprintf("a%d", r), fmt.Sprintf("b%d", r)}
		ds, errs := race(orders, user)
		granted := 0
		for i := range ds {
			if errs[i] == nil && ds[i].Action == subscription.Grant {
				granted++
				continue
			}
			// Lost: refused outright, or failed (to be redelivered).
			if errs[i] == nil && (ds[i].Action != subscription.Refuse || ds[i].Reason != subscriptionv1.RefusedActiveExists) {
				t.Fatalf("round %d: order %s: %+v", r, orders[i], ds[i])
			}
			if errs[i] != nil && !errors.Is(errs[i], subscription.ErrActiveExists) && !errors.Is(errs[i], subscription.ErrConflict) {
				t.Fatalf("round %d: order %s failed with %v", r, orders[i], errs[i])
			}
			d, err := instances[i].GrantOrder(ctx, paid(orders[i], user, plan))
			if err != nil || (d.Action != subscription.Refuse && d.Action != subscription.ReannounceRefusal) {
				t.Fatalf("round %d: redelivery of %s: %+v, %v", r, orders[i], d, err)
			}
		}
		if granted != 1 {
			t.Fatalf("round %d: %d grants (%v, %v), want 1", r, granted, errs, ds)
		}
		if sub, err := e.db.ActiveSubscription(ctx, user); err != nil || sub == nil {
			t.Fatalf("round %d: no ACTIVE subscription: %v", r, err)
		}

		// One order delivered to both instances at once.
		user, order := fmt.Sprintf("w%d", r), fmt.Sprintf("c%d", r)
		ds, errs = race([2]string{order, order}, user)
		for i := range ds {
			if errs[i] != nil {
				// The insert-only key, or the user's unique index, whichever
				// PostgreSQL checks first.
				if !errors.Is(errs[i], subscription.ErrConflict) && !errors.Is(errs[i], subscription.ErrActiveExists) {
					t.Fatalf("round %d: one order twice: %v", r, errs[i])
				}
				if d, err := instances[i].GrantOrder(ctx, paid(order, user, plan)); err != nil || d.Action != subscription.ReannounceGrant {
					t.Fatalf("round %d: redelivery: %+v, %v", r, d, err)
				}
			}
		}
		if e.doc("refusal:"+order, &subscriptionv1.Refusal{}) {
			t.Fatalf("round %d: order %s granted and refused", r, order)
		}
	}
}

func ptr[T any](v T) *T { return &v }
