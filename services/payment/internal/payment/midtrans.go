package payment

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	paymentv1 "tenflix/proto/payment/v1"
)

// Midtrans transaction statuses (transaction_status).
const (
	MidtransAuthorize         = "authorize"
	MidtransCapture           = "capture"
	MidtransSettlement        = "settlement"
	MidtransPending           = "pending"
	MidtransDeny              = "deny"
	MidtransCancel            = "cancel"
	MidtransExpire            = "expire"
	MidtransFailure           = "failure"
	MidtransRefund            = "refund"
	MidtransPartialRefund     = "partial_refund"
	MidtransChargeback        = "chargeback"
	MidtransPartialChargeback = "partial_chargeback"
)

// MidtransStatuses is every transaction_status Midtrans documents.
var MidtransStatuses = []string{
	MidtransAuthorize, MidtransCapture, MidtransSettlement, MidtransPending, MidtransDeny, MidtransCancel,
	MidtransExpire, MidtransFailure, MidtransRefund, MidtransPartialRefund, MidtransChargeback, MidtransPartialChargeback,
}

// Midtrans fraud statuses (fraud_status).
const (
	FraudAccept    = "accept"
	FraudChallenge = "challenge"
	FraudDeny      = "deny"
)

// Action is what a confirmed Midtrans status asks of a payment.
type Action int

const (
	// Nothing: no write (still pending, a duplicate, late, or final).
	Nothing Action = iota
	// MarkPaid: PENDING -> PAID.
	MarkPaid
	// MarkCancelled: PENDING -> CANCELLED with Decision.Reason.
	MarkCancelled
	// CancelAtMidtrans: cancel the transaction at Midtrans first, then
	// PENDING -> CANCELLED with Decision.Reason.
	CancelAtMidtrans
)

// Decision is what to do with a payment in a status, given the status
// Midtrans confirmed.
type Decision struct {
	Action Action
	Reason string // of a cancellation
	// Note says why nothing happens when that is not routine, for the log.
	Note string
	// Alert marks a Note a person should look at: money and our record
	// disagree (paid at Midtrans after we cancelled, refunded or charged
	// back without us, cancelled after we recorded it paid).
	Alert bool
}

// Decide maps the status Midtrans confirmed (t) to what happens to a payment
// in status current. Only a PENDING payment ever moves here; our own refunds
// are recorded by the refund use case, not by what Midtrans later reports.
func Decide(current string, t Transaction) Decision {
	paid := t.Status == MidtransSettlement || (t.Status == MidtransCapture && t.FraudStatus == FraudAccept)
	failed := t.Status == MidtransDeny || t.Status == MidtransCancel || t.Status == MidtransExpire || t.Status == MidtransFailure
	reversed := t.Status == MidtransRefund || t.Status == MidtransPartialRefund ||
		t.Status == MidtransChargeback || t.Status == MidtransPartialChargeback
	waiting := t.Status == MidtransPending || t.Status == MidtransAuthorize

	switch current {
	case paymentv1.StatusPending:
		switch {
		case paid:
			return Decision{Action: MarkPaid}
		case t.Status == MidtransCapture && t.FraudStatus == FraudChallenge:
			return Decision{Action: CancelAtMidtrans, Reason: ReasonFraudChallenge}
		case t.Status == MidtransCapture:
			return Decision{Note: fmt.Sprintf("capture with fraud status %q: waiting for accept or challenge", t.FraudStatus)}
		case failed:
			return Decision{Action: MarkCancelled, Reason: t.Status}
		case waiting:
			return Decision{}
		case reversed:
			return Decision{Note: fmt.Sprintf("midtrans reports %s for a payment never recorded paid", t.Status), Alert: true}
		}
	case paymentv1.StatusPaid:
		switch {
		case paid, waiting:
			return Decision{} // a duplicate or a late notification
		case reversed:
			return Decision{Note: fmt.Sprintf("midtrans reports %s; refunds are recorded by the refund use case", t.Status),
				Alert: t.Status == MidtransChargeback || t.Status == MidtransPartialChargeback}
		case failed, t.Status == MidtransCapture:
			return Decision{Note: fmt.Sprintf("midtrans reports %s (fraud %q) for a paid payment", t.Status, t.FraudStatus), Alert: failed}
		}
	case paymentv1.StatusCancelled:
		if paid {
			return Decision{Note: fmt.Sprintf("midtrans reports %s for a cancelled payment", t.Status), Alert: true}
		}
		return Decision{}
	case paymentv1.StatusRefunded, paymentv1.StatusRefundFailed:
		return Decision{}
	default:
		return Decision{Note: fmt.Sprintf("payment in unknown status %q", current), Alert: true}
	}
	return Decision{Note: fmt.Sprintf("unknown midtrans transaction status %q", t.Status)}
}

// Waiting reports whether Midtrans still waits for the customer (pending,
// or a card authorised but not captured): what an expired payment is
// cancelled from.
func Waiting(t Transaction) bool {
	return t.Status == MidtransPending || t.Status == MidtransAuthorize
}

// SignatureValid checks a notification's signature_key: the hex SHA-512 of
// order_id + status_code + gross_amount + the server key, over the strings
// exactly as received ("100000.00" and "100000" are different strings), in
// constant time.
func SignatureValid(orderID, statusCode, grossAmount, serverKey, signature string) bool {
	got, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	want := sha512.Sum512([]byte(orderID + statusCode + grossAmount + serverKey))
	return subtle.ConstantTimeCompare(got, want[:]) == 1
}

// Signature is the signature_key Midtrans computes for a notification.
func Signature(orderID, statusCode, grossAmount, serverKey string) string {
	sum := sha512.Sum512([]byte(orderID + statusCode + grossAmount + serverKey))
	return hex.EncodeToString(sum[:])
}

// maxAmountDigits bounds the whole rupiah of an amount Midtrans writes:
// enough for any payment, far from int64's limit.
const maxAmountDigits = 15

var errAmount = errors.New("not a whole rupiah amount")

// ParseAmount reads a Midtrans gross_amount as whole rupiah: digits,
// optionally a point and digits that are all zero ("100000.00"). A sign, an
// exponent, spaces or a fraction of a rupiah are refused, so that an amount
// compares exactly, never through a float.
func ParseAmount(s string) (int64, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxAmountDigits || !digits(whole) || (hasPoint && (frac == "" || !digits(frac))) {
		return 0, fmt.Errorf("gross_amount %q: %w", s, errAmount)
	}
	if strings.Trim(frac, "0") != "" {
		return 0, fmt.Errorf("gross_amount %q: %w", s, errAmount)
	}
	return strconv.ParseInt(whole, 10, 64)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
