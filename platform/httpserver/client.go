package httpserver

import "net/netip"

// ClientKey is the key under which a client address is metered (rate limits,
// sign-in throttling): IPv4 as is, IPv6 by its /64, since one host usually
// holds a whole /64 and would otherwise get a fresh allowance per address.
func ClientKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
