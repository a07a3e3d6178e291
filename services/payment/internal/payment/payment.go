// Package payment holds the payment service's rules: the state machine of a
// Payment, what each Midtrans transaction status means for it, the
// notification signature, Midtrans' amounts, and what a valid payment
// request is. It imports only the standard library and the payment
// document's package.
package payment

import (
	"errors"
	"fmt"
	"time"

	paymentv1 "tenflix/proto/payment/v1"
)

// Reasons recorded on a payment (Payment.reason) besides Midtrans' own
// status names (deny, cancel, expire, failure).
const (
	// ReasonFraudChallenge: Midtrans' fraud detection challenged a card
	// capture; nobody reviews challenges here, so it is cancelled.
	ReasonFraudChallenge = "fraud-challenge"
	// ReasonExpired: nobody paid within PAYMENT_EXPIRY; payment cancelled it.
	ReasonExpired = "expired"
)

var (
	// ErrFinal: the payment's status is final; nothing moves it.
	ErrFinal = errors.New("payment status is final")
	// ErrTransition: the state machine has no such step.
	ErrTransition = errors.New("payment cannot move so")
	// ErrTransactionTaken: another payment already holds this Midtrans
	// transaction id (the unique index of migration 001).
	ErrTransactionTaken = errors.New("midtrans transaction id already belongs to another payment")
)

// moves is the state machine: PENDING -> PAID | CANCELLED,
// PAID -> REFUNDED | REFUND_FAILED. The rest is final.
var moves = map[string][]string{
	paymentv1.StatusPending: {paymentv1.StatusPaid, paymentv1.StatusCancelled},
	paymentv1.StatusPaid:    {paymentv1.StatusRefunded, paymentv1.StatusRefundFailed},
}

var eventTypes = map[string]string{
	paymentv1.StatusPending:      paymentv1.EventRequested,
	paymentv1.StatusPaid:         paymentv1.EventPaid,
	paymentv1.StatusCancelled:    paymentv1.EventCancelled,
	paymentv1.StatusRefunded:     paymentv1.EventRefunded,
	paymentv1.StatusRefundFailed: paymentv1.EventRefundFailed,
}

// Final reports whether a status never moves again. PAID is not final: a
// refund may follow.
func Final(status string) bool {
	_, known := eventTypes[status]
	_, movable := moves[status]
	return known && !movable
}

// CanMove reports whether the state machine allows from -> to.
func CanMove(from, to string) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// EventType is the CloudEvent type a write of a payment in status announces.
func EventType(status string) (string, error) {
	t, ok := eventTypes[status]
	if !ok {
		return "", fmt.Errorf("no event type for payment status %q", status)
	}
	return t, nil
}

// Move takes p one step of the state machine, to status to, with reason
// (why it was cancelled or its refund failed; kept when empty), one version
// up.
func Move(p *paymentv1.Payment, to, reason string, now time.Time) error {
	if Final(p.GetStatus()) {
		return fmt.Errorf("%w: %s is %s", ErrFinal, p.GetOrderId(), p.GetStatus())
	}
	if !CanMove(p.GetStatus(), to) {
		return fmt.Errorf("%w: %s from %s to %s", ErrTransition, p.GetOrderId(), p.GetStatus(), to)
	}
	p.Status = to
	if reason != "" {
		p.Reason = reason
	}
	p.UpdatedAt = Timestamp(now)
	p.Version++
	return nil
}

// Reannounce readies p to be written again unchanged but for its version:
// the outbox then publishes its status once more, so a lost event reaches
// its consumers (docs/saga.md: finding the effect already done re-announces
// it).
func Reannounce(p *paymentv1.Payment) { p.Version++ }

// Transaction is what Midtrans says of an order's transaction (its status
// API, or the answer to a cancel or refund).
type Transaction struct {
	OrderID       string
	TransactionID string
	Status        string // transaction_status
	FraudStatus   string
	PaymentType   string
	GrossAmount   string // as Midtrans writes it: "100000.00"
}

// Record copies what Midtrans said of the transaction onto p (fields it
// left empty keep their value).
func Record(p *paymentv1.Payment, t Transaction) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.TransactionId, t.TransactionID)
	set(&p.PaymentType, t.PaymentType)
	set(&p.TransactionStatus, t.Status)
	set(&p.FraudStatus, t.FraudStatus)
}

// Timestamp is how documents write times: RFC 3339, UTC.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Expired reports whether p was created longer than expiry before now. A
// creation time that cannot be read counts as expired: a payment nobody can
// date should not wait forever.
func Expired(p *paymentv1.Payment, now time.Time, expiry time.Duration) bool {
	created, err := time.Parse(time.RFC3339, p.GetCreatedAt())
	return err != nil || now.Sub(created) > expiry
}
