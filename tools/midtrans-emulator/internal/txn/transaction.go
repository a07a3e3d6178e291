// Package txn holds the rules of a Midtrans transaction as the emulator keeps
// it: a Snap session that becomes a Core API transaction once a payment type
// is chosen, its status machine, cancels, refunds and expiry.
package txn

import (
	"crypto/rand"
	"fmt"
	"slices"
	"time"
)

// Status is Midtrans' transaction_status.
type Status string

const (
	None          Status = "" // Snap session only: no payment type chosen yet
	Pending       Status = "pending"
	Authorize     Status = "authorize"
	Capture       Status = "capture"
	Settlement    Status = "settlement"
	Deny          Status = "deny"
	Cancel        Status = "cancel"
	Expire        Status = "expire"
	Failure       Status = "failure"
	Refund        Status = "refund"
	PartialRefund Status = "partial_refund"
)

// Fraud statuses (fraud_status).
const (
	FraudAccept    = "accept"
	FraudChallenge = "challenge"
	FraudDeny      = "deny"
)

// Payment types the emulator knows (payment_type, as Core API names them).
const (
	CreditCard   = "credit_card"
	BankTransfer = "bank_transfer"
	Echannel     = "echannel"
	Gopay        = "gopay"
	Shopeepay    = "shopeepay"
	QRIS         = "qris"
	Dana         = "dana"
	OVO          = "ovo"
	Cstore       = "cstore"
	Akulaku      = "akulaku"
	Kredivo      = "kredivo"
)

// PaymentTypes is every payment type the simulation accepts.
var PaymentTypes = []string{CreditCard, BankTransfer, Echannel, Gopay, Shopeepay, QRIS, Dana, OVO, Cstore, Akulaku, Kredivo}

// refundable are the payment types Midtrans refunds by API ("Refund
// transaction is supported only for credit_card, gopay, shopeepay, dana, ovo,
// QRIS, kredivo and akulaku"); bank transfers and VAs are refunded by hand.
var refundable = []string{CreditCard, Gopay, Shopeepay, Dana, OVO, QRIS, Kredivo, Akulaku}

// noPartialRefund: "Shopeepay and OVO does not support partial refund".
var noPartialRefund = []string{Shopeepay, OVO}

// VA banks for bank_transfer; permata answers permata_va_number, the others va_numbers.
var VABanks = []string{"bca", "bni", "bri", "cimb", "permata"}

// Stores for cstore.
var Stores = []string{"indomaret", "alfamart"}

// Defaults of a Snap session: the page and a chosen payment method both
// expire after 24 hours unless the request says otherwise.
const (
	DefaultPageExpiry    = 24 * time.Hour
	DefaultPaymentExpiry = 24 * time.Hour
)

// Item is one of item_details.
type Item struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Price    int64  `json:"price"`
	Quantity int64  `json:"quantity"`
}

