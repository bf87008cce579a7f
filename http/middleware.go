package http

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// middleware wraps h with, from the outside in: request ID, security
// headers, access log and metrics, the deadline for store work (which
// authentication's session lookup is part of), panic recovery, and
// authentication.
func (s *Server) middleware(h http.Handler) http.Handler {
	h = s.apiFallback(h)
	h = s.authenticate(h)
	h = s.recoverPanics(h)
	h = s.storeDeadline(h)
	h = s.logRequests(h)
	h = crossOrigin(h)
	h = securityHeaders(h)
	h = s.withClient(h)
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
		// Set as Header.Set would, with the names already canonical and
		// the values in one allocation: this runs on every request, and
		// an alert storm is many of them.
		hd := w.Header()
		v := []string{"nosniff", "no-referrer", "DENY", "same-origin", "default-src 'none'; frame-ancestors 'none'"}
		hd["X-Content-Type-Options"] = v[0:1:1]
		hd["Referrer-Policy"] = v[1:2:2]
		hd["X-Frame-Options"] = v[2:3:3]
		hd["Cross-Origin-Opener-Policy"] = v[3:4:4]
		if strings.HasPrefix(r.URL.Path, "/api/") {
			hd["Content-Security-Policy"] = v[4:5:5]
		}
		h.ServeHTTP(w, r)
	})
}

// crossOrigin refuses state-changing requests that a browser marks as
// cross-site (Sec-Fetch-Site, else Origin against Host): the second line of
// defence behind SameSite cookies and CSRF tokens, and the one that also
// covers forms without a session, such as login and the report page.
// Scripts that send neither header are not affected.
func crossOrigin(h http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forbidden(w, r, "Cross-site request refused: submit the form from Vigil's own pages.")
	}))
	return p.Handler(h)
}

// forbidden answers 403 as a problem for the API, as a short page elsewhere.
func forbidden(w http.ResponseWriter, r *http.Request, detail string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeProblem(w, r, &Problem{Status: http.StatusForbidden, Code: vigil.EFORBIDDEN, Detail: detail})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<!doctype html><title>Refused</title><h1>Refused</h1><p>%s</p><p><a href=\"/\">Back to Vigil</a></p>",
		html.EscapeString(detail))
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	route  string // the matching route pattern, if a handler inside looked it up
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
		// middleware never sees; ask the mux which pattern matches, unless
		// apiFallback has.
		route := sw.route
		if route == "" {
			_, route = s.mux.Handler(r)
		}
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

// levelFor is the access log's level for a status. 503 and 507 say the
// store is unavailable or its disk full: faults of the environment, which
// the store's own alerts (the disk-full episode, /readyz) report; at
// error level every request during an outage would drown the log.
func levelFor(status int) slog.Level {
	switch {
	case status == http.StatusServiceUnavailable, status == http.StatusInsufficientStorage:
		return slog.LevelWarn
	case status >= 500:
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

// clientIP is the request's client address: the connecting one, or one
// that a trusted proxy forwarded (see withClient).
func clientIP(r *http.Request) string { return ClientAddr(r) }
