// Package httpapi is order-aggregator's REST API, the order API of the
// gateway's /api/v1/orders/**: placing and reading orders for users, the
// Midtrans notification webhook, and the admin's stuck orders and manual
// refunds.
//
// GET /api/v1/orders/:id answers {order, payment, subscription, timeline}.
// payment and subscription are each one of:
//   - the document's REST shape (dto.go);
//   - null: that service has nothing for the order yet (it answered 404);
//   - {"error": {"code": "unavailable", "message": ...}}: it could not be
//     read (down, refused, or slower than PART_TIMEOUT); the rest still is.
//
// subscription is {"refusal": {"reason", "at"}} when the paid order was
// refused (and is being refunded). A user reading another user's order gets
// the same 404 as for an unknown order.
package httpapi

import (
	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/order-aggregator/internal/app"
)

// Prefix of the order API, the same at the gateway.
const Prefix = "/api/v1/orders"

// MaxNotificationBytes bounds a Midtrans notification (a few hundred bytes
// in practice).
const MaxNotificationBytes = 64 << 10

// Deps is what the routes need.
type Deps struct {
	Verifier authn.TokenVerifier // checks the bearer token of every user route
	App      *app.App
}

// Routes mounts every route of the service on r (built by
// httpserver.NewEngine). gin matches static segments before parameters, so
// /admin/stuck and /notificationMidtrans are never taken for an order id
// (routes_test.go holds it to that).
func Routes(r gin.IRouter, d Deps) {
	verifier := d.Verifier
	h := handlers{app: d.App}
	api := r.Group(Prefix)

	// Midtrans calls with no user token: the payment service checks the
	// notification's signature and confirms it with Midtrans.
	api.POST("/notificationMidtrans", httpserver.LimitBody(MaxNotificationBytes), h.notify)

	user := api.Group("", authn.Authenticate(verifier))
	user.POST("", h.place)
	user.GET("", h.history)
	user.GET("/:id", h.detail)

	admin := user.Group("", authn.RequireRole("admin"))
	admin.GET("/admin/stuck", h.stuck)
	admin.POST("/:id/mark-refunded", h.markRefunded)
}
