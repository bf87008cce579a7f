package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// blockingAlerts is an AlertService whose IngestAlerts waits until release
// is closed: a store that cannot keep up.
type blockingAlerts struct {
	vigil.AlertService
	entered chan struct{}
	release chan struct{}
}

func (b *blockingAlerts) IngestAlerts(ctx context.Context, in *vigil.Integration, alerts []*vigil.AlertInput) (*vigil.IngestResult, error) {
	b.entered <- struct{}{}
	<-b.release
	return &vigil.IngestResult{Received: len(alerts), AlertIDs: []int64{}, GroupIDs: []int64{}, Promoted: []int64{}, Incidents: []int64{}}, nil
}

// fixedIntegrations authenticates two tokens.
type fixedIntegrations struct {
	vigil.IntegrationService
	byToken map[string]*vigil.Integration
}

func (f *fixedIntegrations) AuthenticateIntegration(ctx context.Context, token string) (*vigil.Integration, error) {
	if in, ok := f.byToken[token]; ok {
		return in, nil
	}
	return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "no")
}

// TestIntakeBackpressure fills the intake's slots against a store that
// does not answer: one integration may not take more than its share (429),
// a full gate answers 503 after a short wait, both with Retry-After, and
// the server keeps answering other requests.
func TestIntakeBackpressure(t *testing.T) {
	alerts := &blockingAlerts{entered: make(chan struct{}, 16), release: make(chan struct{})}
	loud := &vigil.Integration{ID: 1, Name: "loud", Kind: vigil.IntegrationAlertmanager}
	quiet := &vigil.Integration{ID: 2, Name: "quiet", Kind: vigil.IntegrationAlertmanager}
	loud.Normalize()
	quiet.Normalize()
	svc := vigil.Services{Alerts: alerts, Integrations: &fixedIntegrations{byToken: map[string]*vigil.Integration{
		"vgi_loud-token-0123456789": loud, "vgi_quiet-token-0123456789": quiet}}}
	srv := vigilhttp.NewServer(svc, nil)
	srv.Metrics = vigilhttp.NewMetrics()
	srv.IntakeLimits = vigilhttp.IntakeLimits{Slots: 4, Wait: 100 * time.Millisecond}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer close(alerts.release)

	body := `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`
	post := func(token string) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/intake/alertmanager", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// The loud integration takes its share, three of the four slots.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); post("vgi_loud-token-0123456789") }()
	}
	for range 3 {
		<-alerts.entered
	}
	if resp := post("vgi_loud-token-0123456789"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over its share: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	// The quiet one still gets in.
	wg.Add(1)
	go func() { defer wg.Done(); post("vgi_quiet-token-0123456789") }()
	select {
	case <-alerts.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the quiet integration was shut out")
	}
	// Now the gate is full: a request waits briefly, then gets 503.
	start := time.Now()
	resp := post("vgi_quiet-token-0123456789")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("full gate: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("the refusal took %s", waited)
	}
	// Everything else still answers.
	r, err := http.Get(ts.URL + "/healthz")
	if err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("healthz under intake overload: %v %v", r, err)
	}
	// Once the store answers, the queued requests complete.
	alerts.release <- struct{}{}
}
