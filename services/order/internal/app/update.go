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

// maxAttempts bounds the read-decide-commit rounds of one change: each lost
// race (another instance wrote the order between our read and our commit)
// costs one more. After the last, the change fails with orders.ErrConflict:
// a request is told to retry, an event is redelivered.
const maxAttempts = 4

// Apply runs change c on order id: the one routine every change of a stored
// order goes through. It returns the order as it is afterwards and what the
// rules did (orders.Apply: moved, re-announced or unchanged). Unknown ids
// are orders.ErrNotFound; a change the order's state refuses wraps
// orders.ErrWrongState.
func (a *App) Apply(ctx context.Context, id string, c orders.Change) (*orderv1.Order, orders.Result, error) {
	if !orders.IsID(id) {
		return nil, orders.Result{}, fmt.Errorf("order %q: %w", id, orders.ErrNotFound)
	}
	for attempt := 1; ; attempt++ {
		o, res, err := a.applyOnce(ctx, orderKey(id), c)
		if !errors.Is(err, statetx.ErrConflict) {
			return o, res, err
		}
		if attempt == maxAttempts {
			return nil, orders.Result{}, fmt.Errorf("order %s, %s: %w after %d attempts: %w", id, c.Kind, orders.ErrConflict, attempt, err)
		}
		select { // another instance is writing it: let it finish
		case <-ctx.Done():
			return nil, orders.Result{}, ctx.Err()
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		}
	}
}

// applyOnce holds the order's lock from the read to the commit (one writer
// per key in this instance: statetx.Store.Lock says why) and commits the
// changed order conditional on the ETag read.
func (a *App) applyOnce(ctx context.Context, key string, c orders.Change) (*orderv1.Order, orders.Result, error) {
	unlock := a.opt.State.Lock(key)
	defer unlock()
	o := &orderv1.Order{}
	etag, err := a.opt.State.Get(ctx, key, o)
	if errors.Is(err, statetx.ErrNotFound) {
		return nil, orders.Result{}, fmt.Errorf("%s: %w", key, orders.ErrNotFound)
	}
	if err != nil {
		return nil, orders.Result{}, err
	}
	res, err := orders.Apply(o, c, a.now())
	if err != nil || res.Outcome == orders.Unchanged {
		return o, res, err
	}
	if err := a.opt.State.Commit(ctx, statetx.Write{Key: key, Doc: o, EventType: res.EventType, ETag: etag}); err != nil {
		return nil, orders.Result{}, err
	}
	return o, res, nil
}
