// Package httpapi is the gateway's public REST surface: one route table says
// which service answers each path and who may call it; every route is
// forwarded to its service through the gateway's own Dapr sidecar.
package httpapi

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/gateway/internal/ratelimit"
)

// Access says who may call a route.
type Access int

const (
	Public Access = iota // anyone; no token is read
	User                 // any valid token
	Admin                // a valid token with realm role "admin"
)

func (a Access) String() string {
	return [...]string{"public", "user", "admin"}[a]
}

// Route is one public endpoint and the service behind it. The path is the
// same at the gateway and at the service.
type Route struct {
	Method string
	Path   string // gin pattern, :name for one path segment
	App    string // Dapr app-id of the service
	Access Access
	// RateLimited routes meter each client IP (Options.AuthLimiter).
	RateLimited bool
	// MaxBodyBytes overrides the gateway default (an upload route, say).
	MaxBodyBytes int64
	// Upload routes take bodies up to Options.MaxUploadBytes, streamed to
	// the service, for as long as Options.UploadTimeout.
	Upload bool
	// Ticket names a query parameter that may stand in for the bearer token
	// on a User route, for clients that cannot send headers (a browser's
	// EventSource): a request without an Authorization header but with it
	// is forwarded without a token, and the service verifies the ticket.
	Ticket string
	// Stream marks a long-lived response (Server-Sent Events): the gateway's
	// server read/write timeouts are lifted for it (ReverseProxy flushes
	// text/event-stream at once; the upstream timeout bounds only headers).
	Stream bool
}

// catalogKinds are movie-command's resources, each with the same five routes.
var catalogKinds = []string{"movies", "videos", "actors", "creators", "categories", "tags"}

