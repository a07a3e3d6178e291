package app

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/subscription/internal/subscription"

	orderv1 "tenflix/proto/order/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
)

// userLock serialises this instance's grants for one user.
func userLock(userID string) string { return "grant-user:" + userID }

// GrantOrder grants a paid order its subscription or refuses it, and says
// which it did. An order that already has its outcome announces it again
// (its document rewritten one version up), so redelivering order.paid
// repairs a lost granted or refused event and never has a second effect.
//
// A paid order that can never be granted or refused is
// subscription.ErrMalformedOrder. Any other error is worth redelivering: a
// lost race, subscription.ErrActiveExists (another order of the user was
// granted at the same time: the redelivery refuses), the store unreachable.
func (a *App) GrantOrder(ctx context.Context, order *orderv1.Order) (subscription.Decision, error) {
	paid := subscription.PaidOrder{
		ID: order.GetId(), UserID: order.GetUserId(), PlanID: order.GetPlan().GetId(),
		PlanName: order.GetPlan().GetName(), ActivePeriod: int64(order.GetPlan().GetActivePeriod()),
	}
	if err := paid.Check(); err != nil {
		return subscription.Decision{}, err
	}
	// Locks, always in this order: the user's, then the order's keys, then
	// the user's current subscription once known. The user's lock comes
	// first and alone, so no grant holds a subscription key while waiting
	// for a user (the expiry job holds one subscription key and nothing else).
	defer a.state.Lock(userLock(paid.UserID))()
	defer a.state.Lock(subscriptionKey(paid.ID), refusalKey(paid.ID))()

	g := &grant{app: a, paid: paid, unlockCurrent: func() {}, facts: subscription.GrantFacts{Now: a.now()}}
	defer func() { g.unlockCurrent() }() // taken, if at all, by readFacts
	if err := g.readFacts(ctx); err != nil {
		return subscription.Decision{}, err
	}
	d := subscription.DecideGrant(g.facts)
	return d, g.apply(ctx, d)
}

// grant is one paid order's grant in the making: the facts read under the
// locks, with the documents and ETags the writes need.
type grant struct {
	app   *App
	paid  subscription.PaidOrder
	facts subscription.GrantFacts

	granted       subscriptionv1.Subscription
	grantedETag   string
	refusal       subscriptionv1.Refusal
	refusalETag   string
	plan          subscriptionv1.Plan
	current       subscriptionv1.Subscription // the user's ACTIVE one
	currentETag   string
	unlockCurrent func() // releases the current subscription's lock, if taken
}

// readFacts reads what the decision needs, and no more: once the order has
// an outcome, the plan and the user's subscription do not matter, and the
// user's subscription matters only when the plan can be sold.
func (g *grant) readFacts(ctx context.Context) (err error) {
	a := g.app
	if g.grantedETag, g.facts.Granted, err = a.lookup(ctx, subscriptionKey(g.paid.ID), &g.granted); err != nil || g.facts.Granted {
		return err
	}
	if g.refusalETag, g.facts.Refused, err = a.lookup(ctx, refusalKey(g.paid.ID), &g.refusal); err != nil || g.facts.Refused {
		return err
	}
	_, found, err := a.lookup(ctx, planKey(g.paid.PlanID), &g.plan)
	switch {
	case err != nil:
		return err
	case !found:
		g.facts.Plan = subscription.PlanMissing
		return nil
	case !g.plan.Active:
		g.facts.Plan = subscription.PlanInactive
		return nil
	}
	g.facts.Plan = subscription.PlanActive

	cur, err := a.reads.ActiveSubscription(ctx, g.paid.UserID)
	if err != nil || cur == nil {
		return err
	}
	if cur.GetOrderId() == g.paid.ID {
		// Granted by another instance since the read above: the redelivery
		// will find it (and must not take its lock twice here).
		return fmt.Errorf("%w: order %s was granted meanwhile", subscription.ErrConflict, g.paid.ID)
	}
	// Re-read by key under its lock: the ETag of the expiry, and the newest
	// status (another instance may have expired it since the query).
	key := subscriptionKey(cur.GetOrderId())
	g.unlockCurrent = a.state.Lock(key)
	etag, found, err := a.lookup(ctx, key, &g.current)
	if err != nil || !found || g.current.Status != subscription.StatusActive {
		return err
	}
	g.currentETag = etag
	g.facts.Current = &subscription.Current{Status: g.current.Status, EndAt: g.current.EndAt}
	return nil
}

// apply commits the decision.
func (g *grant) apply(ctx context.Context, d subscription.Decision) error {
	a := g.app
	switch d.Action {
	case subscription.ReannounceGrant:
		g.granted.Version++
		return a.commit(ctx, statetx.Write{Key: subscriptionKey(g.paid.ID), Doc: &g.granted,
			EventType: subscriptionv1.EventGranted, ETag: g.grantedETag})
	case subscription.ReannounceRefusal:
		g.refusal.Version++
		return a.commit(ctx, statetx.Write{Key: refusalKey(g.paid.ID), Doc: &g.refusal,
			EventType: subscriptionv1.EventRefused, ETag: g.refusalETag})
	case subscription.Refuse:
		return a.commit(ctx, statetx.Write{Key: refusalKey(g.paid.ID), EventType: subscriptionv1.EventRefused, Create: true,
			Doc: &subscriptionv1.Refusal{
				OrderId: g.paid.ID, UserId: g.paid.UserID, Reason: d.Reason,
				At: subscription.FormatTime(g.facts.Now), Version: 1,
			}})
	case subscription.Grant:
		return a.commit(ctx, g.newSubscription())
	case subscription.ExpireAndGrant:
		// The expiry first: the unique index of ACTIVE subscriptions is
		// checked statement by statement.
		g.current.Status = subscription.StatusExpired
		g.current.Version++
		return a.commit(ctx, statetx.Write{Key: subscriptionKey(g.current.OrderId), Doc: &g.current,
			EventType: subscriptionv1.EventExpired, ETag: g.currentETag}, g.newSubscription())
	}
	return fmt.Errorf("grant of order %s: no action decided", g.paid.ID)
}

// newSubscription is the order's subscription, ACTIVE from now for the days
// paid for, named as the plan was when ordered.
func (g *grant) newSubscription() statetx.Write {
	name := g.paid.PlanName
	if name == "" {
		name = g.plan.Name
	}
	start, end := subscription.Term(g.facts.Now, int(g.paid.ActivePeriod))
	return statetx.Write{Key: subscriptionKey(g.paid.ID), EventType: subscriptionv1.EventGranted, Create: true,
		Doc: &subscriptionv1.Subscription{
			Id: g.paid.ID, UserId: g.paid.UserID, OrderId: g.paid.ID, PlanId: g.paid.PlanID, PlanName: name,
			Status: subscription.StatusActive, StartAt: start, EndAt: end, Version: 1,
		}}
}

// lookup reads key into doc, reporting whether it exists.
func (a *App) lookup(ctx context.Context, key string, doc proto.Message) (etag string, found bool, err error) {
	etag, err = a.state.Get(ctx, key, doc)
	switch {
	case errors.Is(err, statetx.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return etag, true, nil
}
