package httpapi

import (
	"net"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"

	"tenflix/platform/httpserver"
)

// clientKey is who a sign-in attempt comes from, for throttling: the client
// address the gateway saw. The gateway sets X-Forwarded-For to the TCP peer
// of the client (a client's own X-Forwarded-For never passes it), and daprd
// appends its host address to it on service invocation, so the first entry
// is the gateway's. Only the sidecar reaches this app (app API token), so
// the header can be trusted here; without it (a caller other than the
// gateway) the TCP peer is used. Addresses are keyed as the gateway's own
// rate limit keys them (httpserver.ClientKey).
func clientKey(c *gin.Context) string {
	first, _, _ := strings.Cut(c.GetHeader("X-Forwarded-For"), ",")
	if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
		return httpserver.ClientKey(a)
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		host = c.Request.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return httpserver.ClientKey(a)
	}
	return "unknown"
}
