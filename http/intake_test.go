package http_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func intakeFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "intake", "testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// createIntegration creates an integration through the API and returns
// what the admin is shown once.
func createIntegration(t *testing.T, e *env, admin string, body map[string]any) vigilhttp.IntegrationCreated {
	t.Helper()
	var c vigilhttp.IntegrationCreated
	e.do(req{Method: "POST", Path: "/api/v1/integrations", Token: admin, Body: body}).want(t, http.StatusCreated).JSON(t, &c)
	if !strings.HasPrefix(c.Token, vigil.IntegrationTokenPrefix) || !strings.HasSuffix(c.URL, "/api/v1/intake/"+body["kind"].(string)) ||
		c.URLWithKey != c.URL+"/"+c.Token {
		t.Fatalf("created: %+v", c)
	}
	return c
}

func TestIntakeFormats(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	responder, _ := e.user(vigil.RoleResponder)
	cases := []struct {
		kind     string
		fixtures []string
		mapping  map[string]any
	}{
		{"alertmanager", []string{"alertmanager-firing.json", "alertmanager-firing-v0.31.json", "alertmanager-resolved.json"}, nil},
		{"grafana", []string{"grafana-firing.json", "grafana-firing-minimal.json", "grafana-resolved.json"}, nil},
		{"splunk", []string{"splunk.json", "splunk-search-one-result.json"}, nil},
		{"wazuh", []string{"wazuh-sshd.json", "wazuh-syscheck.json", "wazuh-virustotal.json"}, nil},
		{"elastic", []string{"kibana-webhook.json", "kibana-webhook-recovered.json"}, map[string]any{
			"title": "context.title", "fingerprint": "alert.uuid", "status": "alert.actionGroup", "time": "date"}},
		{"thehive", []string{"thehive-alert.json", "thehive-alert-legacy.json", "thehive-alert-simple.json", "thehive-alert-observables.json"}, nil},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			body := map[string]any{"name": c.kind + " test", "kind": c.kind}
			if c.mapping != nil {
				body["mapping"] = c.mapping
			}
			in := createIntegration(t, e, admin, body)
			for _, name := range c.fixtures {
				var res vigil.IngestResult
				e.do(req{Method: "POST", Path: "/api/v1/intake/" + c.kind, Token: in.Token, Body: intakeFixture(t, name)}).
					want(t, http.StatusOK).JSON(t, &res)
				if res.Received == 0 || len(res.AlertIDs) != res.Received || res.Created+res.Repeated+res.Refired+res.Resolved != res.Received {
					t.Errorf("%s: %+v", name, res)
				}
			}
			// The token in the URL works as well as the header.
			e.do(req{Method: "POST", Path: "/api/v1/intake/" + c.kind + "/" + in.Token, Body: intakeFixture(t, c.fixtures[len(c.fixtures)-1])}).want(t, http.StatusOK)
			var list vigilhttp.AlertList
			e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts?integration=%d", in.Integration.ID), Token: responder}).want(t, http.StatusOK).JSON(t, &list)
			if len(list.Alerts) == 0 {
				t.Fatal("no alerts listed")
			}
			var a vigil.Alert
			e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", list.Alerts[0].ID), Token: responder}).want(t, http.StatusOK).JSON(t, &a)
			if len(a.Raw) == 0 || a.Count < 1 {
				t.Errorf("alert: %+v", a)
			}
		})
	}
	// The Alertmanager resolution resolved the alerts it fired.
	var list vigilhttp.AlertList
	e.do(req{Method: "GET", Path: "/api/v1/alerts?status=firing", Token: responder}).want(t, http.StatusOK).JSON(t, &list)
	for _, a := range list.Alerts {
		if a.Kind == vigil.IntegrationAlertmanager {
			t.Errorf("still firing after the resolved notification: %s", a.Title)
		}
	}
}

func TestTheHiveCompatibleAPI(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	in := createIntegration(t, e, admin, map[string]any{"name": "misp", "kind": "thehive"})
	for _, path := range []string{"/api/alert", "/api/v1/alert"} {
		r := e.do(req{Method: "POST", Path: path, Token: in.Token, Body: intakeFixture(t, "thehive-alert.json")}).want(t, http.StatusCreated)
		var out map[string]any
		r.JSON(t, &out)
		if id, _ := out["_id"].(string); !strings.HasPrefix(id, "~") {
			t.Errorf("%s: %v", path, out)
		}
	}
}

