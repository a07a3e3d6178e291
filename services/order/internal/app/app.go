// Package app holds the order service's use cases: create an order, move it
// through the saga as events and requests arrive (every change through the
// one routine of update.go and the rules of internal/orders), list orders,
// and sweep those the saga left waiting. It declares what it needs of its
// adapters: State, Reads and Payments.
package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
)

// State is the Dapr state store "order-state" (statetx.Store with the
// order's constraints, statestore.New): orders by key with ETags, and
// transactions whose upserts are each published on topic "orders" (outbox).
type State interface {
	// Get reads key into doc and returns its ETag; a missing key is
	// statetx.ErrNotFound.
	Get(ctx context.Context, key string, doc proto.Message) (etag string, err error)
	// Commit runs the writes in one transaction. A lost race is
	// statetx.ErrConflict; a second open order of a user is
	// orders.ErrOrderPending.
	Commit(ctx context.Context, writes ...statetx.Write) error
	// Lock takes this instance's locks of keys until unlock (why:
	// statetx.Store.Lock).
	Lock(keys ...string) (unlock func())
}

// Reads are the SQL queries over the stored orders (postgres.DB): what the
// state API cannot answer.
type Reads interface {
	// ListByUser pages through a user's orders, newest (createdAt) first.
	ListByUser(ctx context.Context, userID string, p Page) ([]*orderv1.Order, int, error)
	// OpenOrder is the user's PENDING or PAID order; nil when there is none.
	OpenOrder(ctx context.Context, userID string) (*orderv1.Order, error)
	// Unsettled lists the orders the saga is not done with (orders.Settled
	// is false), oldest updatedAt first.
	Unsettled(ctx context.Context, q UnsettledQuery) ([]*orderv1.Order, error)
}

// UnsettledQuery selects waiting orders.
type UnsettledQuery struct {
	MovedBefore time.Time // updatedAt (the saga's last step) before this
	// QuietFor, when set, also skips orders written less than this long
	// ago, a re-announcement included: the sweep re-announces an order at
	// most once per QuietFor, however often it runs.
	QuietFor time.Duration
	Limit    int
}

// Payments is the payment service (payment.Client).
type Payments interface {
	// Sync makes payment ask Midtrans about the order's transaction, record
	// the answer (and publish what changed) and return the payment. An
	// order without a payment is ErrNoPayment.
	Sync(ctx context.Context, orderID string) (*paymentv1.Payment, error)
}

// ErrNoPayment: payment holds no payment for the order (it was never
// created).
var ErrNoPayment = errors.New("no payment for this order")

// ErrSweepRunning: a sweep is already running in this instance.
var ErrSweepRunning = errors.New("a sweep is already running")

// Page is a 1-based page request.
type Page struct {
	Page, Size int
}

// Defaults of Options.
const (
	DefaultSweepAfter = 2 * time.Minute
	DefaultSweepBatch = 100
	DefaultStuckAfter = 10 * time.Minute
	// MaxStuck bounds the stuck list: the oldest come first, and more than
	// this many stuck orders is an incident the first page already shows.
	MaxStuck = 500
)

// Options wire the use cases.
type Options struct {
	State    State
	Reads    Reads
	Payments Payments
	Log      *slog.Logger
	// SweepAfter: the sweep looks at orders whose saga has not moved for
	// this long. SweepBatch bounds the orders of one sweep.
	SweepAfter time.Duration
	SweepBatch int
	// StuckAfter is the default age of the stuck list.
	StuckAfter time.Duration
	// Now is the clock (time.Now by default).
	Now func() time.Time
	// PaymentTimeout bounds one payment sync of the sweep (default 10 s).
	PaymentTimeout time.Duration
	// SweepTimeout bounds one sweep (default 45 s: within the HTTP server's
	// 60 s write timeout, so that daprd gets the report). Orders it does not
	// reach wait for the next sweep.
	SweepTimeout time.Duration
}

// App runs the use cases.
type App struct {
	opt      Options
	sweeping sync.Mutex
}

// New fills in the defaults of opt.
func New(opt Options) *App {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.SweepAfter <= 0 {
		opt.SweepAfter = DefaultSweepAfter
	}
	if opt.SweepBatch <= 0 {
		opt.SweepBatch = DefaultSweepBatch
	}
	if opt.StuckAfter <= 0 {
		opt.StuckAfter = DefaultStuckAfter
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.PaymentTimeout <= 0 {
		opt.PaymentTimeout = 10 * time.Second
	}
	if opt.SweepTimeout <= 0 {
		opt.SweepTimeout = 45 * time.Second
	}
	return &App{opt: opt}
}

func (a *App) now() time.Time { return a.opt.Now() }

// orderKey is the state key of an order.
func orderKey(id string) string { return statetx.Key("order", id) }
