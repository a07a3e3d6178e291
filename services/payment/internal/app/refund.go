package app

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

// maxReasonLen is Midtrans' limit of a refund reason, and ours of the
// reason recorded for a failed refund.
const maxReasonLen = 255

// defaultRefundReason is sent when the order gives none.
const defaultRefundReason = "subscription could not be granted"

// Refund refunds the order's PAID payment at Midtrans (refund_key
// refund-<orderId>, the whole amount) and records REFUNDED, or
// REFUND_FAILED when Midtrans will not refund it by API (bank transfers,
// virtual accounts). A refund already recorded is re-announced. A PENDING
// payment is first confirmed with Midtrans (its paid notification may have
// been lost); still unpaid, it is ErrNotPaidYet. A CANCELLED one is
// ErrNotRefundable. Midtrans failures are ErrUpstream: the same refund_key
// makes the retry safe.
func (a *App) Refund(ctx context.Context, orderID, reason string) (*paymentv1.Payment, error) {
	defer a.state.Lock(key(orderID))()
	p, etag, err := a.get(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if p.GetStatus() == paymentv1.StatusPending {
		if p, etag, err = a.confirmPaid(ctx, p, etag); err != nil {
			return nil, err
		}
	}
	switch p.GetStatus() {
	case paymentv1.StatusRefunded, paymentv1.StatusRefundFailed:
		return a.reannounce(ctx, p, etag)
	case paymentv1.StatusCancelled:
		return nil, fmt.Errorf("%w: %s was cancelled", ErrNotRefundable, orderID)
	case paymentv1.StatusPaid:
	default:
		return nil, fmt.Errorf("%w: %s is %s", ErrNotRefundable, orderID, p.GetStatus())
	}

	refundKey := paymentv1.RefundKey(orderID)
	t, err := a.midtrans.Refund(ctx, orderID, RefundRequest{Key: refundKey, Amount: p.GetAmount(), Reason: refundReason(reason)})
	next := proto.CloneOf(p)
	next.RefundKey = refundKey
	var refused *RefusedError
	switch {
	case err == nil:
		err = payment.Move(next, paymentv1.StatusRefunded, "", a.now())
	case errors.As(err, &refused):
		// Midtrans may also refuse a key it has already refunded with: its
		// status tells a refusal from a refund done before.
		if t, err = a.confirmed(ctx, p); err != nil {
			return nil, err
		}
		if t.Status == payment.MidtransRefund {
			err = payment.Move(next, paymentv1.StatusRefunded, "", a.now())
		} else {
			err = payment.Move(next, paymentv1.StatusRefundFailed, truncate(refused.Error(), maxReasonLen), a.now())
		}
	default:
		return nil, upstream("refund", err)
	}
	if err != nil {
		return nil, err
	}
	payment.Record(next, t)
	if err := a.update(ctx, next, etag); err != nil {
		return nil, err
	}
	log := a.logger(ctx).With("order_id", orderID, "refund_key", refundKey, "amount", p.GetAmount(), "payment_type", next.GetPaymentType())
	if next.GetStatus() == paymentv1.StatusRefundFailed {
		log.WarnContext(ctx, "refund refused by midtrans: an admin refunds by hand", "reason", next.GetReason())
	} else {
		log.InfoContext(ctx, "payment refunded")
	}
	return next, nil
}

// confirmPaid records what Midtrans says of a PENDING payment and returns
// it as it now is, with its ETag; ErrNotPaidYet when it is still PENDING.
func (a *App) confirmPaid(ctx context.Context, p *paymentv1.Payment, etag string) (*paymentv1.Payment, string, error) {
	t, err := a.confirmed(ctx, p)
	if errors.Is(err, ErrUnknownTransaction) {
		return nil, "", fmt.Errorf("%w: midtrans has no transaction for %s", ErrNotPaidYet, p.GetOrderId())
	}
	if err != nil {
		return nil, "", err
	}
	if p, err = a.settle(ctx, p, etag, t); err != nil {
		return nil, "", err
	}
	if p.GetStatus() == paymentv1.StatusPending {
		return nil, "", fmt.Errorf("%w: midtrans says %s for %s", ErrNotPaidYet, t.Status, p.GetOrderId())
	}
	// Written: read again for the ETag of the next write.
	return a.get(ctx, p.GetOrderId())
}

func refundReason(reason string) string {
	if reason == "" {
		return defaultRefundReason
	}
	return truncate(reason, maxReasonLen)
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
