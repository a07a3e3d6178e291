package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"tenflix/platform/statetx"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

// planNameLock is the lock of a plan name, so that two plans of one
// instance do not race for it (the unique index settles it between
// instances).
func planNameLock(name string) string { return "plan-name:" + strings.ToLower(name) }

// nameFree checks the name ahead of the transaction, for a clear answer in
// the common case; the unique index settles races.
func (a *App) nameFree(ctx context.Context, name, exceptID string) error {
	taken, err := a.reads.PlanNameTaken(ctx, name, exceptID)
	if err != nil {
		return err
	}
	if taken {
		return subscription.ErrPlanNameTaken
	}
	return nil
}

func discount(d *int64) int64 {
	if d == nil {
		return 0
	}
	return *d
}

// CreatePlan adds a plan, active unless active is false.
func (a *App) CreatePlan(ctx context.Context, in subscription.PlanInput, active bool) (*subscriptionv1.Plan, error) {
	in, err := in.Validate()
	if err != nil {
		return nil, err
	}
	now := subscription.FormatTime(a.now())
	doc := &subscriptionv1.Plan{
		Id: uuid.NewString(), Name: in.Name, Price: in.Price, DiscountPrice: discount(in.DiscountPrice),
		Description: in.Description, ActivePeriod: int32(in.ActivePeriod), Active: active,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	defer a.state.Lock(planKey(doc.Id), planNameLock(in.Name))()
	if err := a.nameFree(ctx, in.Name, ""); err != nil {
		return nil, err
	}
	err = a.commit(ctx, statetx.Write{
		Key: planKey(doc.Id), Doc: doc, EventType: subscriptionv1.EventPlanCreated, Create: true,
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// UpdatePlan replaces what an admin sets on a plan; active, when not nil,
// re-activates (or deactivates) it. ifMatch, when not 0, is the version the
// admin read: a plan changed since is subscription.ErrConflict. An update
// that changes nothing writes nothing.
func (a *App) UpdatePlan(ctx context.Context, id string, in subscription.PlanInput, active *bool, ifMatch int64) (*subscriptionv1.Plan, error) {
	in, err := in.Validate()
	if err != nil {
		return nil, err
	}
	defer a.state.Lock(planKey(id), planNameLock(in.Name))()
	doc, etag, err := a.readPlan(ctx, id, ifMatch)
	if err != nil {
		return nil, err
	}
	wasActive := doc.Active
	next := &subscriptionv1.Plan{
		Id: doc.Id, Name: in.Name, Price: in.Price, DiscountPrice: discount(in.DiscountPrice),
		Description: in.Description, ActivePeriod: int32(in.ActivePeriod), Active: doc.Active,
		CreatedAt: doc.CreatedAt, UpdatedAt: doc.UpdatedAt, Version: doc.Version,
	}
	if active != nil {
		next.Active = *active
	}
	if samePlan(doc, next) {
		return doc, nil
	}
	if next.Name != doc.Name {
		if err := a.nameFree(ctx, next.Name, id); err != nil {
			return nil, err
		}
	}
	event := subscriptionv1.EventPlanUpdated
	if wasActive && !next.Active {
		event = subscriptionv1.EventPlanDeactivated
	}
	if err := a.writePlan(ctx, next, etag, event); err != nil {
		return nil, err
	}
	return next, nil
}

// DeactivatePlan stops new orders of a plan; subscriptions already granted
// keep it. Deactivating an inactive plan changes nothing.
func (a *App) DeactivatePlan(ctx context.Context, id string, ifMatch int64) (*subscriptionv1.Plan, error) {
	defer a.state.Lock(planKey(id))()
	doc, etag, err := a.readPlan(ctx, id, ifMatch)
	if err != nil || !doc.Active {
		return doc, err
	}
	doc.Active = false
	if err := a.writePlan(ctx, doc, etag, subscriptionv1.EventPlanDeactivated); err != nil {
		return nil, err
	}
	return doc, nil
}

// Plan reads one plan, active or not.
func (a *App) Plan(ctx context.Context, id string) (*subscriptionv1.Plan, error) {
	doc, _, err := a.readPlan(ctx, id, 0)
	return doc, err
}

// ListPlans pages through the plans: the active ones, or all.
func (a *App) ListPlans(ctx context.Context, all bool, p Page) ([]*subscriptionv1.Plan, int, error) {
	return a.reads.ListPlans(ctx, all, p)
}

func (a *App) readPlan(ctx context.Context, id string, ifMatch int64) (*subscriptionv1.Plan, string, error) {
	doc := &subscriptionv1.Plan{}
	etag, err := a.get(ctx, planKey(id), doc)
	if err != nil {
		return nil, "", err
	}
	if ifMatch != 0 && doc.Version != ifMatch {
		return nil, "", fmt.Errorf("%w: plan %s is at version %d, not %d", subscription.ErrConflict, id, doc.Version, ifMatch)
	}
	return doc, etag, nil
}

// writePlan commits a changed plan one version up, conditional on the
// version read.
func (a *App) writePlan(ctx context.Context, doc *subscriptionv1.Plan, etag, event string) error {
	doc.Version++
	doc.UpdatedAt = subscription.FormatTime(a.now())
	return a.commit(ctx, statetx.Write{Key: planKey(doc.Id), Doc: doc, EventType: event, ETag: etag})
}

func samePlan(a, b *subscriptionv1.Plan) bool {
	return a.Name == b.Name && a.Price == b.Price && a.DiscountPrice == b.DiscountPrice &&
		a.Description == b.Description && a.ActivePeriod == b.ActivePeriod && a.Active == b.Active
}
