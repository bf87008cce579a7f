package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake"
)

// TestLoadConn: the load tool's client reads answers with a length, a
// chunked body or none (204), keeps the connection alive, and connects
// again after the server closes it.
func TestLoadConn(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if got := r.Header.Get("Authorization"); got != "Bearer t" {
			t.Errorf("Authorization %q", got)
		}
		switch r.URL.Query().Get("as") {
		case "chunked":
			w.WriteHeader(202)
			w.Write([]byte(strings.Repeat("x", 5000)))
			w.(http.Flusher).Flush()
			w.Write([]byte("y"))
		case "none":
			w.WriteHeader(204)
		case "busy":
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			w.WriteHeader(429)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		as         string
		status     int
		retryAfter bool
	}{{"", 200, false}, {"chunked", 202, false}, {"none", 204, false}, {"busy", 429, true}, {"", 200, false}, {"none", 204, false}, {"", 200, false}} {
		conn, err := newLoadConn(srv.URL + "/in?as=" + c.as)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // twice on one connection (a closed one is opened again)
			a, err := conn.post(context.Background(), "Authorization: Bearer t\r\n", []byte(`{}`))
			if err != nil || a.status != c.status || a.retryAfter != c.retryAfter {
				t.Errorf("as %q: %+v %v, want %d", c.as, a, err, c.status)
			}
		}
		conn.close()
	}
	if got := n.Load(); got != 14 {
		t.Errorf("the server saw %d requests, want 14", got)
	}
}

// TestAlertmanagerPayload: the load tool's payload is a version 4 webhook
// body that the Alertmanager parser reads back, alert by alert.
func TestAlertmanagerPayload(t *testing.T) {
	if got := openFingerprint(42); got != "open000042" {
		t.Errorf("openFingerprint(42) = %q", got)
	}
	now := time.Date(2026, 12, 1, 14, 0, 0, 123456789, time.UTC)
	var b bytes.Buffer
	alertmanagerPayload(&b, []string{openFingerprint(7), "new3-99"}, now)
	alerts, err := intake.Parse(&vigil.Integration{ID: 1, Name: "load", Kind: vigil.IntegrationAlertmanager}, b.Bytes())
	if err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if len(alerts) != 2 {
		t.Fatalf("%d alerts", len(alerts))
	}
	for i, fp := range []string{"open000007", "new3-99"} {
		a := alerts[i]
		if a.Fingerprint != fp || a.Labels["instance"] != "api-"+fp+":9100" || !a.At.Equal(now) || a.Status != vigil.AlertFiring ||
			a.Title != "High request latency on api-"+fp {
			t.Errorf("alert %d: %+v", i, a)
		}
	}
}
