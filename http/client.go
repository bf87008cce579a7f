package http

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/vigil-ir/vigil"
)

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes (or
// bare addresses) of the proxies whose X-Forwarded-For and Forwarded
// headers Vigil believes.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, vigil.Errorf(vigil.EINVALID, "Trusted proxy %q is neither an address nor a CIDR prefix.", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, vigil.Errorf(vigil.EINVALID, "Trusted proxy %q is neither an address nor a CIDR prefix.", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// withClient puts the request's client in the context (vigil.Client): its
// address, and its User-Agent.
func (s *Server) withClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := vigil.Client{Addr: clientAddr(r, s.TrustedProxies), UserAgent: r.UserAgent()}
		h.ServeHTTP(w, r.WithContext(vigil.NewContextWithClient(r.Context(), c)))
	})
}

// clientAddr is the address a request comes from. It is the connecting
// address, unless that is a trusted proxy: then the headers the proxies
// added are read from the right, past every trusted proxy, and the first
// address that is not one is the client's. Without trusted proxies the
// headers are ignored: a client can write anything in them.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	remote := hostOf(r.RemoteAddr)
	addr, err := netip.ParseAddr(remote)
	if err != nil || !isTrusted(addr, trusted) {
		return remote
	}
	hops := forwardedFor(r.Header.Values("Forwarded"))
	if len(hops) == 0 {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, f := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(f))
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hostOf(hops[i]))
		if err != nil {
			return remote // a hop we cannot read: stop at the last we trust
		}
		if !isTrusted(a, trusted) {
			return a.Unmap().String()
		}
		remote = a.Unmap().String()
	}
	return remote
}

// forwardedFor lists the for= addresses of RFC 7239 Forwarded headers,
// nearest the client first.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					out = append(out, strings.Trim(val, `"`))
				}
			}
		}
	}
	return out
}

// hostOf strips a port and IPv6 brackets from an address.
func hostOf(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the request's client, as withClient
// found it (the pages use it for their rate limits).
func ClientAddr(r *http.Request) string {
	if c := vigil.ClientFromContext(r.Context()); c.Addr != "" {
		return c.Addr
	}
	return hostOf(r.RemoteAddr)
}
