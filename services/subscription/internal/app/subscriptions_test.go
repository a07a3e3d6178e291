package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

func TestExpiryAndEntitlement(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{ExpiryBatch: 1})
	ctx := context.Background()
	day, month := e.plan(a, "Day", 1), e.plan(a, "Month", 30)
	for _, o := range []struct{ id, user string }{{"o1", "u1"}, {"o2", "u2"}} {
		if _, err := a.GrantOrder(ctx, paid(o.id, o.user, day)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.GrantOrder(ctx, paid("o3", "u3", month)); err != nil {
		t.Fatal(err)
	}

	if ent, err := a.Entitlement(ctx, "u1"); err != nil || !ent.Entitled || ent.UserID != "u1" {
		t.Fatalf("before the end: %+v, %v", ent, err)
	}
	e.advance(24*time.Hour + time.Second)
	// Past the end: not entitled, whether or not the job has run; the
	// answer names the ended subscription (so a caller can say "expired"),
	// and none for a user who never had one.
	for user, order := range map[string]string{"u1": "o1", "u2": "o2", "nobody": ""} {
		ent, err := a.Entitlement(ctx, user)
		if err != nil || ent.Entitled || (order == "") != (ent.Subscription == nil) ||
			(order != "" && ent.Subscription.GetOrderId() != order) {
			t.Fatalf("%s past the end: %+v, %v", user, ent, err)
		}
		if _, err := a.CurrentSubscription(ctx, user); !errors.Is(err, subscription.ErrNotFound) {
			t.Fatalf("%s current: %v", user, err)
		}
	}
	if sub, err := a.CurrentSubscription(ctx, "u3"); err != nil || sub.OrderId != "o3" {
		t.Fatalf("u3 current: %v, %v", sub, err)
	}

	// A document that cannot be read fails its expiry, not the run.
	if _, err := e.pool.Exec(ctx, `INSERT INTO subscription_state (key, value, isbinary) VALUES
		('subscription:bad', '{"status":"ACTIVE","endAt":"2020-01-01T00:00:00Z","version":"x"}', false)`); err != nil {
		t.Fatal(err)
	}
	if rep, err := a.ExpireDue(ctx); err != nil || rep != (app.ExpiryReport{Failed: 1}) {
		t.Fatalf("run with an unreadable document: %+v, %v", rep, err)
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM subscription_state WHERE key = 'subscription:bad'`); err != nil {
		t.Fatal(err)
	}

	mark := e.mark()
	for run, want := range []app.ExpiryReport{{Expired: 1}, {Expired: 1}, {}} {
		rep, err := a.ExpireDue(ctx)
		if err != nil || rep != want {
			t.Fatalf("run %d: %+v, %v; want %+v (a batch of 1)", run, rep, err, want)
		}
	}
	wantEvents(t, e.published(mark), subscriptionv1.EventExpired, "subscription:o1", subscriptionv1.EventExpired, "subscription:o2")
	var sub subscriptionv1.Subscription
	if e.doc("subscription:o1", &sub); sub.Status != subscription.StatusExpired || sub.Version != 2 {
		t.Fatalf("expired %v", &sub)
	}
	if e.doc("subscription:o3", &sub); sub.Status != subscription.StatusActive {
		t.Fatalf("the month's subscription %v", &sub)
	}

	if ent, err := a.Entitlement(ctx, "u1"); err != nil || ent.Entitled ||
		ent.Subscription.GetStatus() != subscription.StatusExpired {
		t.Fatalf("u1 once expired: %+v, %v", ent, err)
	}

	// The expired user may buy again.
	if d, err := a.GrantOrder(ctx, paid("o4", "u1", month)); err != nil || d.Action != subscription.Grant {
		t.Fatalf("after expiry: %+v, %v", d, err)
	}
}

func TestOrderOutcome(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	ctx := context.Background()
	plan := e.plan(a, "Basic", 30)
	if _, _, err := a.OrderOutcome(ctx, "o1"); !errors.Is(err, subscription.ErrNotFound) {
		t.Fatalf("before the grant: %v", err)
	}
	for _, o := range []string{"o1", "o2"} {
		if _, err := a.GrantOrder(ctx, paid(o, "u1", plan)); err != nil {
			t.Fatal(err)
		}
	}
	if sub, refusal, err := a.OrderOutcome(ctx, "o1"); err != nil || sub.GetOrderId() != "o1" || refusal != nil {
		t.Fatalf("granted: %v %v %v", sub, refusal, err)
	}
	if sub, refusal, err := a.OrderOutcome(ctx, "o2"); err != nil || sub != nil || refusal.GetReason() != subscriptionv1.RefusedActiveExists {
		t.Fatalf("refused: %v %v %v", sub, refusal, err)
	}
}