func TestIntakeBadInput(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	am := createIntegration(t, e, admin, map[string]any{"name": "am", "kind": "alertmanager"})
	gr := createIntegration(t, e, admin, map[string]any{"name": "gr", "kind": "grafana"})
	firing := intakeFixture(t, "alertmanager-firing.json")
	cases := []struct {
		name   string
		path   string
		token  string
		body   []byte
		status int
	}{
		{"no token", "/api/v1/intake/alertmanager", "", firing, 401},
		{"wrong token", "/api/v1/intake/alertmanager", "vgi_wrongwrongwrongwrong", firing, 401},
		{"user-shaped token", "/api/v1/intake/alertmanager", "vgl_abc", firing, 401},
		{"other kind's token", "/api/v1/intake/alertmanager", gr.Token, firing, 403},
		{"unknown kind", "/api/v1/intake/nagios", am.Token, firing, 404},
		{"invalid json", "/api/v1/intake/alertmanager", am.Token, []byte(`{"alerts":[`), 400},
		{"wrong format", "/api/v1/intake/alertmanager", am.Token, intakeFixture(t, "splunk.json"), 400},
		{"missing labels", "/api/v1/intake/alertmanager", am.Token, []byte(`{"version":"4","alerts":[{"status":"firing"}]}`), 400},
		{"deep", "/api/v1/intake/alertmanager", am.Token, []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), 400},
		{"not utf-8", "/api/v1/intake/alertmanager", am.Token, []byte("{\"alerts\":[{\"labels\":{\"a\":\"\xff\xfe\"}}]}"), 400},
		{"10 MB", "/api/v1/intake/alertmanager", am.Token, bytes.Repeat([]byte(" "), 10<<20), 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(req{Method: "POST", Path: c.path, Token: c.token, Body: c.body, Raw: true}).want(t, c.status)
			p := r.Problem(t)
			if p.Detail == "" || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("problem: %+v %s", p, r.Header.Get("Content-Type"))
			}
		})
	}
	// A wrong type deep in a payload names its field (it said "the payload
	// is a JSON string").
	wz := createIntegration(t, e, admin, map[string]any{"name": "wz", "kind": "wazuh"})
	p := e.do(req{Method: "POST", Path: "/api/v1/intake/wazuh", Token: wz.Token, Raw: true,
		Body: []byte(`{"rule":{"level":"ten","description":"sshd: brute force"},"agent":{"name":"web-1"}}`)}).want(t, 400).Problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "rule.level" || !strings.Contains(p.Errors[0].Message, "must be a number") {
		t.Errorf("rule.level as a word: %+v", p)
	}

	// A disabled integration's token is refused; others keep working.
	dis := true
	e.do(req{Method: "PATCH", Path: fmt.Sprintf("/api/v1/integrations/%d", gr.Integration.ID), Token: admin, Body: vigil.IntegrationUpdate{Disabled: &dis}}).want(t, http.StatusOK)
	e.do(req{Method: "POST", Path: "/api/v1/intake/grafana", Token: gr.Token, Body: intakeFixture(t, "grafana-firing.json")}).want(t, http.StatusForbidden)
	e.do(req{Method: "POST", Path: "/api/v1/intake/alertmanager", Token: am.Token, Body: firing}).want(t, http.StatusOK)
	// A rotated token stops working at once.
	var rot vigilhttp.IntegrationCreated
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/integrations/%d/token", am.Integration.ID), Token: admin}).want(t, http.StatusOK).JSON(t, &rot)
	e.do(req{Method: "POST", Path: "/api/v1/intake/alertmanager", Token: am.Token, Body: firing}).want(t, http.StatusUnauthorized)
	e.do(req{Method: "POST", Path: "/api/v1/intake/alertmanager", Token: rot.Token, Body: firing}).want(t, http.StatusOK)

	// Refusals and acceptances are counted per integration.
	r := e.do(req{Method: "GET", Path: "/metrics", Token: admin})
	metrics := string(r.Body)
	for _, want := range []string{
		`vigil_intake_requests_total{integration="am",result="invalid"} 5`,
		`vigil_intake_requests_total{integration="am",result="ok"} 2`,
		`vigil_intake_requests_total{integration="am",result="too_large"} 1`,
		`vigil_intake_requests_total{integration="unknown",result="unauthorized"}`,
		`vigil_intake_requests_total{integration="gr",result="forbidden"} 2`,
		`vigil_intake_alerts_total{integration="am",outcome="created"}`,
		`vigil_intake_alerts_total{integration="am",outcome="repeated"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, "vigil_intake") {
				t.Log(l)
			}
		}
	}
}

// TestIntakeChunkedOverLimit sends a body without a length that grows past
// the limit: 413, not a read of all of it.
func TestIntakeChunkedOverLimit(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	am := createIntegration(t, e, admin, map[string]any{"name": "am", "kind": "alertmanager"})
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for range 20 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	hr, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/intake/alertmanager", pr)
	hr.Header.Set("Authorization", "Bearer "+am.Token)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pr.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestIntakeRetryIsIdempotent backs docs/intake.md's promise: intake needs
// no Idempotency-Key, because a delivery retried by the tool (its first
// answer lost) is the same alerts by fingerprint: one more notification of
// each, never a second alert, group or incident. TheHive's API answers a
// retry with the alert the first created.
func TestIntakeRetryIsIdempotent(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	am := createIntegration(t, e, admin, map[string]any{"name": "am", "kind": "alertmanager"})
	var first, retry vigil.IngestResult
	e.do(req{Method: "POST", Path: "/api/v1/intake/alertmanager", Token: am.Token, Body: intakeFixture(t, "alertmanager-firing.json")}).
		want(t, http.StatusOK).JSON(t, &first)
	e.do(req{Method: "POST", Path: "/api/v1/intake/alertmanager", Token: am.Token, Body: intakeFixture(t, "alertmanager-firing.json"),
		Header: map[string]string{vigilhttp.IdempotencyKeyHeader: "ignored-here"}}).want(t, http.StatusOK).JSON(t, &retry)
	if retry.Created != 0 || retry.Repeated != first.Created || fmt.Sprint(retry.AlertIDs) != fmt.Sprint(first.AlertIDs) ||
		fmt.Sprint(retry.GroupIDs) != fmt.Sprint(first.GroupIDs) {
		t.Errorf("retried delivery: %+v, first %+v; want the same alerts and groups, repeated", retry, first)
	}

	hive := createIntegration(t, e, admin, map[string]any{"name": "misp", "kind": "thehive"})
	var ids []any
	for range 2 {
		var out map[string]any
		e.do(req{Method: "POST", Path: "/api/v1/alert", Token: hive.Token, Body: intakeFixture(t, "thehive-alert.json")}).
			want(t, http.StatusCreated).JSON(t, &out)
		ids = append(ids, out["_id"])
	}
	if ids[0] != ids[1] {
		t.Errorf("TheHive alert created twice: ids %v", ids)
	}
}

// TestIntakeUnreadableTime: an alert whose start time cannot be read is
// taken in with the time it was received, and says why in its warnings,
// in the API.
func TestIntakeUnreadableTime(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	responder, _ := e.user(vigil.RoleResponder)
	am := createIntegration(t, e, admin, map[string]any{"name": "am", "kind": "alertmanager"})
	var res vigil.IngestResult
	e.do(req{Method: "POST", Path: "/api/v1/intake/alertmanager", Token: am.Token, Raw: true, Body: []byte(`{"version":"4","status":"firing",
		"alerts":[{"status":"firing","labels":{"alertname":"DiskFull"},"startsAt":"yesterday","fingerprint":"0123456789abcdef"}]}`)}).
		want(t, http.StatusOK).JSON(t, &res)
	if res.Created != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	var a vigil.Alert
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", res.AlertIDs[0]), Token: responder}).want(t, http.StatusOK).JSON(t, &a)
	if len(a.Warnings) != 1 || a.Warnings[0].Field != "startsAt" || !strings.Contains(a.Warnings[0].Message, `"yesterday"`) {
		t.Errorf("warnings: %+v", a.Warnings)
	}
	if a.StartedAt.IsZero() || !a.StartedAt.Equal(a.FirstSeen) {
		t.Errorf("started %v, first seen %v: want the time received", a.StartedAt, a.FirstSeen)
	}
}
