package http_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vigil-ir/vigil"
)

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.do(req{Method: "GET", Path: "/healthz"}).want(t, http.StatusOK); string(r.Body) != "ok\n" {
		t.Errorf("healthz = %q", r.Body)
	}
	e.do(req{Method: "GET", Path: "/readyz"}).want(t, http.StatusOK)
	e.srv.Ready = func(context.Context) error { return errors.New("database gone") }
	if r := e.do(req{Method: "GET", Path: "/readyz"}).want(t, http.StatusServiceUnavailable); strings.Contains(string(r.Body), "database gone") {
		t.Errorf("readyz leaks the error: %q", r.Body)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	viewer, _ := e.user(vigil.RoleViewer)
	e.do(req{Method: "GET", Path: "/api/v1/incidents", Token: viewer}).want(t, http.StatusOK)
	e.do(req{Method: "GET", Path: "/api/v1/incidents/42", Token: viewer}).want(t, http.StatusNotFound)
	e.do(req{Method: "GET", Path: "/metrics", Token: viewer}).want(t, http.StatusForbidden)
	r := e.do(req{Method: "GET", Path: "/metrics", Token: admin}).want(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
	// Parse it as Prometheus does.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v", err)
	}
	reqs := families["vigil_http_requests_total"]
	if reqs == nil {
		t.Fatal("no vigil_http_requests_total")
	}
	found := map[string]bool{}
	for _, m := range reqs.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		found[labels["route"]+" "+labels["code"]] = true
	}
	for _, want := range []string{"GET /api/v1/incidents 200", "GET /api/v1/incidents/{id} 404", "GET /metrics 403"} {
		if !found[want] {
			t.Errorf("no request count for %q; have %v", want, found)
		}
	}
	for _, name := range []string{"vigil_http_request_duration_seconds", "vigil_store_operation_duration_seconds", "go_goroutines", "vigil_build_info"} {
		if families[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	_, u := e.user(vigil.RoleViewer)
	var last *response
	for i := range 11 {
		last = e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": u.Username, "password": "wrong password"}})
		if i < 5 && last.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, last.Status)
		}
	}
	// Past five the account is locked (429 from the store); past ten the
	// address is throttled (429 with Retry-After from the server).
	last.want(t, http.StatusTooManyRequests)
	if last.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the throttled answer")
	}
}

func TestPanicsBecomeProblems(t *testing.T) {
	e := newEnv(t)
	// A request that the handler cannot decode at all still gets a problem,
	// and the server keeps serving.
	e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: "\x00", Raw: true}).want(t, http.StatusBadRequest)
	e.do(req{Method: "GET", Path: "/healthz"}).want(t, http.StatusOK)
}
