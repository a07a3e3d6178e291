// Package app holds the payment service's use cases: open a Snap
// transaction for an order, record what Midtrans confirms (notifications,
// the order sweep's sync), and refund. Each reads the order's payment under
// its lock, decides with the rules of internal/payment and commits the
// payment with the event of its status in one Dapr state transaction. It
// declares what it needs of its adapters: State and Midtrans.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/platform/tracecontext"
	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

// State is the Dapr state store payments are written through (statetx.Store
// with the payment constraints, statestore.New): documents by key with
// ETags, and transactions whose upserts are each published as their event.
type State interface {
	// Get reads key into doc and returns its ETag; a missing key is
	// statetx.ErrNotFound.
	Get(ctx context.Context, key string, doc proto.Message) (etag string, err error)
	// Commit runs the writes in one transaction. A lost race is
	// statetx.ErrConflict; a transaction id held by another payment
	// payment.ErrTransactionTaken.
	Commit(ctx context.Context, writes ...statetx.Write) error
	// Lock takes this instance's locks of keys until unlock (statetx says
	// why every read-modify-write holds them).
	Lock(keys ...string) (unlock func())
}

// Midtrans is the payment gateway (internal/midtrans.Client). Every call is
// bounded in time by the adapter.
type Midtrans interface {
	// CreateTransaction opens a Snap transaction for the checkout.
	CreateTransaction(ctx context.Context, c Checkout) (Snap, error)
	// Status is the order's transaction as Midtrans' status API tells it;
	// ErrUnknownTransaction when Midtrans has none (no payment method
	// chosen yet, or never created).
	Status(ctx context.Context, orderID string) (payment.Transaction, error)
	// Cancel cancels the order's transaction: ErrUnknownTransaction when
	// there is none, a *RefusedError when Midtrans will not (it settled or
	// ended meanwhile).
	Cancel(ctx context.Context, orderID string) (payment.Transaction, error)
	// Refund refunds the order's settled transaction under r.Key (Midtrans
	// refunds a key once, so a retry is safe); a *RefusedError when Midtrans
	// will not, e.g. for bank transfers and virtual accounts, which its API
	// cannot refund.
	Refund(ctx context.Context, orderID string, r RefundRequest) (payment.Transaction, error)
}

// Checkout is a Snap transaction to open: the request, and its expiry
// counted from Start.
type Checkout struct {
	payment.Request
	Start  time.Time
	Expiry time.Duration
}

// Snap is an open Snap transaction: what the customer pays with.
type Snap struct {
	Token       string
	RedirectURL string
}

// RefundRequest is one refund of a whole payment.
type RefundRequest struct {
	Key    string
	Amount int64
	Reason string
}

var (
	// ErrNotFound: no payment for the order.
	ErrNotFound = errors.New("payment not found")
	// ErrBadSignature: a notification's signature_key is not Midtrans'.
	ErrBadSignature = errors.New("notification signature does not match")
	// ErrAmountMismatch: Midtrans' gross_amount is not the payment's amount.
	ErrAmountMismatch = errors.New("midtrans gross_amount differs from the payment's amount")
	// ErrConflict: the payment changed meanwhile, or a retry asked for
	// another payment than the one the order has.
	ErrConflict = errors.New("payment conflict")
	// ErrUpstream: Midtrans failed or did not answer in time.
	ErrUpstream = errors.New("midtrans failed")
	// ErrNotPaidYet: a refund was asked for a payment Midtrans has not
	// confirmed paid (yet): try again later.
	ErrNotPaidYet = errors.New("payment not paid yet")
	// ErrNotRefundable: the payment was cancelled; there is nothing to refund.
	ErrNotRefundable = errors.New("payment cannot be refunded")

	// ErrUnknownTransaction (Midtrans): no such transaction at Midtrans.
	ErrUnknownTransaction = errors.New("transaction unknown at midtrans")
)

// RefusedError (Midtrans): Midtrans answered that it will never do what
// was asked of this transaction.
type RefusedError struct {
	StatusCode int    // Midtrans' status_code (412: the transaction cannot be modified so)
	Message    string // its status_message
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("midtrans refused (%d): %s", e.StatusCode, e.Message)
}

