package http

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// TestStoreDeadline: every request's context has the deadline of its
// route's kind: StoreTimeout, ExportTimeout for the routes marked Long
// (TAXII's import inside TAXII's own mux), none for a Stream.
func TestStoreDeadline(t *testing.T) {
	s := NewServer(vigil.Services{}, nil)
	s.StoreTimeout, s.ExportTimeout = 3*time.Second, 7*time.Minute
	var got time.Duration
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = 0
		if d, ok := r.Context().Deadline(); ok {
			got = time.Until(d).Round(time.Second)
		}
	})
	s.Mount(func(mux *http.ServeMux) {
		mux.Handle("GET /test/short", report)
		mux.Handle("GET /test/long", Long(report))
		mux.Handle("GET /test/live", Stream(report))
	})
	for _, tt := range []struct {
		method, path string
		want         time.Duration
	}{
		{"GET", "/test/short", 3 * time.Second},
		{"GET", "/test/long", 7 * time.Minute},
		{"GET", "/test/live", 0},
	} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
		if got != tt.want {
			t.Errorf("%s %s: deadline in %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
	// The API's own routes, by their kind.
	for _, tt := range []struct {
		method, path string
		want         time.Duration
	}{
		{"POST", "/api/v1/incidents", 3 * time.Second},
		{"GET", "/api/v1/incidents/1", 3 * time.Second},
		{"POST", "/api/v1/intake/generic", 3 * time.Second},
		{"POST", "/api/v1/incidents/1/evidence", 7 * time.Minute},
		{"GET", "/api/v1/evidence/1/content", 7 * time.Minute},
		{"GET", "/api/v1/incidents/1/stix", 7 * time.Minute},
		{"GET", "/api/v1/audit/verify", 7 * time.Minute},
		{"GET", "/taxii2/api/collections/c/objects/", 3 * time.Second},
		{"POST", "/taxii2/api/collections/c/objects/", 7 * time.Minute},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		h, _ := s.mux.Handler(r)
		if got := s.timeoutFor(h, r); got != tt.want {
			t.Errorf("%s %s: timeout %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}
