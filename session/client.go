package session

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// What a session records of its client: the address (Config.ClientIP,
// behind proxies [TrustedProxyClientIP]) and the User-Agent, both shown in
// the list of a user's sessions and never trusted for access.

// TrustedProxyClientIP returns a [Config.ClientIP] function for an
// application behind reverse proxies. When the connection comes from one of
// the trusted prefixes, the client is the rightmost address in
// X-Forwarded-For that is not itself trusted; otherwise, and whenever the
// header is missing or malformed, it is the connection's address. Only the
// proxies you name are believed: a client cannot choose its address by
// sending the header itself.
func TrustedProxyClientIP(trusted ...netip.Prefix) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := remoteHost(r)
		addr, err := netip.ParseAddr(peer)
		if err != nil || !isTrusted(addr) {
			return peer
		}
		// The hops from the right, across the header's lines, without
		// building the list: this runs on every request with a cookie.
		values := r.Header.Values("X-Forwarded-For")
		if len(values) == 0 {
			return peer
		}
		for i := len(values) - 1; i >= 0; i-- {
			v := values[i]
			for {
				j := strings.LastIndexByte(v, ',')
				hop, err := netip.ParseAddr(strings.TrimSpace(v[j+1:]))
				if err != nil {
					return peer
				}
				if !isTrusted(hop) {
					return hop.Unmap().String()
				}
				if j < 0 {
					break
				}
				v = v[:j]
			}
		}
		return peer
	}
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// groupIPv6 returns ip unchanged unless it is an IPv6 address, which it
// masks to its first bits: one client usually holds a whole /64, so
// counting per address would let it rotate through 2^64 of them.
func groupIPv6(ip string, bits int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// truncate cuts s to at most n bytes, so that a client cannot make its
// session record grow with a huge User-Agent.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
