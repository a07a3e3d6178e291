// Package app holds the subscription service's use cases: plans (plans.go),
// the grant of a paid order (grant.go), expiry and entitlement reads
// (subscriptions.go). Every change is committed with its event in one Dapr
// state transaction (statetx) under the locks of the keys it writes. The
// package declares what it needs of its adapters: State and Reads.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

// State is the Dapr state store "subscription-state" (statetx.Store with the
// service's constraints, statestore.New): documents by key with ETags, and
// transactions whose upserts are each published as their event (the outbox).
type State interface {
	// Get reads key into doc and returns its ETag; a missing key is
	// statetx.ErrNotFound.
	Get(ctx context.Context, key string, doc proto.Message) (etag string, err error)
	// Commit runs the writes in one transaction, in order. A lost race is
	// statetx.ErrConflict; a broken unique index is its registered error
	// (subscription.ErrActiveExists, ErrPlanNameTaken, ErrConflict).
	Commit(ctx context.Context, writes ...statetx.Write) error
	// Lock takes this instance's locks of keys until unlock (why:
	// statetx.Store.Lock).
	Lock(keys ...string) (unlock func())
}

// Reads are the SQL queries over the stored documents (postgres.DB): what
// the state API cannot answer, lists and lookups by field.
type Reads interface {
	// ListPlans pages through the plans (only active ones unless all),
	// cheapest first.
	ListPlans(ctx context.Context, all bool, p Page) ([]*subscriptionv1.Plan, int, error)
	// PlanNameTaken reports whether a plan other than exceptID has name,
	// ignoring case.
	PlanNameTaken(ctx context.Context, name, exceptID string) (bool, error)
	// ActiveSubscription is the user's ACTIVE subscription (whatever its end
	// time), nil when there is none.
	ActiveSubscription(ctx context.Context, userID string) (*subscriptionv1.Subscription, error)
	// LatestSubscription is the user's most recently started subscription
	// of any status, nil when there is none.
	LatestSubscription(ctx context.Context, userID string) (*subscriptionv1.Subscription, error)
	// DueForExpiry lists the order ids of up to limit ACTIVE subscriptions
	// whose end is at or before now, the longest ended first.
	DueForExpiry(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// Page is a 1-based page request.
type Page struct {
	Page, Size int
}

// Options tune the use cases; zero values take the defaults.
type Options struct {
	Now         func() time.Time // default time.Now
	ExpiryBatch int              // subscriptions one expiry run handles; default 100
	Log         *slog.Logger     // the expiry run's per-subscription failures; default discards
}

// App is the subscription service.
type App struct {
	state State
	reads Reads
	now   func() time.Time
	batch int
	log   *slog.Logger
}

// New wires the state store (writes, reads by key) and SQL (other reads).
func New(state State, reads Reads, opt Options) *App {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ExpiryBatch <= 0 {
		opt.ExpiryBatch = 100
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &App{state: state, reads: reads, now: opt.Now, batch: opt.ExpiryBatch, log: opt.Log}
}

// State keys (proto/subscription/v1/subscription.proto).
func planKey(id string) string         { return statetx.Key("plan", id) }
func subscriptionKey(id string) string { return statetx.Key("subscription", id) }
func refusalKey(id string) string      { return statetx.Key("refusal", id) }

// get reads key into doc; a missing key is subscription.ErrNotFound.
func (a *App) get(ctx context.Context, key string, doc proto.Message) (etag string, err error) {
	etag, err = a.state.Get(ctx, key, doc)
	if errors.Is(err, statetx.ErrNotFound) {
		return "", fmt.Errorf("%s: %w", key, subscription.ErrNotFound)
	}
	return etag, err
}

// commit runs writes in one transaction; a lost race is
// subscription.ErrConflict.
func (a *App) commit(ctx context.Context, writes ...statetx.Write) error {
	err := a.state.Commit(ctx, writes...)
	if errors.Is(err, statetx.ErrConflict) {
		return fmt.Errorf("%w: %w", subscription.ErrConflict, err)
	}
	return err
}
