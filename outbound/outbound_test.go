package outbound_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/outbound"
)

// serveOn starts an HTTP server on addr ("127.0.0.2:0"), counting the
// requests it gets. Every address in 127.0.0.0/8 is this machine's on
// Linux, so servers on 127.0.0.1 and 127.0.0.2 stand for an internal
// service and an allowed one.
func serveOn(tb testing.TB, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	tb.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Skipf("cannot listen on %s: %v", addr, err)
	}
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "internal secret") }

func mustAllow(tb testing.TB, s string) vigil.OutboundAllow {
	tb.Helper()
	a, err := vigil.ParseOutboundAllow(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func get(tb testing.TB, c *http.Client, url string) (*http.Response, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// TestDefaultRefusesInternal: without an allow-list, loopback in every
// spelling, and a name that resolves to it, is refused when connecting,
// before a byte is sent.
func TestDefaultRefusesInternal(t *testing.T) {
	srv, hits := serveOn(t, "127.0.0.1:0", ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := outbound.NewClient(vigil.OutboundAllow{}, 5)
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::ffff:127.0.0.1]", "127.0.0.2", "[::]"} {
		t.Run(host, func(t *testing.T) {
			_, err := get(t, c, "http://"+host+":"+port+"/")
			if outbound.Blocked(err) == nil {
				t.Fatalf("GET %s: err = %v, want a *BlockedError", host, err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests", n)
	}
	// The dialer alone (SMTP's): a name resolving to loopback.
	_, err := (&outbound.Dialer{}).DialContext(t.Context(), "tcp", "localhost:"+port)
	if be := outbound.Blocked(err); be == nil || !strings.Contains(be.Error(), "loopback") {
		t.Errorf("dial localhost: %v, want a refusal naming loopback", err)
	}
}

// TestAllowList: what the list names is reached, by network, address or
// host name; its neighbours are not.
func TestAllowList(t *testing.T) {
	srv, _ := serveOn(t, "127.0.0.1:0", ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, tt := range []struct{ allow, host string }{
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.0/8", "127.0.0.1"},
		{"localhost", "localhost"},
		{"10.0.0.0/8,127.0.0.1/32", "localhost"}, // by address, whatever the name
	} {
		resp, err := get(t, outbound.NewClient(mustAllow(t, tt.allow), 0), "http://"+tt.host+":"+port+"/")
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("allow %q, GET %s: %v", tt.allow, tt.host, err)
		}
	}
	if _, err := get(t, outbound.NewClient(mustAllow(t, "127.0.0.2"), 0), srv.URL); outbound.Blocked(err) == nil {
		t.Errorf("127.0.0.1 reached with only 127.0.0.2 allowed: %v", err)
	}
}

// TestRedirects: every hop is checked. An allowed server (127.0.0.2)
// redirecting to an internal one (127.0.0.1) is refused, by address and
// by name; so are redirects off http(s), down from https to http, and
// past the limit. A client told to follow none answers with the redirect.
func TestRedirects(t *testing.T) {
	internal, hits := serveOn(t, "127.0.0.1:0", ok)
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	var to string
	allowed, _ := serveOn(t, "127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/here" {
			io.WriteString(w, "fine")
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
	c := outbound.NewClient(mustAllow(t, "127.0.0.2/32"), 5)
	for _, target := range []string{internal.URL + "/", "http://localhost:" + port + "/", "http://[::1]:" + port + "/", "http://0.0.0.0:" + port + "/"} {
		to = target
		_, err := get(t, c, allowed.URL+"/go")
		if outbound.Blocked(err) == nil {
			t.Errorf("redirect to %s: err = %v, want a *BlockedError", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests through redirects", n)
	}
	to = allowed.URL + "/here"
	if resp, err := get(t, c, allowed.URL+"/go"); err != nil || resp.StatusCode != 200 {
		t.Errorf("redirect within the allowed server: %v", err)
	}
	to = "ftp://127.0.0.2/x"
	if _, err := get(t, c, allowed.URL+"/go"); err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Errorf("redirect to ftp: %v", err)
	}
	to = allowed.URL + "/again" // loops
	if _, err := get(t, c, allowed.URL+"/go"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	to = internal.URL + "/"
	resp, err := get(t, outbound.NewClient(mustAllow(t, "127.0.0.2/32"), 0), allowed.URL+"/go")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("no redirects: %v %v, want the 302 itself", resp, err)
	}
}

// TestRedirectDowngrade: a redirect from https to http is refused.
func TestRedirectDowngrade(t *testing.T) {
	plain, _ := serveOn(t, "127.0.0.2:0", ok)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/", http.StatusFound)
	}))
	defer tlsSrv.Close()
	c := outbound.NewClient(mustAllow(t, "127.0.0.0/8"), 5)
	c.Transport.(*http.Transport).TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	if _, err := get(t, c, tlsSrv.URL+"/"); err == nil || !strings.Contains(err.Error(), "https to http") {
		t.Errorf("https to http: %v", err)
	}
}

// TestNoProxy: a proxy from the environment would reach its targets
// itself, past the address check; the client uses none.
func TestNoProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.2:3128")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.2:3128")
	tr := outbound.NewClient(vigil.OutboundAllow{}, 0).Transport.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("the transport has a Proxy function")
	}
}

func TestStatusText(t *testing.T) {
	for code, want := range map[int]string{500: "HTTP 500 Internal Server Error", 404: "HTTP 404 Not Found", 599: "HTTP 599"} {
		if got := outbound.StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}
