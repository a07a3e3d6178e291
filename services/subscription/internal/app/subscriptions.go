package app

import (
	"context"
	"fmt"
	"time"

	"tenflix/platform/statetx"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

// Entitlement says whether a user may watch now, and by which subscription.
type Entitlement struct {
	UserID   string
	Entitled bool
	// Subscription: the one that entitles; when not entitled, the latest
	// one (ended, or ACTIVE past its end before the expiry job ran), so
	// that a caller can say "expired" rather than "not subscribed"; nil
	// when the user never had one.
	Subscription *subscriptionv1.Subscription
}

// Entitlement is the user's entitlement now: an ACTIVE subscription before
// its end, whether or not the expiry job has run.
func (a *App) Entitlement(ctx context.Context, userID string) (Entitlement, error) {
	sub, err := a.entitledBy(ctx, userID)
	if err != nil {
		return Entitlement{}, err
	}
	if sub != nil {
		return Entitlement{UserID: userID, Entitled: true, Subscription: sub}, nil
	}
	latest, err := a.reads.LatestSubscription(ctx, userID)
	if err != nil {
		return Entitlement{}, err
	}
	return Entitlement{UserID: userID, Subscription: latest}, nil
}

// CurrentSubscription is the subscription that entitles the user now;
// subscription.ErrNotFound when none does.
func (a *App) CurrentSubscription(ctx context.Context, userID string) (*subscriptionv1.Subscription, error) {
	sub, err := a.entitledBy(ctx, userID)
	if err == nil && sub == nil {
		err = fmt.Errorf("no current subscription: %w", subscription.ErrNotFound)
	}
	return sub, err
}

func (a *App) entitledBy(ctx context.Context, userID string) (*subscriptionv1.Subscription, error) {
	sub, err := a.reads.ActiveSubscription(ctx, userID)
	if err != nil || sub == nil || !subscription.Entitled(sub.Status, sub.EndAt, a.now()) {
		return nil, err
	}
	return sub, nil
}

// OrderOutcome is what became of a paid order: its subscription or its
// refusal; subscription.ErrNotFound while it has neither.
func (a *App) OrderOutcome(ctx context.Context, orderID string) (*subscriptionv1.Subscription, *subscriptionv1.Refusal, error) {
	sub := &subscriptionv1.Subscription{}
	if _, found, err := a.lookup(ctx, subscriptionKey(orderID), sub); err != nil || found {
		return sub, nil, err
	}
	refusal := &subscriptionv1.Refusal{}
	if _, found, err := a.lookup(ctx, refusalKey(orderID), refusal); err != nil || found {
		return nil, refusal, err
	}
	return nil, nil, fmt.Errorf("order %s has no outcome yet: %w", orderID, subscription.ErrNotFound)
}

// ExpiryReport is what one expiry run did.
type ExpiryReport struct {
	Expired int `json:"expired"`
	Failed  int `json:"failed"`
}

// ExpireDue marks EXPIRED up to one batch of ACTIVE subscriptions past their
// end, each in its own transaction with its expired event. One that fails is
// counted (and logged) and left for the next run; an error is returned only
// when the due subscriptions cannot be listed.
func (a *App) ExpireDue(ctx context.Context) (ExpiryReport, error) {
	now := a.now()
	ids, err := a.reads.DueForExpiry(ctx, now, a.batch)
	if err != nil {
		return ExpiryReport{}, err
	}
	var rep ExpiryReport
	for _, id := range ids {
		expired, err := a.expire(ctx, id, now)
		switch {
		case err != nil:
			rep.Failed++
			a.log.WarnContext(ctx, "subscription not expired, left for the next run", "order_id", id, "err", err)
		case expired:
			rep.Expired++
		}
	}
	return rep, nil
}

// expire marks one subscription EXPIRED if, read under its lock, it still
// is ACTIVE and past its end (a grant may have expired it meanwhile).
func (a *App) expire(ctx context.Context, orderID string, now time.Time) (bool, error) {
	key := subscriptionKey(orderID)
	defer a.state.Lock(key)()
	doc := &subscriptionv1.Subscription{}
	etag, found, err := a.lookup(ctx, key, doc)
	if err != nil || !found || !subscription.DueForExpiry(doc.Status, doc.EndAt, now) {
		return false, err
	}
	doc.Status = subscription.StatusExpired
	doc.Version++
	err = a.commit(ctx, statetx.Write{Key: key, Doc: doc, EventType: subscriptionv1.EventExpired, ETag: etag})
	return err == nil, err
}
