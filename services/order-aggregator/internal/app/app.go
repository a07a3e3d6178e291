// Package app holds the order API's use cases: place an order (docs/saga.md,
// "Placing an order"), read one order with its payment and subscription,
// list a user's orders, relay Midtrans' notifications, and the admin's view of
// stuck orders and manual refunds. The aggregator owns no state: every use
// case is calls to the order, payment and subscription services, through the
// interfaces declared here.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
	"tenflix/services/order-aggregator/internal/remote"
)

// Orders is the order service (internal/order). Failures are *remote.Refusal
// or wrap remote.ErrUnavailable.
type Orders interface {
	Create(ctx context.Context, o *orderv1.Order) (*orderv1.Order, error)
	Cancel(ctx context.Context, id, reason string) error
	Get(ctx context.Context, id string) (*orderv1.Order, error)
	List(ctx context.Context, userID string, page, size int) ([]*orderv1.Order, int, error)
	Stuck(ctx context.Context, olderThan time.Duration) ([]*orderv1.Order, error)
	MarkRefunded(ctx context.Context, id, note, by string) (*orderv1.Order, error)
}

// Payments is the payment service (internal/payment).
type Payments interface {
	Create(ctx context.Context, o *orderv1.Order) (*paymentv1.Payment, error)
	Get(ctx context.Context, orderID string) (*paymentv1.Payment, error)
	Notify(ctx context.Context, notification []byte) error
}

// Subscriptions is the subscription service (internal/subscription).
type Subscriptions interface {
	Plan(ctx context.Context, id string) (*subscriptionv1.Plan, error)
	Entitled(ctx context.Context, userID string) (bool, error)
	Outcome(ctx context.Context, orderID string) (*subscriptionv1.Subscription, *subscriptionv1.Refusal, error)
}

// Errors of the use cases (internal/httpapi maps them to the envelope).
var (
	ErrPlanNotFound       = errors.New("plan not found")
	ErrPlanInactive       = errors.New("plan inactive")
	ErrSubscriptionActive = errors.New("subscription already active")
	ErrOrderPending       = errors.New("an order is in flight")
	ErrOrderNotFound      = errors.New("order not found")
	// ErrPaymentFailed: Snap could not be started; the order was cancelled.
	ErrPaymentFailed = errors.New("payment could not be started")
	// ErrUpstreamRefused: a service refused a request the aggregator built
	// itself; not the client's fault, and retrying will not help.
	ErrUpstreamRefused = errors.New("upstream refused the request")
	// ErrUnavailable: a service the use case needs gave no usable answer.
	ErrUnavailable = errors.New("a service is unavailable")
)

// ValidationError is bad client input; Msg is fit for the client.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Refused is a service's refusal that a use case passes on as it is: its
// status and envelope code (a mark-refunded that is not allowed, a Midtrans
// notification payment rejects).
type Refused struct {
	Service string
	Status  int
	Code    string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("%s refused: %d %s", e.Service, e.Status, e.Code)
}

// Bounds of the client's input.
const (
	MaxPageSize = 100
	// MaxPage keeps the order service's offset ((page-1)*size) far from
	// overflowing.
	MaxPage         = 1_000_000
	DefaultStuckAge = 10 * time.Minute
	MinStuckAge     = time.Minute
	MaxStuckAge     = 720 * time.Hour
	MaxNoteBytes    = 1000
	maxPlanIDBytes  = 128
)

const (
	defaultPartTimeout   = 3 * time.Second
	defaultNotifyTimeout = 10 * time.Second
	// cancelTimeout bounds the compensation of a failed payment, which runs
	// after the client's request may have ended.
	cancelTimeout = 5 * time.Second
)

// Cancellation reason of an order whose payment could not be started.
const ReasonPaymentUnavailable = "payment-unavailable"

// Caller is the verified user a use case acts for.
type Caller struct {
	UserID string
	Name   string
	Email  string
	Admin  bool
}

// Options configure the use cases.
type Options struct {
	Orders        Orders
	Payments      Payments
	Subscriptions Subscriptions
	// PartTimeout bounds each service call of an order's detail (default 3 s).
	PartTimeout time.Duration
	// NotifyTimeout bounds the relay of a Midtrans notification (default
	// 10 s, well under the 15 s after which Midtrans gives up on an answer).
	NotifyTimeout time.Duration
	Now           func() time.Time // default time.Now
	Log           *slog.Logger
}

