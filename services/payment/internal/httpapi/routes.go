// Package httpapi is payment's HTTP surface: the internal routes
// order-aggregator and order call through Dapr service invocation, and the
// subscription route the sidecar delivers order events to. Every route is
// behind the app token (only the sidecar calls); the callers' identities
// are checked by daprd's accessControl.
package httpapi

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/subscriber"
	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

// Payments are the use cases (app.App).
type Payments interface {
	Create(ctx context.Context, r payment.Request) (p *paymentv1.Payment, created bool, err error)
	Get(ctx context.Context, orderID string) (*paymentv1.Payment, error)
	Sync(ctx context.Context, orderID string) (*paymentv1.Payment, error)
	Notify(ctx context.Context, n app.Notification) error
	Refund(ctx context.Context, orderID, reason string) (*paymentv1.Payment, error)
}

// Paths of the routes.
const (
	PaymentsPath        = "/internal/payments"
	NotificationsPath   = "/internal/notifications"
	RefundRequestedPath = "/events/order-refund-requested"
)

// Deps is what the routes need.
type Deps struct {
	Log      *slog.Logger
	Payments Payments
}

// Routes mounts every route of the service on r (built by
// httpserver.NewEngine with MaxBodyBytes: every body here is small, a
// Midtrans notification or a CloudEvent of an Order is a few KiB).
func Routes(r gin.IRouter, d Deps) {
	log, p := d.Log, d.Payments
	h := &handlers{payments: p}
	r.POST(PaymentsPath, h.create)
	r.GET(PaymentsPath+"/:orderId", h.get)
	r.POST(PaymentsPath+"/:orderId/sync", h.sync)
	r.POST(NotificationsPath, h.notify)
	// Declared by components/subscription-payment-orders.yaml (topic orders,
	// type tenflix.order.refund-requested.v1).
	r.POST(RefundRequestedPath, subscriber.Handle(log, refundRequested(p)))
	r.POST(subscriber.IgnoredRoute, subscriber.Ignore)
}
