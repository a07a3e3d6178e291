// Package inbox is what the notification service tells people: the kinds of
// notification, their wording, and a user's preferences. Only the standard
// library: adapters store and deliver what is defined here.
package inbox

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is the kind of a notification (the `type` clients see).
type Type string

const (
	NewMovie           Type = "new_movie"
	SubscriptionActive Type = "subscription_active"
	PaymentCancelled   Type = "payment_cancelled"
	RefundIssued       Type = "refund_issued"
	RefundFailed       Type = "refund_failed" // needs a person: support is told to act
)

// ErrNotFound: no such notification for this user (another user's is not
// found either: its existence is not revealed).
var ErrNotFound = errors.New("notification not found")

// Notification is one inbox item.
type Notification struct {
	ID        string
	UserID    string
	Type      Type
	Title     string
	Body      string
	MovieID   string // new_movie
	OrderID   string // order outcomes
	CreatedAt time.Time
	ReadAt    *time.Time
}

// Notice is a notification before it is addressed: what one event says,
// and the key that makes it once per user (EventKey).
type Notice struct {
	EventKey string
	Type     Type
	Title    string
	Body     string
	MovieID  string
	OrderID  string
}

// Preferences are a user's choices. Order outcomes always reach the inbox.
type Preferences struct {
	NewMovies bool // new-movie notices in the inbox
	Email     bool // every notice also by email
}

// DefaultPreferences apply until the user says otherwise: new movies in the
// inbox, no email (opt-in).
var DefaultPreferences = Preferences{NewMovies: true, Email: false}

// Limits on stored text: a movie name or a reason comes from another
// service and is shown in a list; cut, never refused.
const (
	maxTitle = 200
	maxBody  = 1000
)

// MovieAnnounced is the notice of a movie that can now be watched.
func MovieAnnounced(movieID, name, synopsis string) Notice {
	name = clip(name, maxTitle-len("New on Tenflix: "))
	body := "Now playing on Tenflix."
	if s := strings.TrimSpace(synopsis); s != "" {
		body = s
	}
	return Notice{
		EventKey: "movie:" + movieID, Type: NewMovie, MovieID: movieID,
		Title: "New on Tenflix: " + name, Body: clip(body, maxBody),
	}
}

// SubscriptionGranted: the paid plan is active until endAt.
func SubscriptionGranted(orderID, planName string, endAt time.Time) Notice {
	body := "Your subscription is active. Enjoy watching!"
	if !endAt.IsZero() {
		body = fmt.Sprintf("Your subscription is active until %s. Enjoy watching!", endAt.UTC().Format("2 January 2006"))
	}
	return Notice{
		EventKey: "order:" + orderID + ":subscription-active", Type: SubscriptionActive, OrderID: orderID,
		Title: clip(planOr(planName)+": subscription active", maxTitle), Body: body,
	}
}

// OrderCancelled: the payment did not go through (cancelled, expired, denied).
func OrderCancelled(orderID, planName, reason string) Notice {
	return Notice{
		EventKey: "order:" + orderID + ":cancelled", Type: PaymentCancelled, OrderID: orderID,
		Title: clip(planOr(planName)+": payment cancelled", maxTitle),
		Body:  clip(withReason("Your payment was cancelled and nothing was charged. You can order again.", reason), maxBody),
	}
}

// OrderRefunded: the payment was returned (the plan could not be granted).
func OrderRefunded(orderID, planName, reason string) Notice {
	return Notice{
		EventKey: "order:" + orderID + ":refunded", Type: RefundIssued, OrderID: orderID,
		Title: clip(planOr(planName)+": refund issued", maxTitle),
		Body:  clip(withReason("Your payment was refunded.", reason), maxBody),
	}
}

// OrderRefundFailed: the refund could not be made automatically; a person
// at Tenflix has to complete it.
func OrderRefundFailed(orderID, planName, reason string) Notice {
	return Notice{
		EventKey: "order:" + orderID + ":refund-failed", Type: RefundFailed, OrderID: orderID,
		Title: clip(planOr(planName)+": refund needs our attention", maxTitle),
		Body: clip(withReason("We could not refund your payment automatically. Our support team will "+
			"complete the refund by hand and contact you; nothing is needed from you.", reason), maxBody),
	}
}

// planOr names the plan, or Tenflix when an order carried no plan name.
func planOr(name string) string {
	if strings.TrimSpace(name) == "" {
		return "Tenflix"
	}
	return name
}

func withReason(s, reason string) string {
	if r := strings.TrimSpace(reason); r != "" {
		return s + " (" + r + ")"
	}
	return s
}

// clip cuts s to at most n bytes on a rune boundary, and replaces what is
// not valid UTF-8 or is a control character: stored text is shown as is.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r < 0x20 && r != '\n' || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(strings.TrimSpace(s), ""))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
