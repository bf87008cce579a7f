package http_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func init() {
	// The request validator reads a raw message as the file it is.
	openapi3filter.RegisterBodyDecoder("message/rfc822", openapi3filter.FileBodyDecoder)
}

func emailCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "intake", "email", "testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var rfc822 = map[string]string{"Content-Type": "message/rfc822"}

func postEmail(t *testing.T, e *env, token string, raw []byte) vigilhttp.EmailIngestResult {
	t.Helper()
	var res vigilhttp.EmailIngestResult
	e.do(req{Method: "POST", Path: "/api/v1/intake/email", Token: token, Body: raw, Header: rfc822}).want(t, http.StatusOK).JSON(t, &res)
	if len(res.AlertIDs) != 1 || len(res.GroupIDs) != 1 {
		t.Fatalf("result %+v", res)
	}
	return res
}

// TestIntakeEmailContract: a reported message posted with an email
// integration's token answers 2xx and makes an alert of kind email whose
// observables include the suspect's links' domains and each attachment's
// SHA-256; the message and its attachments are the alert's evidence, with
// their custody log, downloadable as bytes and never as HTML.
func TestIntakeEmailContract(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	responder, _ := e.user(vigil.RoleResponder)
	in := createIntegration(t, e, admin, map[string]any{"name": "phishing mailbox", "kind": "email"})
	if in.Integration.Grouping.Match != "any" || len(in.Integration.Grouping.By) != 4 {
		t.Errorf("an email integration's default grouping: %+v", in.Integration.Grouping)
	}

	raw := emailCorpus(t, "outlook-attached.eml")
	res := postEmail(t, e, in.Token, raw)
	if res.Created != 1 || res.Forward != "attached" || res.Truncated {
		t.Fatalf("result %+v", res)
	}
	var a vigil.Alert
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", res.AlertIDs[0]), Token: responder}).want(t, http.StatusOK).JSON(t, &a)
	if a.Kind != vigil.IntegrationEmail || a.Title != "Reported e-mail: Action required: verify your mailbox" {
		t.Errorf("alert %q of kind %q", a.Title, a.Kind)
	}
	if a.Labels["email.reporter"] != "Anna Staff <anna.staff@example.org>" || a.Labels["email.dmarc"] != "fail" ||
		a.Labels["email.sender_domain"] != "micros0ft-support.example" {
		t.Errorf("labels %v", a.Labels)
	}
	has := func(typ vigil.ObservableType, v string) bool {
		return slices.ContainsFunc(a.Observables, func(o *vigil.AlertObservable) bool { return o.Type == typ && o.Value == v })
	}
	for _, d := range []string{"login.micros0ft-support.example", "invoice-portal.example", "docs-share.example", "collect.phish-kit.example",
		"micros0ft-support.example"} {
		if !has(vigil.ObsDomain, d) {
			t.Errorf("no domain observable %s", d)
		}
	}
	var zipSum, htmlSum string
	for _, line := range strings.Split(string(emailCorpus(t, "zip.sha256")), "\n") {
		if sum, name, ok := strings.Cut(line, "  "); ok {
			if strings.HasSuffix(name, ".zip") {
				zipSum = sum
			} else {
				htmlSum = sum
			}
		}
	}
	for _, sum := range []string{zipSum, htmlSum} {
		if !has(vigil.ObsSHA256, sum) {
			t.Errorf("no sha256 observable %s", sum)
		}
	}
	// The reporter and the mailbox are not observables: not what the
	// message is about.
	for _, o := range a.Observables {
		if (o.Type == vigil.ObsEmail || o.Type == vigil.ObsDomain) && strings.HasSuffix(o.Value, "example.org") {
			t.Errorf("observable %s %s is the reporter's or the mailbox's", o.Type, o.Value)
		}
	}
	if !strings.Contains(a.Description, "Reported by Anna Staff") || !strings.Contains(a.Description, "DMARC: fail") {
		t.Errorf("description %q", a.Description)
	}

	// Evidence: the report, the suspect, the zip and the HTML file.
	if len(a.Evidence) != 4 {
		t.Fatalf("evidence %+v", a.Evidence)
	}
	names := []string{}
	for _, ev := range a.Evidence {
		names = append(names, ev.Name)
		if ev.AlertID == nil || *ev.AlertID != a.ID || ev.IncidentID != 0 || ev.CollectedBy == "" || ev.CustodyCount != 1 {
			t.Errorf("evidence %+v", ev)
		}
	}
	if want := []string{"reported-message.eml", "suspect-message.eml", "Invoice_7781.zip", "Remittance advice – sign in.html"}; !slices.Equal(names, want) {
		t.Errorf("evidence names %q, want %q", names, want)
	}
	if a.Evidence[0].SHA256 != sha256Hex(raw) || a.Evidence[2].SHA256 != zipSum {
		t.Errorf("evidence digests %s %s", a.Evidence[0].SHA256, a.Evidence[2].SHA256)
	}
	var view vigilhttp.EvidenceView
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d", a.Evidence[3].ID), Token: responder}).want(t, http.StatusOK).JSON(t, &view)
	if len(view.Custody) != 2 || view.Custody[0].Action != vigil.CustodyAdded || view.Custody[0].ActorName != "integration:phishing mailbox" ||
		view.Custody[1].Action != vigil.CustodyViewed {
		t.Errorf("custody %+v", view.Custody)
	}
	r := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d/content", a.Evidence[3].ID), Token: responder}).want(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); strings.Contains(ct, "html") || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the HTML attachment is served as %q, %q", ct, r.Header.Get("Content-Disposition"))
	}
	if sha256Hex(r.Body) != htmlSum {
		t.Error("the HTML attachment's bytes differ")
	}

	// Sent again (a retry): the same alert, no new evidence.
	again := postEmail(t, e, in.Token, raw)
	if again.Created != 0 || again.Repeated != 1 || again.AlertIDs[0] != a.ID {
		t.Errorf("retry %+v", again)
	}
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", a.ID), Token: responder}).want(t, http.StatusOK).JSON(t, &a)
	if len(a.Evidence) != 4 {
		t.Errorf("a retry added evidence: %d", len(a.Evidence))
	}

	// The OpenAPI document lists the endpoint with its raw body.
	r = e.do(req{Method: "GET", Path: "/api/v1/openapi.json"}).want(t, http.StatusOK)
	if !strings.Contains(string(r.Body), `"/api/v1/intake/email"`) || !strings.Contains(string(r.Body), `"message/rfc822"`) {
		t.Error("the OpenAPI document does not list POST /api/v1/intake/email")
	}
}

