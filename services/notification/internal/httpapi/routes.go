// Package httpapi is the notification service's HTTP surface: the inbox,
// preferences, the live stream and the unsubscribe link (public, through
// the gateway), and the deliveries of its declarative subscriptions.
package httpapi

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/subscriber"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/live"
	"tenflix/services/notification/internal/token"
)

// Prefix of every public path of this service (the same at the gateway).
const Prefix = "/api/v1/notifications"

// Routes of the sidecar's deliveries (components/subscription-notification-*.yaml).
const (
	UsersRoute               = "/events/users"
	CatalogRoute             = "/events/catalog"
	SubscriptionGrantedRoute = "/events/subscription-granted"
	OrderCancelledRoute      = "/events/order-cancelled"
	OrderRefundedRoute       = "/events/order-refunded"
	OrderRefundFailedRoute   = "/events/order-refund-failed"
)

// Deps is what the routes need.
type Deps struct {
	Log      *slog.Logger
	Verifier authn.TokenVerifier
	App      *app.App
	Hub      *live.Hub
	Tokens   *token.Signer
	// TicketTTL is how long a stream ticket may be presented (default 1 min).
	TicketTTL time.Duration
	// KeepAlive is the gap between comments on an idle stream (default 15 s).
	KeepAlive time.Duration
	// MaxStream ends a stream after this long; the client reconnects
	// (default 1 h).
	MaxStream time.Duration
	// StreamMode is StreamPoll (default: what daprd 1.14 can relay) or
	// StreamOpen (stream.go says why).
	StreamMode string
	Now        func() time.Time
}

// Routes mounts every route on r (built by httpserver.NewEngine). The
// sidecar's app token (checked by the engine) says a request came through
// Dapr; on the public routes the bearer token (or, for the stream, a
// ticket) says who sent it; the unsubscribe link's token is its own proof.
func Routes(r gin.IRouter, d Deps) {
	if d.TicketTTL <= 0 {
		d.TicketTTL = time.Minute
	}
	if d.KeepAlive <= 0 {
		d.KeepAlive = 15 * time.Second
	}
	if d.MaxStream <= 0 {
		d.MaxStream = time.Hour
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &handlers{d: d, log: d.Log}

	r.POST(UsersRoute, subscriber.Handle(d.Log, h.userRegistered))
	r.POST(CatalogRoute, subscriber.Handle(d.Log, h.catalogEvent))
	r.POST(SubscriptionGrantedRoute, subscriber.Handle(d.Log, h.subscriptionGranted))
	r.POST(OrderCancelledRoute, subscriber.Handle(d.Log, h.orderOutcome))
	r.POST(OrderRefundedRoute, subscriber.Handle(d.Log, h.orderOutcome))
	r.POST(OrderRefundFailedRoute, subscriber.Handle(d.Log, h.orderOutcome))
	r.POST(subscriber.IgnoredRoute, subscriber.Ignore)

	// Public: the token in the link is the proof (it can only turn email off).
	r.GET(Prefix+"/unsubscribe", h.unsubscribe)
	// The stream takes a bearer token or a ticket (EventSource cannot send
	// headers); it authenticates itself.
	r.GET(Prefix+"/stream", h.stream)

	api := r.Group(Prefix, authn.Authenticate(d.Verifier))
	api.GET("", h.list)
	api.POST("/:id/read", h.markRead)
	api.GET("/preferences", h.getPreferences)
	api.PUT("/preferences", h.putPreferences)
	api.POST("/stream-ticket", h.streamTicket)
}