// Routes is the route table: adding an endpoint is adding a line here.
func Routes() []Route {
	rs := []Route{
		{Method: "POST", Path: "/api/v1/auth/register", App: "identity", Access: Public, RateLimited: true},
		{Method: "POST", Path: "/api/v1/auth/token", App: "identity", Access: Public, RateLimited: true},
		{Method: "POST", Path: "/api/v1/auth/logout", App: "identity", Access: Public, RateLimited: true},
		{Method: "GET", Path: "/api/v1/auth/me", App: "identity", Access: User},
		{Method: "GET", Path: "/.well-known/openid-configuration", App: "identity", Access: Public},
		{Method: "GET", Path: "/.well-known/jwks.json", App: "identity", Access: Public},

		// Browsing the catalog needs an account, not a subscription.
		{Method: "GET", Path: "/api/v1/movie-query/movies", App: "movie-query", Access: User},
		{Method: "GET", Path: "/api/v1/movie-query/movies/:id", App: "movie-query", Access: User},
		// Repairs the read model from movie-command's state (also run by cron).
		{Method: "POST", Path: "/api/v1/movie-query/admin/reconcile", App: "movie-query", Access: Admin},

		// Watching: movie-query checks the subscription itself (a user
		// without one gets 403 not_subscribed), and the user is the token's.
		{Method: "GET", Path: "/api/v1/movie-query/videos/:movieId/:videoId", App: "movie-query", Access: User},
		{Method: "PUT", Path: "/api/v1/movie-query/videos/:movieId/:videoId/progress", App: "movie-query", Access: User},
		{Method: "GET", Path: "/api/v1/movie-query/continue-watching", App: "movie-query", Access: User},

		// Plans are read by anyone signed in, managed by admins; /me is the
		// caller's own subscription.
		{Method: "GET", Path: "/api/v1/subscription/plans", App: "subscription", Access: User},
		{Method: "GET", Path: "/api/v1/subscription/plans/:id", App: "subscription", Access: User},
		{Method: "POST", Path: "/api/v1/subscription/plans", App: "subscription", Access: Admin},
		{Method: "PUT", Path: "/api/v1/subscription/plans/:id", App: "subscription", Access: Admin},
		{Method: "DELETE", Path: "/api/v1/subscription/plans/:id", App: "subscription", Access: Admin},
		{Method: "GET", Path: "/api/v1/subscription/me", App: "subscription", Access: User},

		// Orders: order-aggregator checks ownership itself (a user sees only
		// their own orders).
		{Method: "POST", Path: "/api/v1/orders", App: "order-aggregator", Access: User},
		{Method: "GET", Path: "/api/v1/orders", App: "order-aggregator", Access: User},
		{Method: "GET", Path: "/api/v1/orders/:id", App: "order-aggregator", Access: User},
		{Method: "GET", Path: "/api/v1/orders/admin/stuck", App: "order-aggregator", Access: Admin},
		{Method: "POST", Path: "/api/v1/orders/:id/mark-refunded", App: "order-aggregator", Access: Admin},
		// The Midtrans webhook: no token (Midtrans has none); payment verifies
		// its signature and confirms it with Midtrans' status API.
		{Method: "POST", Path: "/api/v1/orders/notificationMidtrans", App: "order-aggregator", Access: Public, MaxBodyBytes: 64 << 10},

		// Videos: media receives uploads (streamed through both sidecars),
		// retries failed transcodes, and serves the HLS files to holders of a
		// playback grant (the grant in the path is the check, so the route
		// is public); Cloudinary's webhook is verified by its signature.
		{Method: "POST", Path: "/api/v1/movie-command/movies/:id/videos/upload", App: "media", Access: Admin, Upload: true},
		{Method: "POST", Path: "/api/v1/movie-command/movies/:id/videos/:videoId/retry", App: "media", Access: Admin},
		{Method: "GET", Path: "/api/v1/media/hls/:grant/:videoId/*file", App: "media", Access: Public},
		{Method: "HEAD", Path: "/api/v1/media/hls/:grant/:videoId/*file", App: "media", Access: Public},
		{Method: "POST", Path: "/api/v1/media/notifications/cloudinary", App: "media", Access: Public, MaxBodyBytes: 64 << 10},
		// Notifications: notification checks ownership itself (a user reads
		// only their own). The stream takes the bearer header or a ticket
		// from stream-ticket (EventSource sends no headers); the unsubscribe
		// link of every email carries its own signed token.
		{Method: "GET", Path: "/api/v1/notifications", App: "notification", Access: User},
		{Method: "POST", Path: "/api/v1/notifications/:id/read", App: "notification", Access: User},
		{Method: "GET", Path: "/api/v1/notifications/preferences", App: "notification", Access: User},
		{Method: "PUT", Path: "/api/v1/notifications/preferences", App: "notification", Access: User},
		{Method: "POST", Path: "/api/v1/notifications/stream-ticket", App: "notification", Access: User},
		{Method: "GET", Path: "/api/v1/notifications/stream", App: "notification", Access: User, Ticket: "ticket", Stream: true},
		{Method: "GET", Path: "/api/v1/notifications/unsubscribe", App: "notification", Access: Public},
	}
	for _, kind := range catalogKinds {
		base := "/api/v1/movie-command/" + kind
		rs = append(rs,
			Route{Method: "POST", Path: base, App: "movie-command", Access: Admin},
			Route{Method: "GET", Path: base, App: "movie-command", Access: Admin},
			Route{Method: "GET", Path: base + "/:id", App: "movie-command", Access: Admin},
			Route{Method: "PUT", Path: base + "/:id", App: "movie-command", Access: Admin},
			Route{Method: "DELETE", Path: base + "/:id", App: "movie-command", Access: Admin},
		)
	}
	return rs
}

