package app

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

// Notification is the part of a Midtrans HTTP notification that is read:
// the signed fields, exactly as received, and what it claims.
type Notification struct {
	OrderID      string
	StatusCode   string
	GrossAmount  string
	SignatureKey string
	// Claimed, not trusted: the status API decides.
	TransactionStatus string
	FraudStatus       string
}

// Notify handles a Midtrans notification: a wrong signature is
// ErrBadSignature and changes nothing; then what Midtrans' status API says
// of the order (not what the notification claims) is recorded, when its
// amount is the payment's (else ErrAmountMismatch). Duplicate, late and
// out-of-order notifications change nothing final. The whole handling is
// bounded by the notification budget.
func (a *App) Notify(ctx context.Context, n Notification) error {
	if !payment.SignatureValid(n.OrderID, n.StatusCode, n.GrossAmount, a.serverKey, n.SignatureKey) {
		return ErrBadSignature
	}
	ctx, cancel := context.WithTimeout(ctx, a.budget)
	defer cancel()
	defer a.state.Lock(key(n.OrderID))()
	p, etag, err := a.get(ctx, n.OrderID)
	if err != nil {
		return err
	}
	// The notification's own amount first: a signed notification for another
	// amount is refused without asking Midtrans (the status API's amount is
	// checked again below).
	if amount, err := payment.ParseAmount(n.GrossAmount); err != nil || amount != p.GetAmount() {
		a.logger(ctx).WarnContext(ctx, "notification amount differs from the payment's", "alert", "payment_amount_mismatch",
			"order_id", n.OrderID, "amount", p.GetAmount(), "gross_amount", n.GrossAmount)
		return fmt.Errorf("%w: %s: notified %q, want %d", ErrAmountMismatch, n.OrderID, n.GrossAmount, p.GetAmount())
	}
	t, err := a.confirmed(ctx, p)
	if errors.Is(err, ErrUnknownTransaction) {
		// Signed by Midtrans, yet its status API knows nothing: ask again
		// later (Midtrans retries a failed notification).
		return fmt.Errorf("%w: notified of %s, which the status API does not know", ErrUpstream, n.OrderID)
	}
	if err != nil {
		return err
	}
	if t.Status != n.TransactionStatus {
		a.logger(ctx).InfoContext(ctx, "notification and status API differ; the status API decides", "order_id", n.OrderID,
			"notified_status", n.TransactionStatus, "confirmed_status", t.Status)
	}
	_, err = a.settle(ctx, p, etag, t)
	return err
}

