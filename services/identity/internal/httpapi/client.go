package httpapi

import (
	"net"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// clientKey is who a sign-in attempt comes from, for throttling: the client
// address the gateway saw. The gateway sets X-Forwarded-For to the TCP peer
// of the client (a client's own X-Forwarded-For never passes it), and daprd
// appends its host address to it on service invocation, so the first entry
// is the gateway's. Only the sidecar reaches this app (app API token), so
// the header can be trusted here; without it (a caller other than the
// gateway) the TCP peer is used. IPv6 clients are grouped by /64, as the
// gateway's own rate limit does: one host usually holds a whole /64.
func clientKey(c *gin.Context) string {
	first, _, _ := strings.Cut(c.GetHeader("X-Forwarded-For"), ",")
	if a, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
		return addrKey(a)
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		host = c.Request.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return addrKey(a)
	}
	return "unknown"
}

func addrKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
