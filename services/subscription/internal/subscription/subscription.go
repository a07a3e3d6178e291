// Package subscription holds the subscription service's rules: what a valid
// plan is, how a paid order is granted or refused, and when a subscription
// entitles its user. Stdlib only; the use cases map documents to these types.
package subscription

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Statuses of a subscription (the values of subscriptionv1.StatusActive and
// StatusExpired, which the stored documents carry).
const (
	StatusActive  = "ACTIVE"
	StatusExpired = "EXPIRED"
)

// Why a paid order is refused (subscriptionv1.Refused*).
const (
	RefusedActiveExists = "active-subscription-exists"
	RefusedPlanInactive = "plan-inactive"
	RefusedPlanNotFound = "plan-not-found"
)

var (
	// ErrNotFound: no such plan, subscription or refusal.
	ErrNotFound = errors.New("not found")
	// ErrConflict: another request changed the document meanwhile (or the
	// caller's If-Match names an older version); reading again may succeed.
	ErrConflict = errors.New("changed meanwhile")
	// ErrPlanNameTaken: another plan has this name, ignoring case.
	ErrPlanNameTaken = errors.New("plan name taken")
	// ErrActiveExists: the store refused a second ACTIVE subscription of one
	// user (its unique index): a grant for another order won the race.
	ErrActiveExists = errors.New("the user already has an ACTIVE subscription")
	// ErrMalformedOrder: a paid-order event that can never be granted or
	// refused (no order id, no user, no plan): redelivering it cannot help.
	ErrMalformedOrder = errors.New("malformed paid order")
)

// ValidationError is bad input, with a message fit for the client.
type ValidationError struct {
	Msg string
}

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// TimeLayout is how every time is stored: RFC 3339 in UTC, to the second,
// always the same width, so that stored times compare as text in time order
// (the expiry query and its index compare endAt that way).
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime renders t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Entitled reports whether a subscription in status, ending at endAt, lets
// its user watch at now: ACTIVE and not yet at its end, whether or not the
// expiry job has run. Any doubt (an end time that does not parse) is no.
func Entitled(status, endAt string, now time.Time) bool {
	if status != StatusActive {
		return false
	}
	end, err := time.Parse(time.RFC3339, endAt)
	return err == nil && now.Before(end)
}

// DueForExpiry reports whether the expiry job should mark a subscription
// EXPIRED: it is ACTIVE but no longer entitles its user.
func DueForExpiry(status, endAt string, now time.Time) bool {
	return status == StatusActive && !Entitled(status, endAt, now)
}

// Term is the span a grant starts now and lasts the days paid for.
func Term(now time.Time, days int) (startAt, endAt string) {
	start := now.UTC().Truncate(time.Second)
	return FormatTime(start), FormatTime(start.AddDate(0, 0, days))
}

// Limits of a plan.
const (
	MaxNameLen        = 100  // characters
	MaxDescriptionLen = 2000 // characters
	MinActivePeriod   = 1    // days
	MaxActivePeriod   = 3650 // days: ten years; longer is a typo, not a product
	// MaxPrice (IDR) keeps every price exact as a JSON number in any client
	// (JavaScript's safe integers end at 2^53).
	MaxPrice = 1_000_000_000_000
)

// PlanInput is what an admin sets on a plan.
type PlanInput struct {
	Name          string
	Price         int64
	DiscountPrice *int64 // nil: none
	Description   string
	ActivePeriod  int64 // days
}

// Validate returns the input as stored (the name trimmed), or a
// *ValidationError naming the first bad field.
func (in PlanInput) Validate() (PlanInput, error) {
	in.Name = strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		return in, invalid("name is required")
	case n > MaxNameLen:
		return in, invalid("name must be at most %d characters", MaxNameLen)
	case strings.ContainsFunc(in.Name, unicode.IsControl):
		return in, invalid("name must not contain control characters")
	}
	if in.Price <= 0 || in.Price > MaxPrice {
		return in, invalid("price must be a whole number of IDR from 1 to %d", int64(MaxPrice))
	}
	if d := in.DiscountPrice; d != nil && (*d <= 0 || *d >= in.Price) {
		return in, invalid("discountPrice must be more than 0 and less than price (omit it, or send null, for no discount)")
	}
	if utf8.RuneCountInString(in.Description) > MaxDescriptionLen {
		return in, invalid("description must be at most %d characters", MaxDescriptionLen)
	}
	if strings.ContainsFunc(in.Description, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
	}) {
		return in, invalid("description must not contain control characters other than line breaks and tabs")
	}
	if in.ActivePeriod < MinActivePeriod || in.ActivePeriod > MaxActivePeriod {
		return in, invalid("activePeriod must be a whole number of days from %d to %d", MinActivePeriod, MaxActivePeriod)
	}
	return in, nil
}