// App runs the use cases.
type App struct {
	orders        Orders
	payments      Payments
	subscriptions Subscriptions
	partTimeout   time.Duration
	notifyTimeout time.Duration
	now           func() time.Time
	log           *slog.Logger
}

// New returns the use cases over the three services.
func New(opt Options) *App {
	a := &App{
		orders: opt.Orders, payments: opt.Payments, subscriptions: opt.Subscriptions,
		partTimeout: opt.PartTimeout, notifyTimeout: opt.NotifyTimeout, now: opt.Now, log: opt.Log,
	}
	if a.partTimeout <= 0 {
		a.partTimeout = defaultPartTimeout
	}
	if a.notifyTimeout <= 0 {
		a.notifyTimeout = defaultNotifyTimeout
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// Placed is a new order and the Snap transaction its buyer pays in.
type Placed struct {
	Order   *orderv1.Order
	Payment *paymentv1.Payment
}

// Price is what an order of plan costs: its discount price when it has one.
func Price(plan *subscriptionv1.Plan) int64 {
	if plan.GetDiscountPrice() > 0 {
		return plan.GetDiscountPrice()
	}
	return plan.GetPrice()
}

// Place orders a plan for the caller. The order service's store, not a check
// here, refuses a second open order, so that racing requests of one user get
// order_pending too.
func (a *App) Place(ctx context.Context, caller Caller, planID string) (Placed, error) {
	if !validPlanID(planID) {
		return Placed{}, invalid("planId must be a plan id (1 to %d bytes; no '/', '?', '#', '%%' or control characters)", maxPlanIDBytes)
	}
	plan, err := a.subscriptions.Plan(ctx, planID)
	switch {
	case remote.IsNotFound(err):
		return Placed{}, ErrPlanNotFound
	case err != nil:
		return Placed{}, upstream("read the plan", err)
	case !plan.GetActive():
		return Placed{}, ErrPlanInactive
	case Price(plan) <= 0: // a misconfigured plan is not for sale either
		return Placed{}, fmt.Errorf("%w: plan %s has no price", ErrPlanInactive, planID)
	}
	// Fail closed: without an answer, the caller may already be entitled.
	entitled, err := a.subscriptions.Entitled(ctx, caller.UserID)
	if err != nil {
		return Placed{}, fmt.Errorf("%w: read the entitlement: %w", ErrUnavailable, err)
	}
	if entitled {
		return Placed{}, ErrSubscriptionActive
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return Placed{}, fmt.Errorf("new order id: %w", err)
	}
	created, err := a.orders.Create(ctx, &orderv1.Order{
		Id:       id.String(),
		UserId:   caller.UserID,
		Customer: &orderv1.Customer{UserId: caller.UserID, Name: caller.Name, Email: caller.Email},
		Plan: &orderv1.Plan{Id: plan.GetId(), Name: plan.GetName(), Price: plan.GetPrice(),
			DiscountPrice: plan.GetDiscountPrice(), ActivePeriod: plan.GetActivePeriod()},
		Price: Price(plan),
	})
	switch {
	case remote.IsRefusedWith(err, "order_pending"):
		return Placed{}, ErrOrderPending
	case err != nil:
		return Placed{}, upstream("create the order", err)
	}
	pay, err := a.payments.Create(ctx, created)
	if err == nil && pay.GetSnapToken() == "" && pay.GetRedirectUrl() == "" {
		err = errors.New("payment answered without a Snap token or redirect URL")
	}
	if err != nil {
		a.cancel(ctx, created.GetId())
		return Placed{}, fmt.Errorf("%w: %w", ErrPaymentFailed, err)
	}
	return Placed{Order: created, Payment: pay}, nil
}

// cancel frees the user to order again after Snap failed. It runs even when
// the client has gone; a failure is only logged: the order service's sweep
// finds the PENDING order without a payment later.
func (a *App) cancel(ctx context.Context, orderID string) {
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer stop()
	if err := a.orders.Cancel(ctx, orderID, ReasonPaymentUnavailable); err != nil {
		a.log.WarnContext(ctx, "cancel order after failed payment", "order_id", orderID, "err", err)
	}
}

// Page is one page of a user's orders.
type Page struct {
	Items      []*orderv1.Order
	Page, Size int
	Total      int
}

// History is the caller's orders, newest first.
func (a *App) History(ctx context.Context, caller Caller, page, size int) (Page, error) {
	if page < 1 || page > MaxPage {
		return Page{}, invalid("page must be from 1 to %d", MaxPage)
	}
	if size < 1 || size > MaxPageSize {
		return Page{}, invalid("size must be from 1 to %d", MaxPageSize)
	}
	items, total, err := a.orders.List(ctx, caller.UserID, page, size)
	if err != nil {
		return Page{}, upstream("list the orders", err)
	}
	return Page{Items: items, Page: page, Size: size, Total: total}, nil
}

// StuckOrder is an order not final long after its last step.
type StuckOrder struct {
	Order      *orderv1.Order
	LastStep   string
	LastStepAt string        // RFC 3339, as the order recorded it
	Age        time.Duration // since LastStepAt (0 when it does not parse)
}

// Stuck lists the orders whose last step is older than olderThan, oldest
// first.
func (a *App) Stuck(ctx context.Context, olderThan time.Duration) ([]StuckOrder, error) {
	if olderThan < MinStuckAge || olderThan > MaxStuckAge {
		return nil, invalid("olderThan must be from %s to %s", MinStuckAge, MaxStuckAge)
	}
	orders, err := a.orders.Stuck(ctx, olderThan)
	if err != nil {
		return nil, upstream("list the stuck orders", err)
	}
	now := a.now()
	stuck := make([]StuckOrder, 0, len(orders))
	for _, o := range orders {
		s := StuckOrder{Order: o, LastStepAt: o.GetUpdatedAt()}
		if steps := o.GetTimeline(); len(steps) > 0 {
			last := steps[len(steps)-1]
			s.LastStep, s.LastStepAt = last.GetName(), last.GetAt()
		}
		if at, err := time.Parse(time.RFC3339Nano, s.LastStepAt); err == nil {
			s.Age = now.Sub(at).Truncate(time.Second)
		}
		stuck = append(stuck, s)
	}
	return stuck, nil
}

// MarkRefunded records that an admin refunded a REFUND_FAILED order by hand.
func (a *App) MarkRefunded(ctx context.Context, admin Caller, orderID, note string) (*orderv1.Order, error) {
	if !validOrderID(orderID) {
		return nil, ErrOrderNotFound
	}
	note = strings.TrimSpace(note)
	if note == "" || len(note) > MaxNoteBytes {
		return nil, invalid("note must say how the order was refunded (1 to %d bytes)", MaxNoteBytes)
	}
	o, err := a.orders.MarkRefunded(ctx, orderID, note, admin.UserID)
	switch {
	case remote.IsNotFound(err):
		return nil, ErrOrderNotFound
	case err != nil:
		return nil, passOn(err)
	}
	return o, nil
}

// Notify relays a Midtrans notification, as received, to the payment service.
// Its refusals are passed on: Midtrans retries according to the status.
func (a *App) Notify(ctx context.Context, notification []byte) error {
	var fields map[string]json.RawMessage
	if !utf8.Valid(notification) || json.Unmarshal(notification, &fields) != nil || fields == nil {
		return invalid("a Midtrans notification is a JSON object")
	}
	ctx, cancel := context.WithTimeout(ctx, a.notifyTimeout)
	defer cancel()
	if err := a.payments.Notify(ctx, notification); err != nil {
		return passOn(err)
	}
	return nil
}

// validPlanID keeps an id to one path segment of the subscription service's
// route, whatever the id scheme there.
func validPlanID(id string) bool {
	return id != "" && len(id) <= maxPlanIDBytes && id != "." && id != ".." &&
		!strings.ContainsAny(id, "/?#%") && !strings.ContainsFunc(id, unicode.IsControl)
}

// validOrderID: order ids are the UUIDs Place makes; anything else names no
// order, and is not worth a call.
func validOrderID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// upstream classifies a failed call whose refusal is not the client's
// business: a refusal means the aggregator asked wrongly (502), anything
// else that the service is unavailable (503).
func upstream(what string, err error) error {
	if _, ok := remote.RefusalOf(err); ok {
		return fmt.Errorf("%w: %s: %w", ErrUpstreamRefused, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

// passOn makes a service's refusal the client's answer.
func passOn(err error) error {
	if r, ok := remote.RefusalOf(err); ok {
		return &Refused{Service: r.Service, Status: r.Status, Code: r.Code}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
