package orders

import (
	"fmt"
	"time"

	orderv1 "tenflix/proto/order/v1"
)

// Kind is what happened to an order (an event of the saga) or what is asked
// of it (a request).
type Kind string

const (
	// PaymentRequested: payment created the Snap transaction (payment.requested).
	PaymentRequested Kind = "payment-requested"
	// Paid: Midtrans confirmed the money (payment.paid, or the sweep's sync
	// answered PAID).
	Paid Kind = "paid"
	// Cancelled: the payment will never complete (payment.cancelled, or the
	// sweep found no payment at all). Late or repeated, it changes nothing.
	Cancelled Kind = "cancelled"
	// CancelRequest: order-aggregator gives up on a PENDING order (Snap
	// failed). Unlike Cancelled, it is refused unless the order is PENDING:
	// the caller is told.
	CancelRequest Kind = "cancel-request"
	// Granted: subscription granted the paid order (subscription.granted).
	Granted Kind = "subscription-granted"
	// Refused: subscription could not grant it (subscription.refused).
	Refused Kind = "subscription-refused"
	// Refunded: payment refunded it (payment.refunded).
	Refunded Kind = "refunded"
	// RefundFailed: Midtrans cannot refund it (payment.refund-failed).
	RefundFailed Kind = "refund-failed"
	// MarkRefunded: an admin refunded a REFUND_FAILED order by hand.
	MarkRefunded Kind = "mark-refunded"
	// Nudge: the sweep found the order waiting too long; re-announce the
	// step the saga waits on.
	Nudge Kind = "nudge"
)

// Change is one Kind with what it carries.
type Change struct {
	Kind   Kind
	Reason string // Cancelled, CancelRequest, Refused, RefundFailed
	Note   string // MarkRefunded: how the money went back
	By     string // MarkRefunded: the admin's id
}

// Outcome says what Apply did to the order.
type Outcome int

const (
	// Unchanged: nothing to write (a late or repeated event).
	Unchanged Outcome = iota
	// Moved: a transition: the order is one version up with new steps;
	// commit it with Result.EventType.
	Moved
	// Reannounced: the step was already done; the order is unchanged but
	// for its version, so that committing it with Result.EventType (the
	// event of its current state) publishes its outcome again.
	Reannounced
)

func (o Outcome) String() string {
	switch o {
	case Moved:
		return "moved"
	case Reannounced:
		return "reannounced"
	}
	return "unchanged"
}

// Result is what to commit after Apply.
type Result struct {
	Outcome   Outcome
	EventType string // for Moved and Reannounced
}