// TestIntakeEmailCampaign: reports of one campaign — the same suspect from
// another reporter, a message from the same sender domain — join one
// alert group, one alert per report; an unrelated message does not.
func TestIntakeEmailCampaign(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	responder, _ := e.user(vigil.RoleResponder)
	in := createIntegration(t, e, admin, map[string]any{"name": "phishing", "kind": "email"})
	anna := postEmail(t, e, in.Token, emailCorpus(t, "outlook-attached.eml"))
	dan := postEmail(t, e, in.Token, emailCorpus(t, "nested-forward.eml"))        // the same suspect, another reporter
	direct := postEmail(t, e, in.Token, emailCorpus(t, "alternative.eml"))        // same sender domain and links
	ben := postEmail(t, e, in.Token, emailCorpus(t, "gmail-inline.eml"))          // shares invoice-portal.example's link? no: another URL
	other := postEmail(t, e, in.Token, emailCorpus(t, "koi8r-encoded-words.eml")) // unrelated
	if dan.Created != 1 || dan.AlertIDs[0] == anna.AlertIDs[0] {
		t.Errorf("another reporter's report is not an alert of its own: %+v", dan)
	}
	g := anna.GroupIDs[0]
	if dan.GroupIDs[0] != g || direct.GroupIDs[0] != g || ben.GroupIDs[0] != g {
		t.Errorf("groups: anna %d, dan %d, direct %d, ben %d", g, dan.GroupIDs[0], direct.GroupIDs[0], ben.GroupIDs[0])
	}
	if other.GroupIDs[0] == g {
		t.Errorf("an unrelated message joined the campaign's group")
	}
	// The same attachments, reported again, are the same stored bytes
	// with the same digests (not written twice).
	var first, second vigil.Alert
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", anna.AlertIDs[0]), Token: responder}).want(t, http.StatusOK).JSON(t, &first)
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", dan.AlertIDs[0]), Token: responder}).want(t, http.StatusOK).JSON(t, &second)
	if len(first.Evidence) != 4 || len(second.Evidence) != 4 || first.Evidence[2].Digests != second.Evidence[2].Digests ||
		first.Evidence[3].Digests != second.Evidence[3].Digests || first.Evidence[2].ID == second.Evidence[2].ID {
		t.Errorf("evidence of the two reports: %+v / %+v", first.Evidence, second.Evidence)
	}
	r := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d/content", second.Evidence[2].ID), Token: responder}).want(t, http.StatusOK)
	if sha256Hex(r.Body) != second.Evidence[2].SHA256 {
		t.Error("the second report's zip does not read back")
	}
	var group vigil.AlertGroup
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alert-groups/%d", g), Token: responder}).want(t, http.StatusOK).JSON(t, &group)
	if group.AlertCount != 4 {
		t.Errorf("group %+v", group)
	}
}

