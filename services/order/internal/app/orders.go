package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tenflix/platform/statetx"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
)

// Create stores the order in asks for, PENDING, with its created event. A
// user with an open order (PENDING or PAID) is refused with
// orders.ErrOrderPending, also when two creates race; a retried create whose
// first attempt committed returns that order.
func (a *App) Create(ctx context.Context, in *orderv1.Order) (*orderv1.Order, error) {
	o, err := orders.New(in, a.now())
	if err != nil {
		return nil, err
	}
	key := orderKey(o.GetId())
	// The user's lock too: two creates of one user take turns here, so the
	// second finds the first's order below instead of running a transaction
	// that the unique index fails (a failed transaction stalls daprd's
	// outbox, statetx.Store.Lock). Between instances the index is the guard.
	unlock := a.opt.State.Lock(key, "open-order-of:"+o.GetUserId())
	defer unlock()

	existing := &orderv1.Order{}
	_, err = a.opt.State.Get(ctx, key, existing)
	switch {
	case err == nil:
		return sameOrTaken(existing, in)
	case !errors.Is(err, statetx.ErrNotFound):
		return nil, err
	}
	open, err := a.opt.Reads.OpenOrder(ctx, o.GetUserId())
	if err != nil {
		return nil, err
	}
	if open != nil {
		return nil, fmt.Errorf("user %s has order %s (%s): %w", o.GetUserId(), open.GetId(), open.GetStatus(), orders.ErrOrderPending)
	}

	err = a.opt.State.Commit(ctx, statetx.Write{Key: key, Doc: o, EventType: orderv1.EventCreated, Create: true})
	if errors.Is(err, statetx.ErrConflict) {
		// Created meanwhile by another instance: a retry of the same request,
		// or another order under this id.
		if _, gerr := a.opt.State.Get(ctx, key, existing); gerr == nil {
			return sameOrTaken(existing, in)
		}
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

func sameOrTaken(existing, in *orderv1.Order) (*orderv1.Order, error) {
	if orders.SameRequest(existing, in) {
		return existing, nil
	}
	return nil, fmt.Errorf("order %s: %w", in.GetId(), orders.ErrIDTaken)
}

// Get reads an order.
func (a *App) Get(ctx context.Context, id string) (*orderv1.Order, error) {
	if !orders.IsID(id) {
		return nil, fmt.Errorf("order %q: %w", id, orders.ErrNotFound)
	}
	o := &orderv1.Order{}
	if _, err := a.opt.State.Get(ctx, orderKey(id), o); errors.Is(err, statetx.ErrNotFound) {
		return nil, fmt.Errorf("order %s: %w", id, orders.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	return o, nil
}

// Cancel gives up on a PENDING order (order-aggregator, when Snap failed):
// the user may order again. Any other status is orders.ErrWrongState.
func (a *App) Cancel(ctx context.Context, id, reason string) (*orderv1.Order, error) {
	if err := orders.CheckText("reason", reason, orders.MaxReasonLen, true); err != nil {
		return nil, err
	}
	o, _, err := a.Apply(ctx, id, orders.Change{Kind: orders.CancelRequest, Reason: reason})
	return o, err
}

// MarkRefunded records that admin by refunded a REFUND_FAILED order by hand
// (note: how). Any other status is orders.ErrWrongState.
func (a *App) MarkRefunded(ctx context.Context, id, note, by string) (*orderv1.Order, error) {
	if err := orders.CheckText("by", by, orders.MaxIDLen, true); err != nil {
		return nil, err
	}
	if err := orders.CheckText("note", note, orders.MaxNoteLen, false); err != nil {
		return nil, err
	}
	o, _, err := a.Apply(ctx, id, orders.Change{Kind: orders.MarkRefunded, Note: note, By: by})
	return o, err
}

// OrderPage is one page of a user's orders.
type OrderPage struct {
	Items []*orderv1.Order
	Page  Page
	Total int
}

// List pages through a user's orders, newest first.
func (a *App) List(ctx context.Context, userID string, p Page) (OrderPage, error) {
	if err := orders.CheckText("userId", userID, orders.MaxIDLen, true); err != nil {
		return OrderPage{}, err
	}
	items, total, err := a.opt.Reads.ListByUser(ctx, userID, p)
	if err != nil {
		return OrderPage{}, err
	}
	return OrderPage{Items: items, Page: p, Total: total}, nil
}

// Stuck lists the orders the saga has not moved for olderThan (the
// configured StuckAfter when zero), oldest first, with their timelines.
func (a *App) Stuck(ctx context.Context, olderThan time.Duration) ([]*orderv1.Order, error) {
	if olderThan <= 0 {
		olderThan = a.opt.StuckAfter
	}
	return a.opt.Reads.Unsettled(ctx, UnsettledQuery{MovedBefore: a.now().Add(-olderThan), Limit: MaxStuck})
}
