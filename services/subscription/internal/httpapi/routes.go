// Package httpapi is the subscription service's HTTP surface: the public
// plan and subscription routes (through the gateway), the internal routes
// other services invoke through Dapr, the order-paid subscription and the
// expiry cron binding.
package httpapi

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/subscriber"
	"tenflix/services/subscription/internal/app"
)

// Prefix of every public path of this service (the same at the gateway).
const Prefix = "/api/v1/subscription"

// Routes of the sidecar's deliveries: the declarative subscription
// (topic orders, type tenflix.order.paid.v1) and the cron binding, whose
// name is its route.
const (
	OrderPaidRoute    = "/events/order-paid"
	ExpiryCronBinding = "subscription-expiry-cron"
)

// Deps is what the routes need.
type Deps struct {
	Log      *slog.Logger
	Verifier authn.TokenVerifier // checks the bearer token of every public route
	App      *app.App
}

// Routes mounts every route of the service on r (built by
// httpserver.NewEngine). The sidecar's app token (checked by the engine) says a request came through Dapr; on
// public routes the bearer token, checked by verifier, says who sent it.
// Internal, event and cron routes have no user behind them: there the app
// token is the check, and daprd's accessControl says which apps may invoke.
func Routes(r gin.IRouter, d Deps) {
	log, verifier := d.Log, d.Verifier
	h := &handlers{app: d.App, log: log}

	r.POST(OrderPaidRoute, subscriber.Handle(log, h.orderPaid))
	r.POST(subscriber.IgnoredRoute, subscriber.Ignore)
	r.POST("/"+ExpiryCronBinding, h.expire)

	internal := r.Group("/internal")
	internal.GET("/plans/:id", h.internalPlan)
	internal.GET("/entitlements/:userId", h.internalEntitlement)
	internal.GET("/orders/:orderId/subscription", h.internalOrderOutcome)

	api := r.Group(Prefix, authn.Authenticate(verifier))
	admin := authn.RequireRole("admin")
	api.GET("/plans", h.listPlans)
	api.GET("/plans/:id", h.getPlan)
	api.POST("/plans", admin, h.createPlan)
	api.PUT("/plans/:id", admin, h.updatePlan)
	api.DELETE("/plans/:id", admin, h.deletePlan)
	api.GET("/me", h.me)
}