// Customer is the part of customer_details the emulator shows.
type Customer struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// RefundRecord is one accepted refund.
type RefundRecord struct {
	ID        int64     `json:"refund_chargeback_id"`
	UUID      string    `json:"refund_chargeback_uuid"`
	Key       string    `json:"refund_key"`
	Amount    int64     `json:"amount"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// Change is one step of the status history.
type Change struct {
	At     time.Time `json:"at"`
	Status Status    `json:"transaction_status"`
	Fraud  string    `json:"fraud_status,omitempty"`
	By     string    `json:"by"` // simulate, cancel, refund, expiry
}

// Delivery is one notification sent and what the endpoint answered.
type Delivery struct {
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	Status     Status    `json:"transaction_status"`
	StatusCode string    `json:"status_code"`
	HTTPStatus int       `json:"http_status"` // 0: no answer (see error)
	Error      string    `json:"error,omitempty"`
	Resent     bool      `json:"resent,omitempty"` // a duplicate sent by /simulate/{id}/notify
}

// Transaction is one order at the emulated Midtrans.
type Transaction struct {
	OrderID          string    `json:"order_id"`
	Token            string    `json:"token"`
	GrossAmount      int64     `json:"gross_amount"`
	Items            []Item    `json:"item_details,omitempty"`
	Customer         *Customer `json:"customer_details,omitempty"`
	EnabledPayments  []string  `json:"enabled_payments,omitempty"`
	FinishURL        string    `json:"finish_url,omitempty"`
	NotificationURLs []string  `json:"notification_urls"`
	CreatedAt        time.Time `json:"created_at"`
	PageExpiresAt    time.Time `json:"page_expires_at"`
	// ExpiryStart is expiry.start_time; zero: the payment expiry counts from
	// the moment a payment type is chosen, as Snap does.
	ExpiryStart   time.Time      `json:"expiry_start,omitzero"`
	PaymentExpiry time.Duration  `json:"payment_expiry"`
	TransactionID string         `json:"transaction_id,omitempty"`
	PaymentType   string         `json:"payment_type,omitempty"`
	Bank          string         `json:"bank,omitempty"`  // VA bank (bank_transfer), acquirer (credit_card)
	Store         string         `json:"store,omitempty"` // cstore
	PaymentNumber string         `json:"payment_number,omitempty"`
	Status        Status         `json:"transaction_status"`
	FraudStatus   string         `json:"fraud_status,omitempty"`
	TransactionAt time.Time      `json:"transaction_time,omitzero"`
	SettlementAt  time.Time      `json:"settlement_time,omitzero"`
	ExpiresAt     time.Time      `json:"expiry_time,omitzero"`
	Refunds       []RefundRecord `json:"refunds,omitempty"`
	History       []Change       `json:"history"`
	Notifications []Delivery     `json:"notifications"`
}

// Clone returns a copy that shares no slice with t.
func (t *Transaction) Clone() Transaction {
	c := *t
	c.Items = slices.Clone(t.Items)
	if t.Customer != nil {
		cust := *t.Customer
		c.Customer = &cust
	}
	c.EnabledPayments = slices.Clone(t.EnabledPayments)
	c.NotificationURLs = slices.Clone(t.NotificationURLs)
	c.Refunds = slices.Clone(t.Refunds)
	c.History = slices.Clone(t.History)
	c.Notifications = slices.Clone(t.Notifications)
	return c
}

// Paid tells whether money was taken (the order id is then "paid and utilized").
func (t *Transaction) Paid() bool {
	switch t.Status {
	case Capture, Settlement, Refund, PartialRefund, Authorize:
		return true
	}
	return false
}

// Final tells whether the status can no longer move but by a refund.
func (t *Transaction) Final() bool {
	switch t.Status {
	case Deny, Cancel, Expire, Failure, Refund:
		return true
	}
	return false
}

// Refunded is the sum of every refund.
func (t *Transaction) Refunded() int64 {
	var sum int64
	for _, r := range t.Refunds {
		sum += r.Amount
	}
	return sum
}

// StatusCode is the status_code Midtrans gives the current status: 200
// success, 201 pending (and a card capture under challenge), 202 denied or
// cancelled, 407 expired.
func (t *Transaction) StatusCode() string {
	switch t.Status {
	case Pending:
		return "201"
	case Capture:
		if t.FraudStatus == FraudChallenge {
			return "201"
		}
		return "200"
	case Deny, Cancel, Failure:
		return "202"
	case Expire:
		return "407"
	default:
		return "200"
	}
}

func (t *Transaction) record(now time.Time, by string) {
	t.History = append(t.History, Change{At: now, Status: t.Status, Fraud: t.FraudStatus, By: by})
}

// Error is a refusal in Midtrans' terms: its status_code and status_message.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// The refusals whose wording Midtrans documents.
var (
	ErrNotFound     = &Error{404, "Transaction doesn't exist."}
	ErrCannotModify = &Error{412, "Merchant cannot modify the status of the transaction"}
	ErrRefundAmount = &Error{414, "Refund request is rejected due to invalid amount"}
	ErrRefundKey    = &Error{406, "Duplicate refund ID"}
)

// NewUUID returns a random (version 4) UUID, the shape of Snap tokens and
// Midtrans transaction ids.
func NewUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
