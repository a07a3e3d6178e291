// Package orders holds the rules of an order in the purchase saga: what a new
// order must hold, and the state machine of transitions.go that every event
// and request goes through. The document is the Order of proto/order/v1: it
// is what is stored and what the outbox publishes, so the rules act on it
// directly rather than on a copy.
package orders

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	orderv1 "tenflix/proto/order/v1"
)

var (
	// ErrNotFound: no order has that id.
	ErrNotFound = errors.New("order not found")
	// ErrWrongState: the order is not in the status the request or event
	// starts from, and the saga gives no meaning to it there (a cancel of a
	// paid order; a refund of an order nobody asked to refund).
	ErrWrongState = errors.New("order is not in a state for this")
	// ErrOrderPending: the user already has an open (PENDING or PAID) order.
	ErrOrderPending = errors.New("the user already has an order in progress")
	// ErrIDTaken: another order already has this id.
	ErrIDTaken = errors.New("an order with this id already exists")
	// ErrConflict: the order changed meanwhile, again and again; reading it
	// again and retrying may succeed.
	ErrConflict = errors.New("order changed meanwhile")
)

// ValidationError is a request the rules refuse; Msg may be shown to the
// caller.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Limits of the text an order holds. They bound what a caller can make us
// store and publish on every write of the order; each is far above what a
// real value needs.
const (
	MaxIDLen     = 128  // user and plan ids (Keycloak subjects are UUIDs)
	MaxNameLen   = 200  // plan and customer names
	MaxEmailLen  = 320  // RFC 5321's path limit
	MaxReasonLen = 500  // reasons of a cancellation, refusal or refund failure
	MaxNoteLen   = 1000 // an admin's note on a refund made by hand
)

// Timeline step names (Step.name).
const (
	StepCreated             = "created"
	StepPaymentRequested    = "payment-requested"
	StepPaid                = "paid"
	StepPaidAfterCancel     = "paid-after-cancel"
	StepSubscriptionGranted = "subscription-granted"
	StepCompleted           = "completed"
	StepSubscriptionRefused = "subscription-refused"
	StepRefundRequested     = "refund-requested"
	StepRefunded            = "refunded"
	StepRefundFailed        = "refund-failed"
	StepCancelled           = "cancelled"
	StepMarkedRefunded      = "marked-refunded"
)

// timeLayout is RFC 3339 in UTC with a fixed number of digits, so that the
// stamps sort as text in the same order as in time: the SQL reads order
// history and the sweep by them, and an index over a text cast to a
// timestamp is not allowed (the cast depends on the session's time zone).
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Stamp is how the order writes a time (createdAt, updatedAt, Step.at).
func Stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// New makes the order that in asks for: PENDING, version 1, with its created
// step. Only the id, user, customer, plan and price of in are read; the
// fields the order service owns (status, timeline, version...) are set here.
func New(in *orderv1.Order, now time.Time) (*orderv1.Order, error) {
	if !IsID(in.GetId()) {
		return nil, invalid("id must be a UUID in lowercase canonical form")
	}
	userID := in.GetUserId()
	if err := checkText("userId", userID, MaxIDLen, true); err != nil {
		return nil, err
	}
	c := in.GetCustomer()
	if c.GetUserId() != "" && c.GetUserId() != userID {
		return nil, invalid("customer.userId must be the order's userId")
	}
	if err := checkText("customer.name", c.GetName(), MaxNameLen, false); err != nil {
		return nil, err
	}
	if err := checkText("customer.email", c.GetEmail(), MaxEmailLen, false); err != nil {
		return nil, err
	}
	if c.GetEmail() != "" && !strings.Contains(c.GetEmail(), "@") {
		return nil, invalid("customer.email must be an email address")
	}
	p := in.GetPlan()
	if p == nil {
		return nil, invalid("plan is required")
	}
	if err := checkText("plan.id", p.GetId(), MaxIDLen, true); err != nil {
		return nil, err
	}
	if err := checkText("plan.name", p.GetName(), MaxNameLen, true); err != nil {
		return nil, err
	}
	switch {
	case p.GetPrice() <= 0:
		return nil, invalid("plan.price must be positive")
	case p.GetDiscountPrice() < 0:
		return nil, invalid("plan.discountPrice must not be negative")
	case p.GetActivePeriod() <= 0:
		return nil, invalid("plan.activePeriod must be a positive number of days")
	}
	want := p.GetPrice()
	if p.GetDiscountPrice() > 0 {
		want = p.GetDiscountPrice()
	}
	if in.GetPrice() != want {
		return nil, invalid("price must be the plan's discount price when it has one, else its price (%d)", want)
	}

	at := Stamp(now)
	return &orderv1.Order{
		Id:     in.GetId(),
		UserId: userID,
		Customer: &orderv1.Customer{
			UserId: userID, Name: c.GetName(), Email: c.GetEmail(),
		},
		Plan: &orderv1.Plan{
			Id: p.GetId(), Name: p.GetName(), Price: p.GetPrice(),
			DiscountPrice: p.GetDiscountPrice(), ActivePeriod: p.GetActivePeriod(),
		},
		Price:     want,
		Status:    orderv1.StatusPending,
		Timeline:  []*orderv1.Step{{Name: StepCreated, At: at}},
		CreatedAt: at,
		UpdatedAt: at,
		Version:   1,
	}, nil
}

// SameRequest reports whether an existing order is the one in asks for: a
// retried create finds its first attempt committed.
func SameRequest(existing, in *orderv1.Order) bool {
	return existing.GetId() == in.GetId() && existing.GetUserId() == in.GetUserId() &&
		existing.GetPlan().GetId() == in.GetPlan().GetId() && existing.GetPrice() == in.GetPrice()
}

// IsID reports whether s is an order id: a UUID in lowercase canonical form
// (8-4-4-4-12 hex digits), the form the state key and Midtrans carry.
func IsID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// CheckText validates text a caller gives (a user id, a reason, a note):
// present when required, valid UTF-8 without NUL, at most max characters.
func CheckText(field, s string, max int, required bool) error {
	return checkText(field, s, max, required)
}

func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid("%s is required", field)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return invalid("%s must be valid UTF-8 without NUL characters", field)
	case utf8.RuneCountInString(s) > max:
		return invalid("%s must be at most %d characters", field, max)
	}
	return nil
}

// cleanText makes text from another service storable: PostgreSQL's jsonb
// refuses NUL (a write would fail on every redelivery), and the bound keeps
// the document small.
func cleanText(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return strings.TrimSpace(s)
}

// Settled reports whether the saga is done with the order: a final status,
// except a cancelled order whose money came after all (paid-after-cancel)
// and is still on its way back.
func Settled(o *orderv1.Order) bool {
	if o.GetStatus() == orderv1.StatusCancelled && o.GetRefundRequested() {
		return false
	}
	return orderv1.Final(o.GetStatus())
}
