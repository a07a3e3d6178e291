// Package httpapi is the order service's HTTP surface, all of it for its
// sidecar: the internal API other services invoke (docs/saga.md), the saga
// event subscriptions and the sweep's cron binding. There is no public
// route: daprd's accessControl says which app may invoke, and the app token
// that only the sidecar knows is checked on every request.
package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/httpserver"
	"tenflix/platform/subscriber"
	"tenflix/services/order/internal/app"

	orderv1 "tenflix/proto/order/v1"
)

// Orders are the use cases (app.App).
type Orders interface {
	Create(ctx context.Context, in *orderv1.Order) (*orderv1.Order, error)
	Get(ctx context.Context, id string) (*orderv1.Order, error)
	Cancel(ctx context.Context, id, reason string) (*orderv1.Order, error)
	MarkRefunded(ctx context.Context, id, note, by string) (*orderv1.Order, error)
	List(ctx context.Context, userID string, p app.Page) (app.OrderPage, error)
	Stuck(ctx context.Context, olderThan time.Duration) ([]*orderv1.Order, error)
	Sweep(ctx context.Context) (app.SweepReport, error)
}

// Events handle the saga events (events.Handlers), one per route.
type Events interface {
	PaymentRequested(ctx context.Context, ev subscriber.Event) error
	PaymentPaid(ctx context.Context, ev subscriber.Event) error
	PaymentCancelled(ctx context.Context, ev subscriber.Event) error
	PaymentRefunded(ctx context.Context, ev subscriber.Event) error
	PaymentRefundFailed(ctx context.Context, ev subscriber.Event) error
	SubscriptionGranted(ctx context.Context, ev subscriber.Event) error
	SubscriptionRefused(ctx context.Context, ev subscriber.Event) error
}

// SweepCronBinding is the Dapr cron input binding whose name is also the
// route daprd POSTs to.
const SweepCronBinding = "order-sweep-cron"

// maxOrderBody bounds a create's body: an order is well under 2 KiB.
const maxOrderBody = 16 << 10

// Deps is what the routes need.
type Deps struct {
	Log    *slog.Logger
	Orders Orders
	Events Events
}

// Routes mounts every route of the service on r (built by
// httpserver.NewEngine, which checks the sidecar's app token: every caller
// here is a sidecar, allowed by accessControl).
func Routes(r gin.IRouter, d Deps) {
	log, ev := d.Log, d.Events
	h := handlers{orders: d.Orders}

	in := r.Group("/internal/orders")
	in.POST("", httpserver.LimitBody(maxOrderBody), h.create)
	in.GET("", h.list)
	in.GET("/stuck", h.stuck)
	in.GET("/:id", h.get)
	in.POST("/:id/cancel", h.cancel)
	in.POST("/:id/mark-refunded", h.markRefunded)

	// Declarative subscriptions (components/subscription-order-*.yaml)
	// route each event type of topics payments and subscriptions here.
	r.POST("/events/payment-requested", subscriber.Handle(log, ev.PaymentRequested))
	r.POST("/events/payment-paid", subscriber.Handle(log, ev.PaymentPaid))
	r.POST("/events/payment-cancelled", subscriber.Handle(log, ev.PaymentCancelled))
	r.POST("/events/payment-refunded", subscriber.Handle(log, ev.PaymentRefunded))
	r.POST("/events/payment-refund-failed", subscriber.Handle(log, ev.PaymentRefundFailed))
	r.POST("/events/subscription-granted", subscriber.Handle(log, ev.SubscriptionGranted))
	r.POST("/events/subscription-refused", subscriber.Handle(log, ev.SubscriptionRefused))

	r.POST(subscriber.IgnoredRoute, subscriber.Ignore)

	r.POST("/"+SweepCronBinding, h.sweep)
}
