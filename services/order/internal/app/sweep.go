package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
)

// SweepReport is what one sweep did.
type SweepReport struct {
	Checked   int `json:"checked"`   // orders looked at
	Nudged    int `json:"nudged"`    // payments synced, steps re-announced or applied
	Cancelled int `json:"cancelled"` // pending orders whose payment never was or is cancelled
	Failed    int `json:"failed"`    // orders a call or write failed for (the next sweep tries again)
}

// NoPaymentReason is the cancellation reason of an order payment never
// heard of.
const NoPaymentReason = "no-payment"

// Sweep looks at up to SweepBatch orders the saga has not moved for
// SweepAfter (and that no sweep re-announced for as long), oldest first, so
// that nothing waits silently on a lost event:
//   - PENDING: payment syncs its payment with Midtrans (and publishes what
//     changed, cancelling at Midtrans what has expired). Its answer is
//     applied here too, so that a lost payment event does not keep the
//     order waiting; a payment never created cancels the order
//     ("no-payment": the user may order again);
//   - PAID: re-announce order.paid, or order.refund-requested when a refund
//     was asked for; CANCELLED with a refund asked for: refund-requested.
//
// One order's failure is logged and counted; the others go on. Orders left
// when SweepTimeout is up wait for the next sweep.
func (a *App) Sweep(ctx context.Context) (SweepReport, error) {
	if !a.sweeping.TryLock() {
		return SweepReport{}, ErrSweepRunning
	}
	defer a.sweeping.Unlock()
	ctx, cancel := context.WithTimeout(ctx, a.opt.SweepTimeout)
	defer cancel()
	waiting, err := a.opt.Reads.Unsettled(ctx, UnsettledQuery{
		MovedBefore: a.now().Add(-a.opt.SweepAfter), QuietFor: a.opt.SweepAfter, Limit: a.opt.SweepBatch,
	})
	if err != nil {
		return SweepReport{}, fmt.Errorf("sweep: %w", err)
	}
	var rep SweepReport
	for _, o := range waiting {
		if ctx.Err() != nil {
			break
		}
		rep.Checked++
		log := a.opt.Log.With("order_id", o.GetId(), "status", o.GetStatus(), "refund_requested", o.GetRefundRequested(),
			"updated_at", o.GetUpdatedAt())
		var res orders.Result
		var what string
		if o.GetStatus() == orderv1.StatusPending {
			res, what, err = a.syncPending(ctx, o.GetId())
		} else {
			_, res, err = a.Apply(ctx, o.GetId(), orders.Change{Kind: orders.Nudge})
			what = actionReannounce
		}
		switch {
		case err != nil:
			rep.Failed++
			log.ErrorContext(ctx, "sweep: order failed", "action", what, "err", err)
		case res.Outcome == orders.Moved && res.EventType == orderv1.EventCancelled:
			rep.Cancelled++
			log.InfoContext(ctx, "sweep: order cancelled", "action", what)
		case res.Outcome == orders.Unchanged && what != actionStillPending:
			log.InfoContext(ctx, "sweep: order moved on meanwhile", "action", what)
		default:
			rep.Nudged++
			log.InfoContext(ctx, "sweep: order nudged", "action", what, "outcome", res.Outcome.String(), "event_type", res.EventType)
		}
	}
	a.opt.Log.InfoContext(ctx, "sweep done", slog.Int("checked", rep.Checked), slog.Int("nudged", rep.Nudged),
		slog.Int("cancelled", rep.Cancelled), slog.Int("failed", rep.Failed))
	return rep, nil
}

// What the sweep did to an order, as logged.
const (
	actionReannounce   = "re-announce"
	actionSync         = "sync payment"
	actionStillPending = "sync payment: still pending"
	actionNoPayment    = "cancel: no payment"
)

// syncPending asks payment to sync the order's payment and applies its
// answer: what the payment event would do, should it have been lost.
func (a *App) syncPending(ctx context.Context, id string) (orders.Result, string, error) {
	callCtx, cancel := context.WithTimeout(ctx, a.opt.PaymentTimeout)
	defer cancel()
	p, err := a.opt.Payments.Sync(callCtx, id)
	if errors.Is(err, ErrNoPayment) {
		_, res, err := a.Apply(ctx, id, orders.Change{Kind: orders.Cancelled, Reason: NoPaymentReason})
		return res, actionNoPayment, err
	}
	if err != nil {
		return orders.Result{}, actionSync, err
	}
	if p.GetOrderId() != id {
		return orders.Result{}, actionSync, fmt.Errorf("payment answered for order %q", p.GetOrderId())
	}
	var c orders.Change
	switch p.GetStatus() {
	case paymentv1.StatusPending:
		return orders.Result{}, actionStillPending, nil
	case paymentv1.StatusPaid:
		c = orders.Change{Kind: orders.Paid}
	case paymentv1.StatusCancelled:
		reason := p.GetReason()
		if reason == "" {
			reason = "payment-cancelled"
		}
		c = orders.Change{Kind: orders.Cancelled, Reason: reason}
	default:
		// A refunded payment of an order that never was paid: the two
		// services disagree; a human has to look.
		return orders.Result{}, actionSync, fmt.Errorf("payment is %s while the order is PENDING", p.GetStatus())
	}
	_, res, err := a.Apply(ctx, id, c)
	return res, actionSync + ": payment " + p.GetStatus(), err
}
