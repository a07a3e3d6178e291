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

	"tenflix/platform/httpserver"
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

// Routes builds the engine with every route of the service.
func Routes(log *slog.Logger, appToken string, p Payments) *gin.Engine {
	// Every body here is small: a Midtrans notification or a CloudEvent of
	// an Order is a few KiB. The bound applies before anything reads them.
	r := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: appToken, MaxBodyBytes: MaxBodyBytes})
	h := &handlers{payments: p}
	r.POST(PaymentsPath, h.create)
	r.GET(PaymentsPath+"/:orderId", h.get)
	r.POST(PaymentsPath+"/:orderId/sync", h.sync)
	r.POST(NotificationsPath, h.notify)
	// Declared by components/subscription-payment-orders.yaml (topic orders,
	// type tenflix.order.refund-requested.v1).
	r.POST(RefundRequestedPath, subscriber.Handle(log, refundRequested(p)))
	return r
}
