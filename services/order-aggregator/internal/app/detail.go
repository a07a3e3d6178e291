package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
	"tenflix/services/order-aggregator/internal/remote"
)

// Detail is an order with what the other services know of it. The payment
// and subscription parts are read independently: one that fails is reported
// as failed, never as absent.
type Detail struct {
	Order        *orderv1.Order
	Payment      Part[*paymentv1.Payment]
	Subscription Part[Outcome]
}

// Part is one service's part of a Detail: Found with its Value, or not found
// (the service has nothing for the order yet), or Err.
type Part[T any] struct {
	Value T
	Found bool
	Err   *PartError
}

// Outcome is what the subscription service made of a paid order: exactly one
// of Subscription (granted) and Refusal is set.
type Outcome struct {
	Subscription *subscriptionv1.Subscription
	Refusal      *subscriptionv1.Refusal
}

// PartError says why a part could not be read.
type PartError struct {
	Service string        // order, payment or subscription
	Timeout time.Duration // set when the service did not answer within it
	Err     error         // the cause, for logs only
}

func (e *PartError) Error() string {
	if e.Timeout > 0 {
		return fmt.Sprintf("%s did not answer within %s: %v", e.Service, e.Timeout, e.Err)
	}
	return fmt.Sprintf("%s unavailable: %v", e.Service, e.Err)
}

func (e *PartError) Unwrap() error { return e.Err }

// Detail reads an order, its payment and its subscription at once, each
// within the part timeout, so that a slow or failing service costs at most
// that and takes only its own part down. The order part decides who may see
// the rest: its owner and admins; anybody else learns nothing, not even
// that the order exists.
func (a *App) Detail(ctx context.Context, caller Caller, orderID string) (Detail, error) {
	if !validOrderID(orderID) {
		return Detail{}, ErrOrderNotFound
	}
	var (
		wg    sync.WaitGroup
		order Part[*orderv1.Order]
		d     Detail
	)
	wg.Go(func() {
		order = fetch(ctx, a.partTimeout, "order", func(ctx context.Context) (*orderv1.Order, error) {
			return a.orders.Get(ctx, orderID)
		})
	})
	wg.Go(func() {
		d.Payment = fetch(ctx, a.partTimeout, "payment", func(ctx context.Context) (*paymentv1.Payment, error) {
			return a.payments.Get(ctx, orderID)
		})
	})
	wg.Go(func() {
		d.Subscription = fetch(ctx, a.partTimeout, "subscription", func(ctx context.Context) (Outcome, error) {
			s, r, err := a.subscriptions.Outcome(ctx, orderID)
			return Outcome{Subscription: s, Refusal: r}, err
		})
	})
	wg.Wait()

	switch {
	case order.Err != nil:
		return Detail{}, fmt.Errorf("%w: %w", ErrUnavailable, order.Err)
	case !order.Found:
		return Detail{}, ErrOrderNotFound
	case order.Value.GetUserId() != caller.UserID && !caller.Admin:
		return Detail{}, ErrOrderNotFound
	}
	d.Order = order.Value
	for _, err := range []*PartError{d.Payment.Err, d.Subscription.Err} {
		if err != nil { // reported to the client by code only: the cause is logged here
			a.log.WarnContext(ctx, "order detail part failed", "order_id", orderID, "part", err.Service, "err", err.Err)
		}
	}
	return d, nil
}

// fetch reads one part within timeout. A 404 is "nothing yet"; any other
// failure, refusals included, is the part's error.
func fetch[T any](ctx context.Context, timeout time.Duration, service string, get func(context.Context) (T, error)) Part[T] {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := get(ctx)
	switch {
	case err == nil:
		return Part[T]{Value: v, Found: true}
	case remote.IsNotFound(err):
		return Part[T]{}
	}
	pe := &PartError{Service: service, Err: err}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		pe.Timeout = timeout
	}
	return Part[T]{Err: pe}
}