// Apply runs change c on o (as read, with its ETag) at now. On Moved and
// Reannounced o is changed in place and one version up; on Unchanged and on
// error it is left alone. An error wraps ErrWrongState: for a request, the
// caller is refused; for an event, the saga gives it no meaning in this
// state (it contradicts what the order went through) and it will never
// apply.
//
// The table, by state (status, and whether a refund was requested) and
// change. "re-ann. X" writes the order unchanged with event X; "-" is
// Unchanged (an event for an earlier step, or a repeat nobody waits on);
// "wrong" is ErrWrongState.
//
//	state            | payment-  | paid          | cancelled  | cancel- | granted    | refused       | refunded | refund-     | mark-     | nudge
//	                 | requested |               |            | request |            |               |          | failed      | refunded  |
//	-----------------+-----------+---------------+------------+---------+------------+---------------+----------+-------------+-----------+--------------
//	PENDING          | step once | PAID          | CANCELLED  | CANC.   | wrong      | wrong         | wrong    | wrong       | wrong     | -
//	PAID             | -         | re-ann. paid  | -          | wrong   | COMPLETED  | PAID+refund   | wrong    | wrong       | wrong     | re-ann. paid
//	PAID+refund      | -         | -             | -          | wrong   | wrong      | re-ann. r-r   | REFUNDED | REFUND_FAIL | wrong     | re-ann. r-r
//	COMPLETED        | -         | -             | -          | wrong   | -          | wrong         | wrong    | wrong       | wrong     | -
//	CANCELLED        | -         | +refund (pac) | -          | wrong   | wrong      | wrong         | wrong    | wrong       | wrong     | -
//	CANCELLED+refund | -         | re-ann. r-r   | -          | wrong   | wrong      | wrong         | REFUNDED | REFUND_FAIL | wrong     | re-ann. r-r
//	REFUNDED         | -         | -             | -          | wrong   | wrong      | -             | -        | -           | wrong     | -
//	REFUND_FAILED    | -         | -             | -          | wrong   | wrong      | -             | wrong    | -           | REFUNDED  | -
//
// (r-r: refund-requested; pac: paid-after-cancel.) Why the less obvious
// cells are so:
//   - paid on PAID re-announces order.paid: payment re-announces its paid
//     event when it finds it done, and that is how a lost order.paid is
//     repaired. Likewise refused on PAID+refund and paid on CANCELLED+refund
//     re-announce refund-requested (the event before it was redelivered).
//     A repeated payment-requested, cancelled, granted or refunded changes
//     nothing: nobody waits on order.payment-requested, and the others end
//     the saga.
//   - paid on CANCELLED: the money came after the order was given up (the
//     sweep cancelled it, Snap failed after Midtrans took it, the payment
//     was cancelled and then settled). The order stays CANCELLED, asks for
//     the refund (refund_requested, steps paid-after-cancel and
//     refund-requested, event refund-requested) and then moves to REFUNDED or
//     REFUND_FAILED like a refused one.
//   - cancelled on PAID (or later) changes nothing: payment never cancels a
//     paid payment, so it is an earlier event delivered late (cancelled,
//     then paid after all).
//   - granted when not PAID is wrong: subscription grants only on
//     order.paid, published only by a PAID order; after a refusal or a
//     refund it would be a second, contradicting effect. Refunded or
//     refund-failed without a refund requested are wrong the same way, and
//     refunded on REFUND_FAILED contradicts payment's final status: these
//     need a human, not a transition.
//   - refund-failed on REFUNDED is late (an admin marked it refunded).
func Apply(o *orderv1.Order, c Change, now time.Time) (Result, error) {
	status, refund := o.GetStatus(), o.GetRefundRequested()
	paidRefund := status == orderv1.StatusPaid && refund
	cancelledRefund := status == orderv1.StatusCancelled && refund
	paid := status == orderv1.StatusPaid && !refund
	cancelled := status == orderv1.StatusCancelled && !refund
	pending := status == orderv1.StatusPending

	switch c.Kind {
	case PaymentRequested:
		if pending && !HasStep(o, StepPaymentRequested) {
			return move(o, now, orderv1.EventPaymentRequested, step(StepPaymentRequested, ""))
		}
		return unchanged()

	case Paid:
		switch {
		case pending:
			o.Status = orderv1.StatusPaid
			return move(o, now, orderv1.EventPaid, step(StepPaid, ""))
		case paid:
			return reannounce(o, orderv1.EventPaid)
		case cancelled:
			o.RefundRequested = true
			return move(o, now, orderv1.EventRefundRequested,
				step(StepPaidAfterCancel, "the money came after the order was cancelled"),
				step(StepRefundRequested, ""))
		case cancelledRefund:
			return reannounce(o, orderv1.EventRefundRequested)
		}
		return unchanged()

	case Cancelled, CancelRequest:
		if pending {
			reason := cleanText(c.Reason, MaxReasonLen)
			o.Status, o.Reason = orderv1.StatusCancelled, reason
			return move(o, now, orderv1.EventCancelled, step(StepCancelled, reason))
		}
		if c.Kind == CancelRequest {
			return wrong(o, c)
		}
		return unchanged()

	case Granted:
		switch {
		case paid:
			o.Status = orderv1.StatusCompleted
			return move(o, now, orderv1.EventCompleted, step(StepSubscriptionGranted, ""), step(StepCompleted, ""))
		case status == orderv1.StatusCompleted:
			return unchanged()
		}
		return wrong(o, c)

	case Refused:
		switch {
		case paid:
			reason := cleanText(c.Reason, MaxReasonLen)
			o.RefundRequested, o.Reason = true, reason
			return move(o, now, orderv1.EventRefundRequested,
				step(StepSubscriptionRefused, reason), step(StepRefundRequested, ""))
		case paidRefund:
			return reannounce(o, orderv1.EventRefundRequested)
		case status == orderv1.StatusRefunded, status == orderv1.StatusRefundFailed:
			return unchanged()
		}
		return wrong(o, c)

	case Refunded:
		switch {
		case paidRefund, cancelledRefund:
			o.Status = orderv1.StatusRefunded
			return move(o, now, orderv1.EventRefunded, step(StepRefunded, ""))
		case status == orderv1.StatusRefunded:
			return unchanged()
		}
		return wrong(o, c)

	case RefundFailed:
		switch {
		case paidRefund, cancelledRefund:
			reason := cleanText(c.Reason, MaxReasonLen)
			o.Status, o.Reason = orderv1.StatusRefundFailed, reason
			return move(o, now, orderv1.EventRefundFailed, step(StepRefundFailed, reason))
		case status == orderv1.StatusRefunded, status == orderv1.StatusRefundFailed:
			return unchanged()
		}
		return wrong(o, c)

	case MarkRefunded:
		if status == orderv1.StatusRefundFailed {
			o.Status = orderv1.StatusRefunded
			detail := fmt.Sprintf("by %s", cleanText(c.By, MaxIDLen))
			if note := cleanText(c.Note, MaxNoteLen); note != "" {
				detail += ": " + note
			}
			return move(o, now, orderv1.EventRefunded, step(StepMarkedRefunded, detail))
		}
		return wrong(o, c)

	case Nudge:
		switch {
		case paid:
			return reannounce(o, orderv1.EventPaid)
		case paidRefund, cancelledRefund:
			return reannounce(o, orderv1.EventRefundRequested)
		}
		return unchanged()
	}
	return Result{}, fmt.Errorf("unknown change %q", c.Kind)
}

