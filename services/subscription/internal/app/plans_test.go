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

func TestPlanLifecycle(t *testing.T) {
	e := newEnv(t)
	a := e.instance(app.Options{})
	ctx := context.Background()
	in := subscription.PlanInput{Name: " Premium ", Price: 150_000, DiscountPrice: ptr[int64](99_000), Description: "4K", ActivePeriod: 30}

	mark := e.mark()
	p, err := a.CreatePlan(ctx, in, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Premium" || p.DiscountPrice != 99_000 || !p.Active || p.Version != 1 || p.CreatedAt != "2025-03-01T12:00:00Z" {
		t.Fatalf("created %v", p)
	}
	wantEvents(t, e.published(mark), subscriptionv1.EventPlanCreated, "plan:"+p.Id)

	// Same name, other case: taken, whether active or not.
	if _, err := a.CreatePlan(ctx, subscription.PlanInput{Name: "PREMIUM", Price: 1, ActivePeriod: 1}, false); !errors.Is(err, subscription.ErrPlanNameTaken) {
		t.Fatalf("duplicate name: %v", err)
	}

	// An update that changes nothing writes nothing.
	mark = e.mark()
	same, err := a.UpdatePlan(ctx, p.Id, in, nil, 1)
	if err != nil || same.Version != 1 || len(e.published(mark)) != 0 {
		t.Fatalf("no-op update: %v, %v, %v", same, err, e.published(mark))
	}

	in.DiscountPrice = nil
	e.advance(time.Minute)
	up, err := a.UpdatePlan(ctx, p.Id, in, nil, 1)
	if err != nil || up.DiscountPrice != 0 || up.Version != 2 || up.UpdatedAt != "2025-03-01T12:01:00Z" || up.CreatedAt != p.CreatedAt {
		t.Fatalf("update: %v, %v", up, err)
	}
	wantEvents(t, e.published(mark), subscriptionv1.EventPlanUpdated, "plan:"+p.Id)

	// If-Match of an older version: refused, nothing written.
	if _, err := a.UpdatePlan(ctx, p.Id, in, ptr(false), 1); !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("stale If-Match: %v", err)
	}
	if _, err := a.DeactivatePlan(ctx, p.Id, 1); !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("stale If-Match on deactivate: %v", err)
	}

	mark = e.mark()
	off, err := a.DeactivatePlan(ctx, p.Id, 2)
	if err != nil || off.Active || off.Version != 3 {
		t.Fatalf("deactivate: %v, %v", off, err)
	}
	if again, err := a.DeactivatePlan(ctx, p.Id, 0); err != nil || again.Version != 3 {
		t.Fatalf("deactivating twice: %v, %v", again, err)
	}
	wantEvents(t, e.published(mark), subscriptionv1.EventPlanDeactivated, "plan:"+p.Id)

	listed := func(all bool) int {
		t.Helper()
		_, total, err := a.ListPlans(ctx, all, app.Page{Page: 1, Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	if listed(false) != 0 || listed(true) != 1 {
		t.Fatalf("listed %d active, %d in all", listed(false), listed(true))
	}

	mark = e.mark()
	on, err := a.UpdatePlan(ctx, p.Id, in, ptr(true), 0)
	if err != nil || !on.Active || on.Version != 4 {
		t.Fatalf("re-activate: %v, %v", on, err)
	}
	if _, err := a.UpdatePlan(ctx, p.Id, in, ptr(false), 0); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, e.published(mark), subscriptionv1.EventPlanUpdated, "plan:"+p.Id,
		subscriptionv1.EventPlanDeactivated, "plan:"+p.Id)

	// Renaming to a taken name is refused; to its own name in other case is not.
	other, err := a.CreatePlan(ctx, subscription.PlanInput{Name: "Basic", Price: 50_000, ActivePeriod: 30}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdatePlan(ctx, other.Id, subscription.PlanInput{Name: "premium", Price: 50_000, ActivePeriod: 30}, nil, 0); !errors.Is(err, subscription.ErrPlanNameTaken) {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if _, err := a.UpdatePlan(ctx, other.Id, subscription.PlanInput{Name: "BASIC", Price: 50_000, ActivePeriod: 30}, nil, 0); err != nil {
		t.Fatalf("rename in case only: %v", err)
	}

	for _, err := range []error{
		func() error { _, err := a.Plan(ctx, "0b9c6d4e-1111-4a2b-9c3d-123456789abc"); return err }(),
		func() error {
			_, err := a.UpdatePlan(ctx, "0b9c6d4e-1111-4a2b-9c3d-123456789abc", in, nil, 0)
			return err
		}(),
		func() error { _, err := a.DeactivatePlan(ctx, "0b9c6d4e-1111-4a2b-9c3d-123456789abc", 0); return err }(),
	} {
		if !errors.Is(err, subscription.ErrNotFound) {
			t.Fatalf("missing plan: %v", err)
		}
	}
	var ve *subscription.ValidationError
	if _, err := a.CreatePlan(ctx, subscription.PlanInput{Name: "X", Price: 10, DiscountPrice: ptr[int64](10), ActivePeriod: 1}, true); !errors.As(err, &ve) {
		t.Fatalf("invalid plan: %v", err)
	}
}
