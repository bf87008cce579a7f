package http

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-ir/vigil"
)

// Deadlines. Every request has a deadline for its store work, so that a
// database that stalls (a frozen connection, a lock held by an instance
// that died) answers 503 with Retry-After in seconds instead of holding
// the request for as long as TCP takes to notice. A request's context ends
// StoreTimeout after it arrives; a route that exports or imports, marked
// Long, has ExportTimeout; a live stream, marked Stream, has none and
// bounds each of its checks itself. The store turns a deadline into
// EUNAVAILABLE: a write still queued when it passes is withdrawn ("nothing
// was changed"); one already running may commit ("may have been applied").

// Default deadlines: a few seconds for an API call or a page, longer for
// exports and imports (the write timeout of a response, see Open).
const (
	DefaultStoreTimeout  = 5 * time.Second
	DefaultExportTimeout = 5 * time.Minute
)

type (
	longHandler   struct{ http.Handler }
	streamHandler struct{ http.Handler }
	// nestedMux is a subtree served by a mux of its own (TAXII), whose
	// routes are marked there.
	nestedMux struct {
		http.Handler
		mux *http.ServeMux
	}
)

// Long marks a route that exports or imports (evidence, packages, reports,
// STIX, the audit check): its store work may take ExportTimeout. Register
// it as mux.Handle(pattern, Long(h)).
func Long(h http.Handler) http.Handler { return longHandler{h} }

// Stream marks a route that streams until its client leaves (live
// updates): it has no deadline, and bounds each store call with
// StoreTimeout(r) itself.
func Stream(h http.Handler) http.Handler { return streamHandler{h} }

// timeoutFor is the deadline of a request served by h; 0 is none.
func (s *Server) timeoutFor(h http.Handler, r *http.Request) time.Duration {
	switch h := h.(type) {
	case longHandler:
		return s.exportTimeout()
	case streamHandler:
		return 0
	case nestedMux:
		inner, _ := h.mux.Handler(r)
		return s.timeoutFor(inner, r)
	}
	return s.storeTimeout()
}

func (s *Server) storeTimeout() time.Duration {
	if s.StoreTimeout > 0 {
		return s.StoreTimeout
	}
	return DefaultStoreTimeout
}

func (s *Server) exportTimeout() time.Duration {
	if s.ExportTimeout > 0 {
		return s.ExportTimeout
	}
	return DefaultExportTimeout
}

type storeTimeoutKey struct{}

// StoreTimeout returns the deadline of one store call for the request:
// for a streaming handler, which has no deadline as a whole.
func StoreTimeout(r *http.Request) time.Duration {
	if d, ok := r.Context().Value(storeTimeoutKey{}).(time.Duration); ok {
		return d
	}
	return DefaultStoreTimeout
}

// storeDeadline puts the route's deadline on the request's context. It
// looks the route up once for the middleware around it: the access log
// and metrics, and apiFallback, read it from the statusWriter.
func (s *Server) storeDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := s.mux.Handler(r)
		if sw, ok := w.(*statusWriter); ok && pattern != "" {
			sw.route = pattern
		}
		ctx := context.WithValue(r.Context(), storeTimeoutKey{}, s.storeTimeout())
		if d := s.timeoutFor(h, r); d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// SetRetryAfter sets Retry-After on w for an error that carries a retry
// hint (EUNAVAILABLE), in whole seconds, rounded up.
func SetRetryAfter(w http.ResponseWriter, err error) {
	if d := vigil.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}
