package statestore_test

import (
	"context"
	"errors"
	"testing"

	"tenflix/platform/statetx"
	"tenflix/services/subscription/internal/postgres/postgrestest"
	"tenflix/services/subscription/internal/statestore"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

// Each unique index of the migrations, broken through the state API on the
// real table, comes back as the service's error (a renamed index would turn
// its violation into a 500).
func TestBrokenIndexesAreTheServicesErrors(t *testing.T) {
	_, pool := postgrestest.NewDatabase(t)
	_, dapr := postgrestest.NewStateAPI(t, pool)
	store := statestore.New(dapr, postgrestest.StateStore)
	ctx := context.Background()
	sub := func(order, user string) statetx.Write {
		return statetx.Write{Key: "subscription:" + order, EventType: subscriptionv1.EventGranted, Create: true,
			Doc: &subscriptionv1.Subscription{Id: order, OrderId: order, UserId: user, Status: "ACTIVE", Version: 1}}
	}
	refusal := func(order string) statetx.Write {
		return statetx.Write{Key: "refusal:" + order, EventType: subscriptionv1.EventRefused, Create: true,
			Doc: &subscriptionv1.Refusal{OrderId: order, Reason: subscriptionv1.RefusedPlanInactive, Version: 1}}
	}
	plan := func(id, name string) statetx.Write {
		return statetx.Write{Key: "plan:" + id, EventType: subscriptionv1.EventPlanCreated, Create: true,
			Doc: &subscriptionv1.Plan{Id: id, Name: name, Price: 1, ActivePeriod: 1, Active: true, Version: 1}}
	}
	for _, w := range []statetx.Write{sub("o1", "u1"), plan("p1", "Basic")} {
		if err := store.Commit(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]struct {
		write statetx.Write
		want  error
	}{
		"second ACTIVE of a user":    {sub("o2", "u1"), subscription.ErrActiveExists},
		"refusal of a granted order": {refusal("o1"), subscription.ErrConflict},
		"plan name taken":            {plan("p2", "BASIC"), subscription.ErrPlanNameTaken},
		"key taken (insert-only)":    {plan("p1", "Other"), statetx.ErrConflict},
	} {
		t.Run(name, func(t *testing.T) {
			if err := store.Commit(ctx, c.write); !errors.Is(err, c.want) {
				t.Fatalf("Commit = %v, want %v", err, c.want)
			}
		})
	}
	for name := range statestore.Constraints {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname = $1`, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("constraint %s: %d indexes of that name, %v", name, n, err)
		}
	}
}
