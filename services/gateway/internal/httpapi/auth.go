package httpapi

import (
	"math"
	"net"
	"net/netip"
	"strconv"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/gateway/internal/ratelimit"
)

// authorize is the chain that admits a route's callers: none for public
// routes, a valid bearer token for the others, and the admin role for admin
// routes. The service checks the token again: this one rejects early, before
// anything is forwarded.
func authorize(v authn.TokenVerifier, access Access) []gin.HandlerFunc {
	switch access {
	case User:
		return []gin.HandlerFunc{authn.Authenticate(v)}
	case Admin:
		return []gin.HandlerFunc{authn.Authenticate(v), authn.RequireRole("admin")}
	}
	return nil
}

// authenticateOrTicket admits a request with a valid bearer token, or one
// without an Authorization header that carries the ticket parameter: the
// service verifies the ticket (the gateway has not its key). A bad bearer is
// refused here, never passed on as if it were a ticket request.
func authenticateOrTicket(v authn.TokenVerifier, param string) gin.HandlerFunc {
	authenticate := authn.Authenticate(v)
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") == "" && c.Query(param) != "" {
			c.Next()
			return
		}
		authenticate(c)
	}
}

// limitClients meters a route's requests per client IP (each rate-limited
// route has its own buckets); 429 with Retry-After when the bucket is empty.
func limitClients(l *ratelimit.PerClient, route string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if l == nil {
			c.Next()
			return
		}
		ok, wait := l.Allow(route + " " + clientKey(c.ClientIP()))
		if !ok {
			secs := max(1, int(math.Ceil(wait.Seconds())))
			c.Header("Retry-After", strconv.Itoa(secs))
			httpserver.Fail(c, apierror.New(apierror.RateLimited, "too many requests; retry in %d s", secs))
			return
		}
		c.Next()
	}
}

// clientKey is the rate-limit key of an address (httpserver.ClientKey).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if host, _, err := net.SplitHostPort(ip); err == nil {
			return host
		}
		return ip
	}
	return httpserver.ClientKey(a)
}