// TestIntakeEmailBadInput: over the size limit the message is kept
// truncated and the alert says so; a malformed message still makes an
// alert; the wrong media type, token or kind is refused.
func TestIntakeEmailBadInput(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	responder, _ := e.user(vigil.RoleResponder)
	in := createIntegration(t, e, admin, map[string]any{"name": "phishing", "kind": "email"})
	other := createIntegration(t, e, admin, map[string]any{"name": "prom", "kind": "alertmanager"})
	e.srv.MaxEmailBytes = 2000

	raw := emailCorpus(t, "outlook-attached.eml")
	res := postEmail(t, e, in.Token, raw)
	if !res.Truncated {
		t.Fatalf("a %d-byte message over a 2000-byte limit is not truncated: %+v", len(raw), res)
	}
	var a vigil.Alert
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", res.AlertIDs[0]), Token: responder}).want(t, http.StatusOK).JSON(t, &a)
	if !strings.HasPrefix(a.Description, "TRUNCATED") || a.Labels["email.truncated"] != "true" {
		t.Errorf("the alert does not say it is truncated: %q", a.Description)
	}
	if len(a.Evidence) == 0 || a.Evidence[0].Size != 2000 || !strings.Contains(a.Evidence[0].Description, "TRUNCATED") ||
		a.Evidence[0].SHA256 != sha256Hex(raw[:2000]) {
		t.Errorf("evidence %+v", a.Evidence)
	}
	e.srv.MaxEmailBytes = 0

	// A malformed MIME tree: an alert with what could be read.
	broken := "From: x@broken.example\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nsee https://half.example/page and"
	res = postEmail(t, e, in.Token, []byte(broken))
	if res.Created != 1 || len(res.Problems) == 0 {
		t.Errorf("malformed: %+v", res)
	}

	e.do(req{Method: "POST", Path: "/api/v1/intake/email", Token: in.Token, Body: raw, Header: map[string]string{"Content-Type": "application/json"}, Raw: true}).
		want(t, http.StatusUnsupportedMediaType)
	e.do(req{Method: "POST", Path: "/api/v1/intake/email", Token: in.Token, Body: []byte("   "), Header: rfc822}).want(t, http.StatusBadRequest)
	e.do(req{Method: "POST", Path: "/api/v1/intake/email", Body: raw, Header: rfc822}).want(t, http.StatusUnauthorized)
	e.do(req{Method: "POST", Path: "/api/v1/intake/email", Token: "vgi_wrong", Body: raw, Header: rfc822}).want(t, http.StatusUnauthorized)
	e.do(req{Method: "POST", Path: "/api/v1/intake/email", Token: other.Token, Body: raw, Header: rfc822}).want(t, http.StatusForbidden)
	// The token in the URL works too.
	e.do(req{Method: "POST", Path: "/api/v1/intake/email/" + in.Token, Body: emailCorpus(t, "500-urls.eml"), Header: rfc822}).want(t, http.StatusOK)
}