// HasStep reports whether the order went through the named step.
func HasStep(o *orderv1.Order, name string) bool {
	for _, s := range o.GetTimeline() {
		if s.GetName() == name {
			return true
		}
	}
	return false
}

// LastStep is the newest step of the timeline (nil for none).
func LastStep(o *orderv1.Order) *orderv1.Step {
	if t := o.GetTimeline(); len(t) > 0 {
		return t[len(t)-1]
	}
	return nil
}

// pendingStep is a step whose time move sets.
type pendingStep struct{ name, detail string }

func step(name, detail string) pendingStep { return pendingStep{name, detail} }

func move(o *orderv1.Order, now time.Time, eventType string, steps ...pendingStep) (Result, error) {
	at := Stamp(now)
	for _, s := range steps {
		o.Timeline = append(o.Timeline, &orderv1.Step{Name: s.name, At: at, Detail: s.detail})
	}
	o.UpdatedAt = at
	o.Version++
	return Result{Outcome: Moved, EventType: eventType}, nil
}

// reannounce leaves updatedAt alone: it is when the saga last moved, which
// the sweep and the stuck list go by; re-announcing is not progress.
func reannounce(o *orderv1.Order, eventType string) (Result, error) {
	o.Version++
	return Result{Outcome: Reannounced, EventType: eventType}, nil
}

func unchanged() (Result, error) { return Result{Outcome: Unchanged}, nil }

func wrong(o *orderv1.Order, c Change) (Result, error) {
	state := o.GetStatus()
	if o.GetRefundRequested() {
		state += " with a refund requested"
	}
	return Result{}, fmt.Errorf("order %s is %s: %s does not apply: %w", o.GetId(), state, c.Kind, ErrWrongState)
}