// Options wire the gateway.
type Options struct {
	Log *slog.Logger
	// SidecarURL is the gateway's own daprd HTTP API, e.g. http://127.0.0.1:3500.
	SidecarURL string
	DaprToken  string
	Verifier   authn.TokenVerifier
	// CORSOrigins may call from a browser; "*" allows any origin.
	CORSOrigins []string
	// MaxBodyBytes is the default request body bound (default 1 MiB).
	MaxBodyBytes int64
	// MaxUploadBytes bounds an upload route's body (default 2 GiB plus the
	// multipart envelope); UploadTimeout its request (default 1 h), past the
	// server's timeouts for ordinary requests.
	MaxUploadBytes int64
	UploadTimeout  time.Duration
	// AuthLimiter meters the RateLimited routes, per route and client IP.
	AuthLimiter *ratelimit.PerClient
	// TrustedProxies (CIDRs) may set X-Forwarded-For; none by default, so the
	// client IP is the TCP peer and cannot be spoofed by a header.
	TrustedProxies []string
	// UpstreamTimeout bounds the wait for a service's response headers (default 30 s).
	UpstreamTimeout time.Duration
	// OpenAPIFile is served at GET /openapi.yaml.
	OpenAPIFile string
	// WebMediaOrigins are origins besides the gateway's own from which the
	// watch page may play (a CDN's HLS URLs); see webPolicy.
	WebMediaOrigins []string
}

// New builds the gateway's engine from the route table.
func New(opt Options) (*gin.Engine, error) {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.MaxUploadBytes <= 0 {
		opt.MaxUploadBytes = 2<<30 + 1<<20
	}
	if opt.UploadTimeout <= 0 {
		opt.UploadTimeout = time.Hour
	}
	routes := Routes()
	if opt.Verifier == nil {
		return nil, errors.New("httpapi: a token verifier is required")
	}
	bodyCeiling := opt.MaxBodyBytes
	for _, rt := range routes {
		bodyCeiling = max(bodyCeiling, rt.MaxBodyBytes)
		if rt.Upload {
			bodyCeiling = max(bodyCeiling, opt.MaxUploadBytes)
		}
	}
	// The platform's limit is the largest any route allows; each route then
	// applies its own.
	r := httpserver.NewEngine(httpserver.Options{Log: opt.Log, MaxBodyBytes: bodyCeiling})
	if err := r.SetTrustedProxies(opt.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	p, err := newProxy(opt)
	if err != nil {
		return nil, err
	}
	co := newCORS(opt.CORSOrigins)
	r.Use(co.headers)

	r.GET("/openapi.yaml", serveFile(opt.OpenAPIFile, "application/yaml", "OpenAPI document"))
	if err := mountWeb(r, opt.WebMediaOrigins); err != nil {
		return nil, err
	}

	methods := map[string][]string{} // path -> methods, for preflight answers
	var paths []string
	for _, rt := range routes {
		chain := []gin.HandlerFunc{}
		if rt.RateLimited {
			chain = append(chain, limitClients(opt.AuthLimiter, rt.Method+" "+rt.Path))
		}
		if rt.Ticket != "" && rt.Access == User {
			chain = append(chain, authenticateOrTicket(opt.Verifier, rt.Ticket))
		} else {
			chain = append(chain, authorize(opt.Verifier, rt.Access)...)
		}
		limit := opt.MaxBodyBytes
		if rt.MaxBodyBytes > 0 {
			limit = rt.MaxBodyBytes
		}
		if rt.Upload {
			limit = opt.MaxUploadBytes
			chain = append(chain, extendDeadlines(opt.UploadTimeout))
		}
		chain = append(chain, httpserver.LimitBody(limit), p.forward(rt))
		r.Handle(rt.Method, rt.Path, chain...)
		if _, seen := methods[rt.Path]; !seen {
			paths = append(paths, rt.Path)
		}
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	for _, path := range paths {
		r.OPTIONS(path, co.preflight(slices.Clone(methods[path])))
	}
	return r, nil
}

// extendDeadlines gives an upload longer than the server's read and write
// timeouts, which are for ordinary requests.
func extendDeadlines(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		rc := http.NewResponseController(c.Writer)
		deadline := time.Now().Add(d)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		c.Next()
	}
}

// serveFile answers with a file read at each request, so that it can be
// edited without a restart; 404 envelope when it is missing.
func serveFile(path, contentType, what string) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			httpserver.Fail(c, apierror.New(apierror.NotFound, "%s not found", what))
			return
		}
		if err != nil {
			httpserver.Fail(c, fmt.Errorf("read %s: %w", path, err))
			return
		}
		c.Data(http.StatusOK, contentType, b)
	}
}