// TestIntakeEmailOrganisations: a reported message's alert and evidence
// are the default organisation's, as every alert is (integrations are not
// per organisation yet): a user of a member organisation only sees
// neither.
func TestIntakeEmailOrganisations(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	in := createIntegration(t, e, admin, map[string]any{"name": "phishing", "kind": "email"})
	res := postEmail(t, e, in.Token, emailCorpus(t, "outlook-attached.eml"))

	e.do(req{Method: "POST", Path: "/api/v1/organisations", Token: admin, Body: map[string]any{"slug": "north", "name": "North Water", "kind": "member"}}).
		want(t, http.StatusCreated)
	e.do(req{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{"username": "nadia", "password": "a long enough passphrase"}}).
		want(t, http.StatusCreated)
	e.do(req{Method: "POST", Path: "/api/v1/organisations/north/members", Token: admin, Body: map[string]any{"username": "nadia", "role": "responder"}}).
		want(t, http.StatusCreated)
	e.ownPassword("nadia", "a long enough passphrase") // a password an admin chose must be changed first
	r := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": "nadia", "password": "a long enough passphrase"}}).want(t, http.StatusOK)
	var lr vigilhttp.LoginResponse
	r.JSON(t, &lr)
	nadia := map[string]string{"Cookie": r.Header.Get("Set-Cookie"), "X-CSRF-Token": lr.CSRFToken}

	var a vigil.Alert
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", res.AlertIDs[0]), Token: admin}).want(t, http.StatusOK).JSON(t, &a)
	if len(a.Evidence) == 0 {
		t.Fatal("no evidence")
	}
	// Alerts are the default organisation's work: a member-only user holds
	// no permission on them at all (403 for any alert, so nothing is told).
	if st := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/alerts/%d", a.ID), Header: nadia}).Status; st != http.StatusNotFound && st != http.StatusForbidden {
		t.Errorf("a member's user reads the alert: %d", st)
	}
	for _, ev := range a.Evidence {
		e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d", ev.ID), Header: nadia}).want(t, http.StatusNotFound)
		e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d/content", ev.ID), Header: nadia}).want(t, http.StatusNotFound)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestMailboxAdmin: administrators configure the mailboxes polled for
// reported e-mail; the password is never shown again; bad settings get
// field-level problems.
func TestMailboxAdmin(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	responder, _ := e.user(vigil.RoleResponder)
	in := createIntegration(t, e, admin, map[string]any{"name": "phishing", "kind": "email"})
	prom := createIntegration(t, e, admin, map[string]any{"name": "prom", "kind": "alertmanager"})
	body := map[string]any{"name": "reports", "integration_id": in.Integration.ID, "host": "imap.example.org", "username": "phishing@example.org",
		"password": "s3cret-app-password", "security": "starttls", "processed": "flag"}
	var m vigil.Mailbox
	r := e.do(req{Method: "POST", Path: "/api/v1/mailboxes", Token: admin, Body: body}).want(t, http.StatusCreated)
	r.JSON(t, &m)
	if strings.Contains(string(r.Body), "s3cret") || m.Port != 143 || m.Folder != "INBOX" || m.Health != "unknown" {
		t.Errorf("created %s", r.Body)
	}
	for field, change := range map[string]map[string]any{
		"security":       {"security": "none"}, // not on loopback
		"integration_id": {"integration_id": prom.Integration.ID},
		"port":           {"port": 70000},
		"processed":      {"processed": "delete"},
	} {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		b["name"] = "other"
		for k, v := range change {
			b[k] = v
		}
		p := e.do(req{Method: "POST", Path: "/api/v1/mailboxes", Token: admin, Body: b}).want(t, http.StatusBadRequest).Problem(t)
		if !slices.ContainsFunc(p.Errors, func(fe vigil.FieldError) bool { return fe.Field == field }) {
			t.Errorf("%s: problems %+v", field, p.Errors)
		}
	}
	var list vigilhttp.MailboxList
	r = e.do(req{Method: "GET", Path: "/api/v1/mailboxes", Token: admin}).want(t, http.StatusOK)
	r.JSON(t, &list)
	if len(list.Mailboxes) != 1 || strings.Contains(string(r.Body), "s3cret") {
		t.Errorf("list %s", r.Body)
	}
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/mailboxes/%d", m.ID), Token: responder}).want(t, http.StatusForbidden)
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/mailboxes/%d", m.ID), Token: admin}).want(t, http.StatusOK)
	e.do(req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/mailboxes/%d", m.ID), Token: admin}).want(t, http.StatusNoContent)
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/mailboxes/%d", m.ID), Token: admin}).want(t, http.StatusNotFound)
}