// Sync asks Midtrans about the order's payment (order's sweep, for orders
// still PENDING): what it confirms is recorded; a payment Midtrans still
// waits for, or never heard of, is cancelled at Midtrans once older than
// the expiry (reason expired). A payment that is no longer PENDING is
// re-announced, so that a lost event reaches order again.
func (a *App) Sync(ctx context.Context, orderID string) (*paymentv1.Payment, error) {
	defer a.state.Lock(key(orderID))()
	p, etag, err := a.get(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if p.GetStatus() != paymentv1.StatusPending {
		return a.reannounce(ctx, p, etag)
	}
	t, err := a.confirmed(ctx, p)
	unknown := errors.Is(err, ErrUnknownTransaction)
	if err != nil && !unknown {
		return nil, err
	}
	if !unknown && !payment.Waiting(t) {
		return a.settle(ctx, p, etag, t)
	}
	if !payment.Expired(p, a.now(), a.expiry) {
		return p, nil
	}
	t, d, err := a.cancelAtMidtrans(ctx, p, payment.ReasonExpired)
	if err != nil {
		return nil, err
	}
	return a.record(ctx, p, etag, t, d)
}

// confirmed is the order's transaction as Midtrans' status API tells it,
// checked to be p's: the same order and the same amount.
func (a *App) confirmed(ctx context.Context, p *paymentv1.Payment) (payment.Transaction, error) {
	t, err := a.midtrans.Status(ctx, p.GetOrderId())
	if err != nil {
		return t, upstream("status", err)
	}
	if t.OrderID != p.GetOrderId() {
		return t, fmt.Errorf("%w: status of %s answered for order %q", ErrUpstream, p.GetOrderId(), t.OrderID)
	}
	if amount, err := payment.ParseAmount(t.GrossAmount); err != nil || amount != p.GetAmount() {
		a.logger(ctx).ErrorContext(ctx, "ALERT: midtrans amount differs from the payment's; nothing recorded",
			"alert", "payment_amount_mismatch", "order_id", p.GetOrderId(), "amount", p.GetAmount(),
			"gross_amount", t.GrossAmount, "transaction_status", t.Status)
		return t, fmt.Errorf("%w: %s: %q, want %d", ErrAmountMismatch, p.GetOrderId(), t.GrossAmount, p.GetAmount())
	}
	return t, nil
}

// settle records on p (read with etag) what the confirmed transaction t
// means for it, cancelling a challenged capture at Midtrans first.
func (a *App) settle(ctx context.Context, p *paymentv1.Payment, etag string, t payment.Transaction) (*paymentv1.Payment, error) {
	d := payment.Decide(p.GetStatus(), t)
	if d.Action == payment.CancelAtMidtrans {
		var err error
		if t, d, err = a.cancelAtMidtrans(ctx, p, d.Reason); err != nil {
			return nil, err
		}
	}
	return a.record(ctx, p, etag, t, d)
}

// record commits decision d on p with what Midtrans said (t), one version
// up, or leaves p as it is when there is nothing to do.
func (a *App) record(ctx context.Context, p *paymentv1.Payment, etag string, t payment.Transaction, d payment.Decision) (*paymentv1.Payment, error) {
	log := a.logger(ctx).With("order_id", p.GetOrderId(), "status", p.GetStatus(), "transaction_status", t.Status, "fraud_status", t.FraudStatus)
	switch {
	case d.Alert:
		log.ErrorContext(ctx, "ALERT: "+d.Note, "alert", "payment_status_disagrees")
	case d.Note != "":
		log.WarnContext(ctx, d.Note)
	}
	var to string
	switch d.Action {
	case payment.MarkPaid:
		to = paymentv1.StatusPaid
	case payment.MarkCancelled:
		to = paymentv1.StatusCancelled
	default:
		return p, nil
	}
	next := proto.CloneOf(p)
	if err := payment.Move(next, to, d.Reason, a.now()); err != nil {
		return nil, err
	}
	payment.Record(next, t)
	if err := a.update(ctx, next, etag); err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "payment "+to, "reason", d.Reason, "version", next.GetVersion())
	return next, nil
}

// cancelAtMidtrans cancels the order's transaction and decides the
// cancellation, with reason. Nothing to cancel at Midtrans (no transaction)
// is as good as cancelled. When Midtrans refuses because the transaction
// moved on meanwhile (settled, expired), what its status now says is
// decided instead; a transaction still waiting or challenged that Midtrans
// will not cancel is ErrUpstream.
func (a *App) cancelAtMidtrans(ctx context.Context, p *paymentv1.Payment, reason string) (payment.Transaction, payment.Decision, error) {
	t, err := a.midtrans.Cancel(ctx, p.GetOrderId())
	var refused *RefusedError
	switch {
	case err == nil, errors.Is(err, ErrUnknownTransaction):
		return t, payment.Decision{Action: payment.MarkCancelled, Reason: reason}, nil
	case !errors.As(err, &refused):
		return t, payment.Decision{}, upstream("cancel", err)
	}
	now, err := a.confirmed(ctx, p)
	if errors.Is(err, ErrUnknownTransaction) {
		return now, payment.Decision{Action: payment.MarkCancelled, Reason: reason}, nil
	}
	if err != nil {
		return now, payment.Decision{}, err
	}
	d := payment.Decide(p.GetStatus(), now)
	if d.Action == payment.CancelAtMidtrans || payment.Waiting(now) {
		return now, payment.Decision{}, fmt.Errorf("%w: cancel of %s (%s) refused: %w", ErrUpstream, p.GetOrderId(), now.Status, refused)
	}
	return now, d, nil
}
