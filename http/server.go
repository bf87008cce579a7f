// Package http serves Vigil over HTTP: the JSON API under /api/v1, health
// and metrics endpoints, and (from other files) the web UI. Import it as
// vigilhttp. Handlers decode, call one service and encode; every rule lives
// in package vigil and the stores.
package http

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/internal/ratelimit"
)

// Server is Vigil's HTTP server.
type Server struct {
	server   *http.Server
	listener net.Listener
	mux      *http.ServeMux
	handler  http.Handler

	// Addr is the address to listen on, such as "127.0.0.1:8080" or ":0".
	Addr string
	// Services are the stores' services.
	Services vigil.Services
	// Logger receives the access log and errors.
	Logger *slog.Logger
	// Ready reports whether the store answers, for /readyz.
	Ready func(context.Context) error
	// Metrics collects request and store metrics; nil disables /metrics.
	Metrics *Metrics
	// SecureCookies marks cookies Secure; set when serving over TLS or
	// behind a proxy that terminates TLS.
	SecureCookies bool
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// Now is the clock.
	Now func() time.Time
	// IntakeLimits bound the alert intake's requests in flight; zero
	// values take the defaults. Set before the first request.
	IntakeLimits IntakeLimits
	// MaxEmailBytes bounds a reported message (POST /api/v1/intake/email);
	// 0 takes DefaultMaxEmailBytes. A longer one is kept truncated.
	MaxEmailBytes int64
	// StoreTimeout is the deadline of a request's store work, and
	// ExportTimeout that of the routes that export or import (see
	// deadline.go); 0 takes DefaultStoreTimeout and DefaultExportTimeout.
	StoreTimeout, ExportTimeout time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For and Forwarded
	// headers name the client (ParseTrustedProxies); none by default.
	TrustedProxies []netip.Prefix

	loginLimiter *ratelimit.Limiter
	intakeGate   *intakeGate
	gateOnce     sync.Once
	integrations integrationCache
	onShutdown   []func()
	apiRoutes    []apiRoute
	openapiOnce  sync.Once
	openapiJSON  []byte
	// The cipher sealing TAXII next values (see nextAEAD).
	nextMu  sync.Mutex
	nextGCM cipher.AEAD
}

// DefaultMaxBodyBytes is the default bound on JSON request bodies.
const DefaultMaxBodyBytes = 1 << 20

// NewServer returns a server on svc. Set the exported fields before Open.
func NewServer(svc vigil.Services, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		mux:          http.NewServeMux(),
		Services:     svc,
		Logger:       logger,
		MaxBodyBytes: DefaultMaxBodyBytes,
		Now:          time.Now,
		// Ten attempts a minute per client address, on top of the store's
		// per-account lockout: together they stop both spraying one
		// password over many accounts and guessing at one.
		loginLimiter: ratelimit.New(10, time.Minute),
	}
	s.routes()
	s.handler = s.middleware(s.mux)
	return s
}

// Mount lets another package (the web pages) register routes on the
// server's mux, behind the same middleware: request IDs, logs and metrics
// by route, panic recovery, authentication and the CSRF check.
func (s *Server) Mount(register func(mux *http.ServeMux)) { register(s.mux) }

// OnShutdown registers f to run when Close begins, to end long-lived
// responses (live streams) that would otherwise hold shutdown up.
func (s *Server) OnShutdown(f func()) { s.onShutdown = append(s.onShutdown, f) }

// ServeHTTP serves a request through the middleware and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Open starts listening and serving in the background.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr, err)
	}
	s.listener = ln
	s.server = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// Generous for slow exports; live streams reset their own deadline.
		WriteTimeout:   5 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	for _, f := range s.onShutdown {
		s.server.RegisterOnShutdown(f)
	}
	go func() {
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL returns the base URL the server listens on.
func (s *Server) URL() string {
	if s.listener == nil {
		return ""
	}
	addr := s.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Close stops accepting connections and waits for in-flight requests to
// finish, until ctx is done.
func (s *Server) Close(ctx context.Context) error {
	if s.server == nil {
		return nil
	}
	return s.server.Shutdown(ctx)
}
