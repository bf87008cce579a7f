// Package outbound opens Vigil's connections to other systems (webhook,
// Slack and Teams channels, SMTP servers, TAXII feeds) only where the
// operator permits: never to an internal address (vigil.InternalAddr)
// unless the allow-list names it.
//
// The check is made on the address actually being connected to, in the
// dialer's Control hook, after DNS: a name that resolves to a public
// address when a channel is saved and to 127.0.0.1 when it is used (DNS
// rebinding) is refused then. HTTP clients follow redirects only as told,
// each hop checked again, and use no proxy: a proxy resolves names itself,
// so Vigil could not see the address finally reached.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/vigil-ir/vigil"
)

// BlockedError is a refusal to connect to a destination the allow-list
// does not admit. Its message is safe to show an administrator: it names
// the address or host refused and the setting that would admit it.
type BlockedError struct {
	Msg string
}

func (e *BlockedError) Error() string { return e.Msg }

// Blocked returns the *BlockedError in err's chain, or nil.
func Blocked(err error) *BlockedError {
	var be *BlockedError
	if errors.As(err, &be) {
		return be
	}
	return nil
}

// Dialer connects only to addresses Allow admits: public ones, those in
// an allowed network, and any address of an allowed host name.
type Dialer struct {
	Allow vigil.OutboundAllow
	// Timeout bounds connecting (30 s by default); the caller's context
	// bounds it too.
	Timeout time.Duration
}

// DialContext connects to addr ("host:port") as net.Dialer does, refusing
// with a *BlockedError (inside a *net.OpError) each address of host that
// is internal and not allowed.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	byName := d.Allow.AllowsHost(host)
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	nd := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second,
		// Control runs for each address tried, once resolved, before
		// the connection is made.
		Control: func(_, address string, _ syscall.RawConn) error {
			if byName {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &BlockedError{Msg: fmt.Sprintf("%q is not an address Vigil will connect to.", address)}
			}
			if msg := d.Allow.CheckAddr(ap.Addr()); msg != "" {
				return &BlockedError{Msg: msg}
			}
			return nil
		},
	}
	return nd.DialContext(ctx, network, addr)
}

// NewClient returns an HTTP client whose connections go only where allow
// admits (a Dialer), that uses no proxy, and that follows at most
// redirects redirects: each must stay on http or https, must not step
// down from https to http, and its host is checked as a saved URL's is
// (vigil.OutboundAllow.CheckHost) before its address is checked on
// connecting. With redirects 0 a redirect is the answer, not followed.
func NewClient(allow vigil.OutboundAllow, redirects int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // see the package comment
	t.DialContext = (&Dialer{Allow: allow}).DialContext
	t.MaxResponseHeaderBytes = 64 << 10
	return &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if redirects <= 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > redirects {
			return fmt.Errorf("more than %d redirects", redirects)
		}
		switch prev := via[len(via)-1].URL; {
		case req.URL.Scheme != "https" && req.URL.Scheme != "http":
			return fmt.Errorf("a redirect to a %s: URL", req.URL.Scheme)
		case prev.Scheme == "https" && req.URL.Scheme == "http":
			return errors.New("a redirect from https to http")
		}
		if msg := allow.CheckHost(req.URL.Hostname()); msg != "" {
			return &BlockedError{Msg: "A redirect to a host Vigil will not connect to: " + msg}
		}
		return nil
	}}
}

// StatusText describes an HTTP status for a log that users read: "HTTP
// 500 Internal Server Error", with the standard reason phrase, never the
// one the server sent. Vigil keeps no response body of a call out, only
// this: a body (or a made-up reason phrase) could be an internal
// service's data.
func StatusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("HTTP %d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}
