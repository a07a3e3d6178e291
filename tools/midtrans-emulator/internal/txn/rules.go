package txn

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Simulation is what a customer (or the bank) does to a transaction: choose a
// payment type and pay, fail, be denied, or let it expire.
type Simulation struct {
	Status      Status
	Fraud       string // fraud_status; default accept
	PaymentType string // required for the first payment; may not change afterwards
	Bank        string // bank_transfer: the VA bank (default bca)
	Store       string // cstore: indomaret (default) or alfamart
}

// next lists, per status, the statuses a simulation may move it to. A card
// (credit_card) is captured, never settled from pending; the other payment
// types settle and are never captured. A challenged capture is approved
// (capture, accept), denied or cancelled.
var next = map[Status][]Status{
	None:      {Pending, Authorize, Capture, Settlement, Deny, Expire, Failure},
	Pending:   {Authorize, Capture, Settlement, Deny, Cancel, Expire, Failure},
	Authorize: {Capture, Cancel, Expire},
	Capture:   {Settlement, Cancel},
}

// PageExpired tells whether the Snap page can no longer be used to pay.
func (t *Transaction) PageExpired(now time.Time) bool {
	return !now.Before(t.PageExpiresAt)
}

// Lapse expires a pending payment whose expiry time has passed. It reports
// whether the status changed, so that the caller notifies the merchant.
func (t *Transaction) Lapse(now time.Time) bool {
	if t.Status != Pending || t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt) {
		return false
	}
	t.Status = Expire
	t.record(now, "expiry")
	return true
}

// Simulate applies s, or refuses it as Midtrans would refuse the payment.
func (t *Transaction) Simulate(now time.Time, s Simulation) error {
	switch s.Status {
	case Pending, Authorize, Capture, Settlement, Deny, Cancel, Expire, Failure:
	case Refund, PartialRefund:
		return &Error{400, "refunds are made with POST /v2/{order_id}/refund"}
	default:
		return &Error{400, fmt.Sprintf("transaction_status %q is not one of pending, authorize, capture, settlement, deny, cancel, expire, failure", s.Status)}
	}
	paymentType := t.PaymentType
	switch {
	case paymentType == "" && s.PaymentType == "":
		return &Error{400, "payment_type is required for the first payment"}
	case paymentType == "":
		if !slices.Contains(PaymentTypes, s.PaymentType) {
			return &Error{400, fmt.Sprintf("payment_type %q is not one of %v", s.PaymentType, PaymentTypes)}
		}
		paymentType = s.PaymentType
	case s.PaymentType != "" && s.PaymentType != paymentType:
		return &Error{412, fmt.Sprintf("the transaction is already paid by %s", paymentType)}
	}
	card := paymentType == CreditCard
	fraud := s.Fraud
	if fraud == "" {
		fraud = FraudAccept
	}
	switch {
	case fraud != FraudAccept && fraud != FraudChallenge && fraud != FraudDeny:
		return &Error{400, fmt.Sprintf("fraud_status %q is not one of accept, challenge, deny", fraud)}
	case fraud == FraudChallenge && (s.Status != Capture || !card):
		return &Error{400, "fraud_status challenge exists only for a credit_card capture"}
	case fraud == FraudDeny && s.Status != Deny:
		return &Error{400, "fraud_status deny goes with transaction_status deny"}
	case (s.Status == Capture || s.Status == Authorize) && !card:
		return &Error{400, fmt.Sprintf("%s exists only for credit_card, not %s", s.Status, paymentType)}
	}
	if err := t.allow(now, s.Status, fraud, card); err != nil {
		return err
	}
	if t.PaymentType == "" {
		if err := t.choose(now, paymentType, s); err != nil {
			return err
		}
	}
	t.Status, t.FraudStatus = s.Status, fraud
	if s.Status == Settlement {
		t.SettlementAt = now
	}
	t.record(now, "simulate")
	return nil
}

func (t *Transaction) allow(now time.Time, to Status, fraud string, card bool) error {
	if t.Status == None && t.PageExpired(now) {
		return &Error{407, "Expired transaction: the Snap page has expired"}
	}
	refuse := &Error{412, fmt.Sprintf("Merchant cannot modify the status of the transaction: %s cannot move to %s", t.describe(), to)}
	if t.Status == Capture && t.FraudStatus == FraudChallenge {
		// A challenge is approved, denied or cancelled; only then settled.
		if (to == Capture && fraud == FraudAccept) || to == Deny || to == Cancel {
			return nil
		}
		return refuse
	}
	if !slices.Contains(next[t.Status], to) {
		return refuse
	}
	if to == Settlement && card && t.Status != Capture {
		return &Error{412, "a credit_card payment is captured first, then settled"}
	}
	return nil
}

