package httpapi

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/gateway/internal/oidc"
	"tenflix/services/gateway/internal/ratelimit"
)

// claimsKey holds the verified oidc.Claims in the gin context.
const claimsKey = "gateway.claims"

// authenticate admits requests that carry a valid bearer token and, for
// admin routes, the admin role. The token itself never reaches a service.
func authenticate(v TokenVerifier, access Access) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := bearer(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="tenflix"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "a bearer token is required"))
			return
		}
		claims, err := v.Verify(c.Request.Context(), raw)
		switch {
		case errors.Is(err, oidc.ErrUnavailable):
			httpserver.LoggerFrom(c).WarnContext(c, "cannot verify token", "err", err)
			c.Header("Retry-After", "5")
			httpserver.Fail(c, apierror.New(apierror.Unavailable, "tokens cannot be verified right now; retry later"))
			return
		case errors.Is(err, oidc.ErrExpired):
			c.Header("WWW-Authenticate", `Bearer realm="tenflix", error="invalid_token", error_description="token expired"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "token expired"))
			return
		case err != nil:
			httpserver.LoggerFrom(c).InfoContext(c, "token rejected", "err", err)
			c.Header("WWW-Authenticate", `Bearer realm="tenflix", error="invalid_token"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "invalid token"))
			return
		}
		if access == Admin && !claims.HasRole("admin") {
			c.Header("WWW-Authenticate", `Bearer realm="tenflix", error="insufficient_scope"`)
			httpserver.Fail(c, apierror.New(apierror.Forbidden, "the admin role is required"))
			return
		}
		c.Set(claimsKey, claims)
		c.Next()
	}
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

func claimsFrom(c *gin.Context) (oidc.Claims, bool) {
	v, ok := c.Get(claimsKey)
	if !ok {
		return oidc.Claims{}, false
	}
	cl, ok := v.(oidc.Claims)
	return cl, ok
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

// clientKey is the rate-limit key of an address: IPv4 as is, IPv6 by /64,
// since one host usually owns a whole /64.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if host, _, err := net.SplitHostPort(ip); err == nil {
			return host
		}
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