// Options wire the use cases.
type Options struct {
	State    State
	Midtrans Midtrans
	// ServerKey verifies notification signatures.
	ServerKey string
	// Expiry is how long a customer has to pay (PAYMENT_EXPIRY).
	Expiry time.Duration
	// NotificationBudget bounds the handling of one notification (Midtrans
	// gives up after 15 s and retries later).
	NotificationBudget time.Duration
	Log                *slog.Logger
	Now                func() time.Time // time.Now unless set
}

// App is the payment service's use cases.
type App struct {
	state     State
	midtrans  Midtrans
	serverKey string
	expiry    time.Duration
	budget    time.Duration
	log       *slog.Logger
	now       func() time.Time
}

// New checks and wires the options.
func New(o Options) (*App, error) {
	switch {
	case o.State == nil || o.Midtrans == nil || o.Log == nil:
		return nil, errors.New("app: State, Midtrans and Log are required")
	case o.ServerKey == "":
		return nil, errors.New("app: no server key to verify notifications with")
	case o.Expiry <= 0 || o.NotificationBudget <= 0:
		return nil, errors.New("app: Expiry and NotificationBudget must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &App{state: o.State, midtrans: o.Midtrans, serverKey: o.ServerKey, expiry: o.Expiry,
		budget: o.NotificationBudget, log: o.Log, now: o.Now}, nil
}

func key(orderID string) string { return statetx.Key("payment", orderID) }

// Get is the order's payment.
func (a *App) Get(ctx context.Context, orderID string) (*paymentv1.Payment, error) {
	p, _, err := a.get(ctx, orderID)
	return p, err
}

func (a *App) get(ctx context.Context, orderID string) (*paymentv1.Payment, string, error) {
	if !payment.ValidOrderID(orderID) {
		return nil, "", fmt.Errorf("%w: %q", ErrNotFound, orderID)
	}
	p := &paymentv1.Payment{}
	etag, err := a.state.Get(ctx, key(orderID), p)
	if errors.Is(err, statetx.ErrNotFound) {
		return nil, "", fmt.Errorf("%w: %s", ErrNotFound, orderID)
	}
	if err != nil {
		return nil, "", err
	}
	return p, etag, nil
}

// create commits a new payment, insert-only.
func (a *App) create(ctx context.Context, p *paymentv1.Payment) error {
	return a.commit(ctx, p, statetx.Write{Create: true})
}

// update commits p over the version read with etag.
func (a *App) update(ctx context.Context, p *paymentv1.Payment, etag string) error {
	return a.commit(ctx, p, statetx.Write{ETag: etag})
}

func (a *App) commit(ctx context.Context, p *paymentv1.Payment, w statetx.Write) error {
	eventType, err := payment.EventType(p.GetStatus())
	if err != nil {
		return err
	}
	w.Key, w.Doc, w.EventType = key(p.GetOrderId()), p, eventType
	err = a.state.Commit(ctx, w)
	if errors.Is(err, statetx.ErrConflict) {
		return fmt.Errorf("%w: %s changed meanwhile: %w", ErrConflict, p.GetOrderId(), err)
	}
	return err
}

// reannounce writes p again unchanged but for its version, so that the
// outbox publishes the event of its status once more.
func (a *App) reannounce(ctx context.Context, p *paymentv1.Payment, etag string) (*paymentv1.Payment, error) {
	next := proto.CloneOf(p)
	payment.Reannounce(next)
	if err := a.update(ctx, next, etag); err != nil {
		return nil, err
	}
	a.logger(ctx).InfoContext(ctx, "payment re-announced", "order_id", p.GetOrderId(), "status", p.GetStatus(), "version", next.GetVersion())
	return next, nil
}

// logger carries the trace of ctx (the request's or the event's).
func (a *App) logger(ctx context.Context) *slog.Logger {
	if span, ok := tracecontext.FromContext(ctx); ok {
		return a.log.With(span.LogAttrs()...)
	}
	return a.log
}

// upstream marks a failed Midtrans call as ErrUpstream; its verdict
// (ErrUnknownTransaction, *RefusedError) stays in the chain for the use
// cases that read it.
func upstream(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUpstream, op, err)
}