func (t *Transaction) describe() string {
	if t.Status == None {
		return "a Snap session without payment"
	}
	if t.FraudStatus != "" && t.FraudStatus != FraudAccept {
		return fmt.Sprintf("%s (%s)", t.Status, t.FraudStatus)
	}
	return string(t.Status)
}

// choose makes the Snap session a Core API transaction: the customer picked
// a payment type; the payment expiry starts now unless expiry.start_time was given.
func (t *Transaction) choose(now time.Time, paymentType string, s Simulation) error {
	if len(t.EnabledPayments) > 0 && !slices.Contains(t.EnabledPayments, SnapPaymentName(paymentType, s.Bank, s.Store)) {
		return &Error{402, fmt.Sprintf("Merchant doesn't have access for this payment type: %s is not in enabled_payments %v",
			SnapPaymentName(paymentType, s.Bank, s.Store), t.EnabledPayments)}
	}
	switch paymentType {
	case BankTransfer:
		t.Bank = s.Bank
		if t.Bank == "" {
			t.Bank = "bca"
		}
		if !slices.Contains(VABanks, t.Bank) {
			return &Error{400, fmt.Sprintf("bank %q is not one of %v", t.Bank, VABanks)}
		}
		t.PaymentNumber = digits(map[string]int{"bca": 11, "bni": 16, "bri": 18, "cimb": 16, "permata": 16}[t.Bank])
	case Echannel:
		t.PaymentNumber = digits(12) // bill_key
	case Cstore:
		t.Store = s.Store
		if t.Store == "" {
			t.Store = "indomaret"
		}
		if !slices.Contains(Stores, t.Store) {
			return &Error{400, fmt.Sprintf("store %q is not one of %v", t.Store, Stores)}
		}
		t.PaymentNumber = digits(16)
	case CreditCard:
		t.Bank = "bni" // the acquiring bank
	}
	t.PaymentType = paymentType
	t.TransactionID = NewUUID()
	t.TransactionAt = now
	start := t.ExpiryStart
	if start.IsZero() {
		start = now
	}
	expiry := t.PaymentExpiry
	if expiry <= 0 {
		expiry = DefaultPaymentExpiry
	}
	t.ExpiresAt = start.Add(expiry)
	return nil
}

// SnapPaymentName is the enabled_payments name of a payment type.
func SnapPaymentName(paymentType, bank, store string) string {
	switch paymentType {
	case BankTransfer:
		if bank == "" {
			bank = "bca"
		}
		return bank + "_va"
	case Cstore:
		if store == "" {
			store = "indomaret"
		}
		return store
	}
	return paymentType
}

// Cancel voids a transaction that is not settled yet: pending, authorized or
// captured (with or without challenge). Without a payment type there is no
// Core API transaction to cancel.
func (t *Transaction) Cancel(now time.Time) error {
	switch t.Status {
	case None:
		return ErrNotFound
	case Pending, Authorize, Capture:
		t.Status = Cancel
		t.record(now, "cancel")
		return nil
	default:
		return ErrCannotModify
	}
}

// RefundTo refunds amount (0: what is left) under key. The same key again is
// the same refund, answered again and moving no money; with another amount
// it is a duplicate. Only a settled transaction of a refundable payment type
// is refunded: a capture is cancelled instead, a bank transfer refunded by hand.
func (t *Transaction) RefundTo(now time.Time, key string, amount int64, reason string) (r RefundRecord, replay bool, err error) {
	if t.Status == None {
		return RefundRecord{}, false, ErrNotFound
	}
	if key != "" {
		for _, r := range t.Refunds {
			if r.Key != key {
				continue
			}
			if amount != 0 && amount != r.Amount {
				return RefundRecord{}, false, ErrRefundKey
			}
			return r, true, nil
		}
	}
	if (t.Status != Settlement && t.Status != PartialRefund) || !slices.Contains(refundable, t.PaymentType) {
		return RefundRecord{}, false, ErrCannotModify
	}
	left := t.GrossAmount - t.Refunded()
	if amount == 0 {
		amount = left
	}
	if amount <= 0 || amount > left || (amount != t.GrossAmount && slices.Contains(noPartialRefund, t.PaymentType)) {
		return RefundRecord{}, false, ErrRefundAmount
	}
	if key == "" {
		key = NewUUID() // "If you don't sent us the refund_key we will ... generate the refund_key"
	}
	r = RefundRecord{ID: int64(len(t.Refunds) + 1), UUID: NewUUID(), Key: key, Amount: amount, Reason: reason, CreatedAt: now}
	t.Refunds = append(t.Refunds, r)
	t.Status = PartialRefund
	if amount == left {
		t.Status = Refund
	}
	t.record(now, "refund")
	return r, false, nil
}

func digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}
