package http

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
)

// middleware wraps h with, from the outside in: request ID, security
// headers, access log and metrics, panic recovery, and authentication.
func (s *Server) middleware(h http.Handler) http.Handler {
	h = s.apiFallback(h)
	h = s.authenticate(h)
	h = s.recoverPanics(h)
	h = s.logRequests(h)
	h = securityHeaders(h)
	h = requestID(h)
	return h
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes a well-formed X-Request-ID from the client (a load
// balancer's, say) or makes one, and puts it in the context and response.
func requestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !requestIDRE.MatchString(id) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		h.ServeHTTP(w, r.WithContext(vigil.NewContextWithRequestID(r.Context(), id)))
	})
}

// securityHeaders sets headers every response should carry. Pages set their
// own Content-Security-Policy; API responses get the strictest.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		h.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush
// for live updates, deadlines for streams).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one access-log line per request and observes metrics
// by route pattern (never by raw path, which would explode cardinality).
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The mux sets Pattern on its own copy of the request, which this
		// middleware never sees; ask the mux which pattern matches.
		_, route := s.mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		if s.Metrics != nil {
			s.Metrics.observeRequest(route, r.Method, sw.status, d)
		}
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return // probes every few seconds would drown the log
		}
		user := ""
		if a := vigil.ActorFromContext(r.Context()); a != nil {
			user = a.Username
		}
		s.Logger.LogAttrs(r.Context(), levelFor(sw.status), "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
			slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes), slog.Duration("duration", d),
			slog.String("user", user), slog.String("request_id", vigil.RequestIDFromContext(r.Context())))
	})
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// recoverPanics turns a panic into a 500 problem and a logged stack, so no
// panic reaches the user as a dropped connection.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "err", fmt.Sprint(v), "stack", string(debug.Stack()),
					"request_id", vigil.RequestIDFromContext(r.Context()))
				s.problem(w, r, &Problem{Status: http.StatusInternalServerError, Detail: "Internal error."})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// clientIP is the request's remote address without the port. Vigil does
// not trust X-Forwarded-For: a client can forge it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateLimiter allows n events per window per key, in memory. Each
// instance limits on its own; that is enough to slow a guesser down.
type rateLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	hits   map[string][]time.Time
}

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	return &rateLimiter{n: n, window: window, hits: map[string][]time.Time{}}
}

// allow records an event for key at now and reports whether it is within
// the limit, and if not, how long until it would be.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := now.Add(-l.window)
	hits := l.hits[key]
	i := 0
	for i < len(hits) && hits[i].Before(cut) {
		i++
	}
	hits = hits[i:]
	if len(hits) >= l.n {
		l.hits[key] = hits
		return false, hits[0].Sub(cut)
	}
	l.hits[key] = append(hits, now)
	if len(l.hits) > 10000 { // bound memory under a spray of addresses
		for k, v := range l.hits {
			if len(v) == 0 || v[len(v)-1].Before(cut) {
				delete(l.hits, k)
			}
		}
	}
	return true, 0
}
