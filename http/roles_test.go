package http_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// matrixRoles are the callers of the role matrix, "anonymous" first.
var matrixRoles = []string{"anonymous", "reporter", "viewer", "responder", "manager", "admin"}

// fixture is the data every row of the role matrix runs against.
type fixture struct {
	e        *env
	sessions map[string]map[string]string // role -> headers (cookie and CSRF token)
	users    map[string]*vigil.User
	inc, red *vigil.Incident
	other    *vigil.Incident
	task     *vigil.Task
	comment  *vigil.Comment
	obs      *vigil.Observable
	link     *vigil.Link
	token    int64 // a token of the admin's
	integ    *vigil.Integration
	group    int64 // an alert group (TLP:AMBER)
	redGroup int64 // a TLP:RED alert group
	alert    int64
	duty     int64 // the ICO duty on inc (personal data is involved)
	contact  *vigil.Contact
	channel  *vigil.Channel
	sub      *vigil.Subscription
	delivery int64  // a test delivery on channel
	coll     string // a TAXII collection
	hit      int64  // an IOC hit on inc
	redHit   int64  // an IOC hit on red
	ev       int64  // evidence on inc
	redEv    int64  // evidence on red
	plan     int64  // a starter response plan
	closed   int64  // a closed incident with its review started
	exercise int64  // a scheduled exercise
	inject   int64  // its inject
	adv      string // a draft advisory
	pubAdv   string // a published advisory
	oidc     *vigil.OIDCProvider

	// An email integration and its mailbox.
	emailInteg, mailbox int64
}

// secretTitle is the title of the TLP:RED incident; no refused answer may contain it.
const secretTitle = "Board member mailbox compromise"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{e: newEnv(t), sessions: map[string]map[string]string{}, users: map[string]*vigil.User{}}
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	for _, role := range matrixRoles[1:] {
		u := &vigil.User{Username: role, Name: strings.ToUpper(role[:1]) + role[1:], Role: vigil.Role(role)}
		if err := f.e.svc.Users.CreateUser(sys, u, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		f.users[role] = u
		r := f.e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": role, "password": "correct horse battery staple"}}).want(t, http.StatusOK)
		var lr vigilhttp.LoginResponse
		r.JSON(t, &lr)
		f.sessions[role] = map[string]string{"Cookie": strings.Split(r.Header.Get("Set-Cookie"), ";")[0], "X-CSRF-Token": lr.CSRFToken}
	}
	mgr := vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: f.users["manager"].ID, Username: "manager", Role: vigil.RoleManager})
	adm := vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: f.users["admin"].ID, Username: "admin", Role: vigil.RoleAdmin})
	f.inc = &vigil.Incident{Title: "Phishing against finance", TLP: vigil.TLPAmber, PersonalData: true}
	f.other = &vigil.Incident{Title: "Related phishing"}
	f.red = &vigil.Incident{Title: secretTitle, TLP: vigil.TLPRed}
	for _, c := range []struct {
		ctx context.Context
		inc *vigil.Incident
	}{{mgr, f.inc}, {mgr, f.other}, {adm, f.red}} {
		if err := f.e.svc.Incidents.CreateIncident(c.ctx, c.inc); err != nil {
			t.Fatal(err)
		}
	}
	f.task = &vigil.Task{IncidentID: f.inc.ID, Title: "Block the sender"}
	must(t, f.e.svc.Tasks.CreateTask(mgr, f.task))
	f.comment = &vigil.Comment{IncidentID: f.inc.ID, Body: "On it."}
	must(t, f.e.svc.Comments.CreateComment(mgr, f.comment))
	obs, err := f.e.svc.Observables.AddObservables(mgr, f.inc.ID, []*vigil.Observable{{Type: vigil.ObsEmail, Value: "ceo@examp1e.com"}})
	must(t, err)
	f.obs = obs[0]
	f.link = &vigil.Link{IncidentID: f.inc.ID, TargetID: f.other.ID, Kind: vigil.LinkRecurrenceOf}
	must(t, f.e.svc.Links.CreateLink(mgr, f.link))
	if _, err := f.e.svc.Members.AddMember(mgr, f.inc.ID, f.users["responder"].ID, vigil.RoleScribe); err != nil {
		t.Fatal(err)
	}
	_, err = f.e.svc.Auth.CreateToken(adm, 0, &vigil.Token{Name: "admin script", Scopes: []vigil.Scope{vigil.ScopeRead}})
	must(t, err)
	tokens, err := f.e.svc.Auth.FindTokens(adm, 0)
	must(t, err)
	f.token = tokens[0].ID
	f.inc, _ = f.e.svc.Incidents.FindIncidentByID(mgr, f.inc.ID)
	f.integ = &vigil.Integration{Name: "prometheus", Kind: vigil.IntegrationAlertmanager}
	email := &vigil.Integration{Name: "phishing", Kind: vigil.IntegrationEmail}
	if _, err := f.e.svc.Integrations.CreateIntegration(adm, email); err != nil {
		t.Fatal(err)
	}
	f.emailInteg = email.ID
	mb := &vigil.Mailbox{Name: "reports", IntegrationID: email.ID, Host: "imap.example.org", Username: "reports", Password: "secret"}
	if err := f.e.svc.Mailboxes.CreateMailbox(adm, mb); err != nil {
		t.Fatal(err)
	}
	f.mailbox = mb.ID
	_, err = f.e.svc.Integrations.CreateIntegration(adm, f.integ)
	must(t, err)
	alerts := []*vigil.AlertInput{{Title: "Disk full", Labels: map[string]string{"alertname": "DiskFull"}},
		{Title: secretTitle, TLP: vigil.TLPRed, Labels: map[string]string{"alertname": "Secret"}}}
	for _, a := range alerts {
		a.Prepare(f.integ)
	}
	res, err := f.e.svc.Alerts.IngestAlerts(context.Background(), f.integ, alerts)
	must(t, err)
	f.alert, f.group, f.redGroup = res.AlertIDs[0], res.GroupIDs[0], res.GroupIDs[1]
	duties, err := f.e.svc.Duties.FindObligations(mgr, f.inc.ID)
	must(t, err)
	if len(duties) == 0 || duties[0].Duty != "ico-notification" {
		t.Fatalf("fixture duties: %+v", duties)
	}
	f.duty = duties[0].ID
	f.contact = &vigil.Contact{Name: "Dana Patel", Roles: []vigil.ContactRole{vigil.ContactDPO}, Phone: "01632 960000"}
	must(t, f.e.svc.Contacts.CreateContact(mgr, f.contact))
	f.channel = &vigil.Channel{Name: "SOC mail", Kind: vigil.ChannelEmail, Enabled: true,
		SMTP: &vigil.SMTPConfig{Host: "smtp.example.org", From: "vigil@example.org", To: []string{"soc@example.org"}}}
	must(t, f.e.svc.Notify.CreateChannel(adm, f.channel))
	f.sub = &vigil.Subscription{ChannelID: f.channel.ID, Events: []vigil.EventKind{vigil.EventIncidentCreated}}
	must(t, f.e.svc.Notify.CreateSubscription(adm, f.sub))
	d, err := f.e.svc.Notify.TestChannel(adm, f.channel.ID)
	must(t, err)
	f.delivery = d.ID
	c := &vigil.Collection{Title: "Sector IOCs"}
	must(t, f.e.svc.Sharing.CreateCollection(adm, c))
	f.coll = c.ID
	f.oidc = &vigil.OIDCProvider{Slug: "corp", Name: "Corp ID", Issuer: "https://id.example.org", ClientID: "vigil", ClientSecret: "s", Enabled: true}
	must(t, f.e.svc.OIDC.CreateProvider(adm, f.oidc))
	// An indicator that inc's and red's observables match.
	_, err = f.e.svc.Observables.AddObservables(adm, f.red.ID, []*vigil.Observable{{Type: vigil.ObsEmail, Value: "ceo@examp1e.com"}})
	must(t, err)
	ind := `{"type":"indicator","spec_version":"2.1","id":"indicator--6f3c1a2e-5b1d-4c8e-9a7f-2d4e6b8a0c1e","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[domain-name:value = 'examp1e.com']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	_, err = f.e.svc.Sharing.AddObjects(adm, c.ID, []*vigil.IncomingObject{{Raw: []byte(ind), ID: "indicator--6f3c1a2e-5b1d-4c8e-9a7f-2d4e6b8a0c1e",
		Type: "indicator", SpecVersion: "2.1", Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), TLP: vigil.TLPGreen}}, nil)
	must(t, err)
	_, err = f.e.svc.IOC.MatchIOCs(sys, 1000)
	must(t, err)
	hits, err := f.e.svc.IOC.FindHits(adm, vigil.HitFilter{})
	must(t, err)
	for _, h := range hits.Hits {
		if *h.IncidentID == f.inc.ID {
			f.hit = h.ID
		} else {
			f.redHit = h.ID
		}
	}
	if f.hit == 0 || f.redHit == 0 {
		t.Fatalf("fixture hits: %+v", hits.Hits)
	}
	ev := &vigil.Evidence{IncidentID: f.inc.ID, Name: "phish.eml"}
	must(t, f.e.svc.Evidence.AddEvidence(mgr, ev, strings.NewReader("From: ceo@examp1e.com")))
	redEv := &vigil.Evidence{IncidentID: f.red.ID, Name: "mailbox.pst"}
	must(t, f.e.svc.Evidence.AddEvidence(adm, redEv, strings.NewReader("!BDN")))
	f.ev, f.redEv = ev.ID, redEv.ID
	pl, err := f.e.svc.Plans.CreatePlan(adm, vigil.PlanInput{Source: "---\nkey: fixture-plan\ntitle: Fixture plan\ntypes: phishing\n---\n## Contain\n### Block the sender\nOwner: technical\n"})
	must(t, err)
	f.plan = pl.ID
	closed := &vigil.Incident{Title: "Guessed password", Severity: vigil.SeverityLow}
	must(t, f.e.svc.Incidents.CreateIncident(mgr, closed))
	for _, to := range []vigil.Status{vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered, vigil.StatusClosed} {
		closed, err = f.e.svc.Incidents.TransitionIncident(mgr, closed.ID, vigil.Transition{To: to, Version: closed.Version})
		must(t, err)
	}
	_, err = f.e.svc.Reviews.StartReview(mgr, closed.ID)
	must(t, err)
	f.closed = closed.ID
	x, err := f.e.svc.Exercises.CreateExercise(mgr, vigil.ExerciseInput{Title: "Tabletop", PlanID: f.plan, Scenario: "Files encrypted",
		ScheduledAt: time.Now(), Injects: []vigil.InjectInput{{After: vigil.Duration(time.Hour), Title: "The press calls"}}})
	must(t, err)
	f.exercise, f.inject = x.ID, x.Injects[0].ID
	adv := &vigil.Advisory{Title: "Exploited VPN flaw", Summary: "Attackers exploit it.", Actions: "Patch."}
	must(t, f.e.svc.Advisories.CreateAdvisory(mgr, adv))
	f.adv = adv.Reference
	pub := &vigil.Advisory{Title: "Published advisory", Summary: "Attackers exploit it.", Actions: "Patch."}
	must(t, f.e.svc.Advisories.CreateAdvisory(mgr, pub))
	p, err := f.e.svc.Advisories.UpdateAdvisory(mgr, pub.Reference, vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryInReview), Version: pub.Version})
	must(t, err)
	_, err = f.e.svc.Advisories.PublishAdvisory(mgr, p.Reference, vigil.AdvisoryPublish{Version: p.Version})
	must(t, err)
	f.pubAdv = p.Reference
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRoleMatrix calls every endpoint as every role and checks the answer:
// A allowed (anything but 401, 403 and 404), F 403, N 404 (the object is
// invisible to that role), U 401. Refusals must not leak the TLP:RED title.
func TestRoleMatrix(t *testing.T) {
	type row struct {
		method, path string
		body         func(f *fixture) any
		// want holds one letter per role of matrixRoles.
		want string
		// fresh runs each role against a fixture of its own, for requests
		// that change what the next role would see (deletes, logouts).
		fresh bool
	}
	id := func(f func(*fixture) int64) func(*fixture) string {
		return func(x *fixture) string { return fmt.Sprint(f(x)) }
	}
	incPath := id(func(f *fixture) int64 { return f.inc.ID })
	_ = incPath
	rows := []row{
		{"GET", "/api/v1/incidents", nil, "UAAAAA", false},
		{"GET", "/api/v1/incidents/count", nil, "UAAAAA", false},
		{"POST", "/api/v1/incidents", func(*fixture) any { return map[string]any{"title": "New report"} }, "UAFAAA", false},
		{"GET", "/api/v1/incidents/{inc}", nil, "UNAAAA", false},
		{"GET", "/api/v1/incidents/{ref}", nil, "UNAAAA", false},
		{"PATCH", "/api/v1/incidents/{inc}", func(f *fixture) any { return map[string]any{"summary": "more", "version": f.inc.Version} }, "UFFAAA", true},
		{"POST", "/api/v1/incidents/{inc}/transitions", func(f *fixture) any { return map[string]any{"to": "confirmed", "version": f.inc.Version} }, "UFFAAA", true},
		{"GET", "/api/v1/incidents/{red}", nil, "UNNNNA", false},
		{"PATCH", "/api/v1/incidents/{red}", func(f *fixture) any { return map[string]any{"summary": "x", "version": f.red.Version} }, "UFFNNA", true},
		{"GET", "/api/v1/incidents/{red}/timeline", nil, "UNNNNA", false},
		{"GET", "/api/v1/incidents/{red}/observables", nil, "UNNNNA", false},
		{"GET", "/api/v1/lifecycle", nil, "UAAAAA", false},
		{"GET", "/api/v1/incidents/{inc}/timeline", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/timeline", func(*fixture) any { return map[string]any{"message": "Sender blocked."} }, "UFFAAA", false},
		{"GET", "/api/v1/incidents/{inc}/tasks", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/tasks", func(*fixture) any { return map[string]any{"title": "Warn staff"} }, "UFFAAA", false},
		{"PUT", "/api/v1/incidents/{inc}/tasks/order", func(f *fixture) any { return map[string]any{"ids": []int64{f.task.ID}} }, "UFFAAA", false},
		{"GET", "/api/v1/tasks", nil, "UAAAAA", false},
		{"GET", "/api/v1/tasks/{task}", nil, "UNAAAA", false},
		{"PATCH", "/api/v1/tasks/{task}", func(f *fixture) any { return map[string]any{"status": "done", "version": f.task.Version} }, "UFFAAA", true},
		{"GET", "/api/v1/incidents/{inc}/comments", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/comments", func(*fixture) any { return map[string]any{"body": "Agreed."} }, "UFFAAA", false},
		{"PATCH", "/api/v1/comments/{comment}", func(f *fixture) any { return map[string]any{"body": "Edited.", "version": f.comment.Version} }, "UFFFAF", true},
		{"GET", "/api/v1/incidents/{inc}/observables", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/observables", func(*fixture) any { return map[string]any{"text": "198.51.100.1"} }, "UFFAAA", false},
		{"GET", "/api/v1/observables/sightings?value=ceo@examp1e.com", nil, "UAAAAA", false},
		{"GET", "/api/v1/observables/{obs}", nil, "UNAAAA", false},
		{"PATCH", "/api/v1/observables/{obs}", func(f *fixture) any { return map[string]any{"ioc": true, "version": f.obs.Version} }, "UFFAAA", true},
		{"DELETE", "/api/v1/observables/{obs}", nil, "UFFAAA", true},
		{"GET", "/api/v1/incidents/{inc}/links", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/links", func(f *fixture) any { return map[string]any{"target": f.other.Reference, "kind": "related"} }, "UFFAAA", true},
		{"DELETE", "/api/v1/links/{link}", nil, "UFFAAA", true},
		{"GET", "/api/v1/incidents/{inc}/members", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/members", func(f *fixture) any { return map[string]any{"user_id": f.users["viewer"].ID, "role": "observer"} }, "UFFFAA", true},
		{"DELETE", "/api/v1/incidents/{inc}/members/{responder}/scribe", nil, "UFFFAA", true},
		{"GET", "/api/v1/search?q=phishing", nil, "UAAAAA", false},
		{"GET", "/api/v1/organisations", nil, "UAAAAA", false},
		{"POST", "/api/v1/organisations", func(*fixture) any { return map[string]any{"slug": "north", "name": "North Water"} }, "UFFFFA", true},
		{"GET", "/api/v1/organisations/{org}", nil, "UAAAAA", false},
		{"PATCH", "/api/v1/organisations/{org}", func(*fixture) any { return map[string]any{"name": "The CERT", "version": 1} }, "UFFFFA", true},
		{"GET", "/api/v1/organisations/{org}/members", nil, "UFAAAA", false},
		{"GET", "/api/v1/organisations/{org}/profile", nil, "UAAAAA", false},
		{"PUT", "/api/v1/organisations/{org}/profile", func(*fixture) any { return map[string]any{"jurisdictions": []string{"UK"}, "uk_gdpr_controller": true} }, "UFFFFA", true},
		{"POST", "/api/v1/organisations/{org}/members", func(*fixture) any { return map[string]any{"username": "viewer", "role": "viewer"} }, "UFFFFA", false},
		{"PATCH", "/api/v1/organisations/{org}/members/{viewername}", func(*fixture) any { return map[string]any{"role": "responder"} }, "UFFFFA", true},
		{"DELETE", "/api/v1/organisations/{org}/members/{viewername}", nil, "UFFFFA", true},
		// inc is the coordinator's own: a valid request answers 400.
		{"POST", "/api/v1/incidents/{inc}/report-up", func(*fixture) any { return map[string]any{"message": "x"} }, "UFFAAA", false},
		{"GET", "/api/v1/incidents/{inc}/reports-up", nil, "UNAAAA", false},
		{"GET", "/api/v1/advisories", nil, "UAAAAA", false},
		{"POST", "/api/v1/advisories", func(*fixture) any { return map[string]any{"title": "New advisory"} }, "UFFFAA", false},
		{"GET", "/api/v1/advisories.atom", nil, "UAAAAA", false},
		{"GET", "/api/v1/advisories/{adv}", nil, "UNAAAA", false},
		{"PATCH", "/api/v1/advisories/{adv}", func(*fixture) any { return map[string]any{"title": "Renamed", "version": 1} }, "UNFFAA", true},
		// A draft is not published from draft: 400 for those allowed to try.
		{"POST", "/api/v1/advisories/{adv}/publish", func(*fixture) any { return map[string]any{"version": 1} }, "UNFFAA", false},
		// Members answer; the coordinator's staff read the answers.
		{"POST", "/api/v1/advisories/{pubadv}/responses", func(*fixture) any { return map[string]any{"status": "affected"} }, "UNFFFF", false},
		{"GET", "/api/v1/advisories/{pubadv}/responses", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/advisory", func(*fixture) any { return map[string]any{"include_summary": true} }, "UFFFAA", false},
		{"GET", "/api/v1/users", nil, "UFAAAA", false},
		{"POST", "/api/v1/users", func(*fixture) any {
			return map[string]any{"username": "newbie", "role": "viewer", "password": "a long enough passphrase"}
		}, "UFFFFA", false},
		{"GET", "/api/v1/users/{viewer}", nil, "UFAAAA", false},
		{"PATCH", "/api/v1/users/{viewer}", func(*fixture) any { return map[string]any{"name": "V", "version": 1} }, "UFFFFA", true},
		// The viewer changing their own password here must give the current one (400).
		{"PUT", "/api/v1/users/{viewer}/password", func(*fixture) any { return map[string]any{"new_password": "a new long passphrase"} }, "UFAFFA", true},
		{"GET", "/api/v1/me", nil, "UAAAAA", false},
		{"PUT", "/api/v1/me/password", func(*fixture) any {
			return map[string]any{"current_password": "correct horse battery staple", "new_password": "another long passphrase"}
		}, "UAAAAA", true},
		{"GET", "/api/v1/tokens", nil, "UAAAAA", false},
		{"GET", "/api/v1/tokens?user={admin}", nil, "UFFFFA", false},
		{"POST", "/api/v1/tokens", func(*fixture) any { return map[string]any{"name": "mine", "scopes": []string{"read"}} }, "UAAAAA", false},
		{"DELETE", "/api/v1/tokens/{token}", nil, "UNNNNA", true},
		// Sessions and second factors (issue 21).
		{"GET", "/api/v1/me/sessions", nil, "UAAAAA", false},
		{"DELETE", "/api/v1/me/sessions/{nosession}", nil, "UNNNNN", false},
		{"GET", "/api/v1/users/{viewer}/sessions", nil, "UFAFFA", false}, // the viewer: their own
		{"DELETE", "/api/v1/users/{viewer}/sessions", nil, "UFAFFA", true},
		{"POST", "/api/v1/auth/mfa", func(*fixture) any { return map[string]any{"code": "123456"} }, "UUUUUU", false}, // no sign-in waits for one
		{"GET", "/api/v1/me/mfa", nil, "UAAAAA", false},
		{"POST", "/api/v1/me/mfa/totp", nil, "UAAAAA", true},
		{"POST", "/api/v1/me/mfa/totp/confirm", func(*fixture) any { return map[string]any{"code": "000000"} }, "UNNNNN", false}, // nothing being set up
		{"DELETE", "/api/v1/users/{viewer}/mfa", nil, "UFFFFA", true},
		{"PUT", "/api/v1/settings/mfa", func(*fixture) any { return map[string]any{"mfa_policy": "optional"} }, "UFFFFA", false},
		{"GET", "/api/v1/audit", nil, "UFFFFA", false},
		{"GET", "/api/v1/audit/verify", nil, "UFFFFA", false},
		{"GET", "/metrics", nil, "UFFFFA", false},
		{"GET", "/api/v1/incidents/{inc}/obligations", nil, "UNAAAA", false},
		{"GET", "/api/v1/incidents/{red}/obligations", nil, "UNNNNA", false},
		{"GET", "/api/v1/obligations/due?within=168h", nil, "UAAAAA", false},
		{"GET", "/api/v1/obligations/{duty}/draft", nil, "UNAAAA", false},
		{"POST", "/api/v1/obligations/{duty}/submit", func(*fixture) any { return map[string]any{"reference": "ICO-1", "text": "Sent."} }, "UFFFAA", true},
		{"POST", "/api/v1/obligations/{duty}/not-required", func(*fixture) any { return map[string]any{"justification": "Unlikely to result in a risk."} }, "UFFFAA", true},
		// The duty was not submitted late: 400 for those allowed to try.
		{"POST", "/api/v1/obligations/{duty}/late-reason", func(*fixture) any { return map[string]any{"late_reason": "The DPO was away."} }, "UFFFAA", true},
		// The duty is not owed on request: 400 for those allowed to try.
		{"POST", "/api/v1/obligations/{duty}/request", func(*fixture) any { return map[string]any{"due_at": "2030-01-01T12:00:00Z"} }, "UFFFAA", true},
		{"GET", "/api/v1/settings/profile", nil, "UAAAAA", false},
		{"PUT", "/api/v1/settings/profile", func(*fixture) any { return map[string]any{"name": "Anytown", "uk_gdpr_controller": true} }, "UFFFFA", true},
		{"GET", "/api/v1/duty-packs", nil, "UAAAAA", false},
		{"PUT", "/api/v1/duty-packs/insurer", func(*fixture) any {
			return map[string]any{"id": "insurer", "name": "Insurance", "version": 1, "basis": "Policy clause 7", "duties": []any{map[string]any{
				"id": "notify", "title": "Tell the insurer", "authority": "Insurer", "basis": "Clause 7", "clock": "aware_at",
				"when": map[string]any{"fact": "crime_suspected", "eq": true}, "stages": []any{map[string]any{"id": "n", "name": "Notice", "due": "48h"}}}}}
		}, "UFFFFA", true},
		{"DELETE", "/api/v1/duty-packs/uk-ncsc", nil, "UFFFFN", true},
		{"GET", "/api/v1/contacts", nil, "UAAAAA", false},
		{"POST", "/api/v1/contacts", func(*fixture) any {
			return map[string]any{"name": "Insurer", "roles": []string{"insurer"}, "phone": "0800 000 000"}
		}, "UFFFAA", false},
		{"PUT", "/api/v1/contacts/{contact}", func(f *fixture) any {
			return map[string]any{"name": "Dana Patel", "roles": []string{"dpo"}, "phone": "01632 960001", "version": f.contact.Version}
		}, "UFFFAA", true},
		{"DELETE", "/api/v1/contacts/{contact}", nil, "UFFFAA", true},
		{"GET", "/api/v1/incidents/{inc}/stix", nil, "UNAAAA", false},
		{"GET", "/api/v1/incidents/{red}/stix", nil, "UNNNNA", false},
		{"GET", "/api/v1/collections", nil, "UAAAAA", false},
		{"POST", "/api/v1/collections", func(*fixture) any { return map[string]any{"title": "Sector"} }, "UFFFFA", false},
		{"POST", "/api/v1/incidents/{inc}/publish", func(f *fixture) any { return map[string]any{"collection_id": f.coll, "preview": true} }, "UFFAAA", false},
		{"POST", "/api/v1/incidents/{red}/publish", func(f *fixture) any { return map[string]any{"collection_id": f.coll, "preview": true} }, "UFFNNA", false},
		{"GET", "/api/v1/hits", nil, "UFAAAA", false},
		{"GET", "/api/v1/hits/{hit}", nil, "UFAAAA", false},
		{"GET", "/api/v1/hits/{redhit}", nil, "UFNNNA", false},
		{"POST", "/api/v1/hits/{hit}/share", func(f *fixture) any { return map[string]any{"collection_id": f.coll, "preview": true} }, "UFFAAA", false},
		{"GET", "/api/v1/incidents/{inc}/evidence", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/evidence", func(*fixture) any { return upload("headers.txt", "Received: from x", "collected_by", "Kim") }, "UFFAAA", false},
		{"GET", "/api/v1/incidents/{inc}/evidence/package", nil, "UFFAAA", false},
		{"GET", "/api/v1/evidence/{ev}", nil, "UNAAAA", false},
		{"GET", "/api/v1/evidence/{redev}", nil, "UNNNNA", false},
		{"GET", "/api/v1/evidence/{ev}/content", nil, "UNAAAA", false},
		{"GET", "/api/v1/evidence/{redev}/content", nil, "UNNNNA", false},
		{"POST", "/api/v1/evidence/{ev}/transfers", func(*fixture) any { return map[string]any{"to": "DC Morgan"} }, "UFFAAA", false},
		{"POST", "/api/v1/evidence/{ev}/verify", nil, "UFFAAA", false},
		{"PUT", "/api/v1/evidence/{ev}/hold", func(*fixture) any { return map[string]any{"hold": true, "reason": "Litigation"} }, "UFFFAA", false},
		{"DELETE", "/api/v1/evidence/{ev}?reason=duplicate", nil, "UFFFAA", false},
		{"GET", "/api/v1/plans", nil, "UFAAAA", false},
		{"POST", "/api/v1/plans", func(*fixture) any {
			return map[string]any{"source": "---\nkey: matrix\ntitle: M\ntypes: other\n---\n## Contain\n### Do it\n"}
		}, "UFFFAA", false},
		{"GET", "/api/v1/plans/{plan}", nil, "UFAAAA", false},
		{"PUT", "/api/v1/plans/{plan}", func(*fixture) any {
			return map[string]any{"source": "---\nkey: fixture-plan\ntitle: M\ntypes: other\n---\n## Contain\n### Do it\n", "version": 1}
		}, "UFFFAA", false},
		{"PUT", "/api/v1/plans/{plan}/meta", func(*fixture) any { return map[string]any{"review_due": time.Now().AddDate(0, 6, 0)} }, "UFFFAA", false},
		{"POST", "/api/v1/plans/{plan}/approve", func(*fixture) any { return map[string]any{"version": 1} }, "UFFFAA", false},
		{"GET", "/api/v1/plans/{plan}/versions", nil, "UFAAAA", false},
		{"GET", "/api/v1/incidents/{inc}/plans", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{inc}/plans", func(f *fixture) any { return map[string]any{"plan_id": f.plan, "preview": true} }, "UFFAAA", false},
		{"GET", "/api/v1/incidents/{closed}/review", nil, "UNAAAA", false},
		{"POST", "/api/v1/incidents/{closed}/review", nil, "UFFAAA", false},
		{"PATCH", "/api/v1/incidents/{closed}/review", func(*fixture) any { return map[string]any{"root_cause": "Weak password", "version": 1} }, "UFFAAA", false},
		{"POST", "/api/v1/incidents/{closed}/review/actions", func(*fixture) any { return map[string]any{"title": "Turn on MFA"} }, "UFFAAA", false},
		{"POST", "/api/v1/incidents/{closed}/review/close", func(*fixture) any { return map[string]any{"version": 1} }, "UFFFAA", false},
		{"GET", "/api/v1/review-actions", nil, "UAAAAA", false},
		{"GET", "/api/v1/exercises", nil, "UFAAAA", false},
		{"POST", "/api/v1/exercises", func(f *fixture) any {
			return map[string]any{"title": "Tabletop", "plan_id": f.plan, "scenario": "Files encrypted", "scheduled_at": time.Now().Add(time.Hour)}
		}, "UFFFAA", false},
		{"GET", "/api/v1/exercises/{exercise}", nil, "UFAAAA", false},
		{"POST", "/api/v1/exercises/{exercise}/start", func(*fixture) any { return map[string]any{"version": 1} }, "UFFFAA", false},
		{"POST", "/api/v1/exercises/{exercise}/injects/{inject}/release", nil, "UFFFAA", false},
		{"POST", "/api/v1/exercises/{exercise}/end", func(*fixture) any { return map[string]any{"findings": []string{"x"}, "version": 1} }, "UFFFAA", false},
		{"GET", "/api/v1/preparedness", nil, "UFAAAA", false},
		{"POST", "/api/v1/contacts/{contact}/verify", nil, "UFFFAA", false},
		{"GET", "/api/v1/metrics/incidents", nil, "UAAAAA", false},
		{"GET", "/api/v1/metrics/incidents.csv?from=2026-01-01", nil, "UAAAAA", false},
		{"GET", "/api/v1/incidents/{inc}/report", nil, "UNAAAA", false},
		{"GET", "/api/v1/incidents/{red}/report?format=pdf", nil, "UNNNNA", false},
		{"GET", "/api/v1/reports/management?period=quarter&format=html", nil, "UAAAAA", false},
		{"GET", "/api/v1/channels", nil, "UAAAAA", false},
		{"POST", "/api/v1/channels", func(*fixture) any {
			return map[string]any{"name": "Slack", "kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/x", "enabled": true}
		}, "UFFFFA", false},
		{"GET", "/api/v1/channels/{channel}", nil, "UFFFFA", false},
		{"PUT", "/api/v1/channels/{channel}", func(f *fixture) any {
			return map[string]any{"name": "SOC mail", "kind": "email", "smtp": map[string]any{"host": "smtp2.example.org", "from": "vigil@example.org"},
				"version": f.channel.Version}
		}, "UFFFFA", true},
		{"DELETE", "/api/v1/channels/{channel}", nil, "UFFFFA", true},
		{"POST", "/api/v1/channels/{channel}/test", nil, "UFFFFA", false},
		{"GET", "/api/v1/oidc/providers", nil, "UFFFFA", false},
		{"POST", "/api/v1/oidc/providers", func(*fixture) any {
			return map[string]any{"slug": "okta", "name": "Okta", "issuer": "https://example.okta.com", "client_id": "0oa1", "enabled": true}
		}, "UFFFFA", false},
		{"GET", "/api/v1/oidc/providers/{oidc}", nil, "UFFFFA", false},
		{"PUT", "/api/v1/oidc/providers/{oidc}", func(f *fixture) any {
			return map[string]any{"name": "Corp", "issuer": "https://id.example.org", "client_id": "vigil", "version": f.oidc.Version}
		}, "UFFFFA", true},
		{"DELETE", "/api/v1/oidc/providers/{oidc}", nil, "UFFFFA", true},
		{"GET", "/api/v1/subscriptions", nil, "UAAAAA", false},
		{"POST", "/api/v1/subscriptions", func(f *fixture) any {
			return map[string]any{"channel_id": f.channel.ID, "events": []string{"assigned"}, "mine": true}
		}, "UAAAAA", false},
		{"DELETE", "/api/v1/subscriptions/{sub}", nil, "UNNNNA", true},
		{"GET", "/api/v1/deliveries", nil, "UAAAAA", false},
		{"POST", "/api/v1/deliveries/{delivery}/retry", nil, "UFFFFA", false},
		{"GET", "/api/v1/integrations", nil, "UFFFFA", false},
		{"POST", "/api/v1/integrations", func(*fixture) any { return map[string]any{"name": "grafana", "kind": "grafana"} }, "UFFFFA", false},
		{"GET", "/api/v1/integrations/{integ}", nil, "UFFFFA", false},
		{"PATCH", "/api/v1/integrations/{integ}", func(*fixture) any { return map[string]any{"default_severity": "high"} }, "UFFFFA", true},
		// The integration has sent alerts: the admin is told to disable it (409).
		{"DELETE", "/api/v1/integrations/{integ}", nil, "UFFFFA", true},
		{"POST", "/api/v1/integrations/{integ}/token", nil, "UFFFFA", true},
		{"GET", "/api/v1/mailboxes", nil, "UFFFFA", false},
		{"POST", "/api/v1/mailboxes", func(f *fixture) any {
			return map[string]any{"name": "phishing", "integration_id": f.emailInteg, "host": "imap.example.org", "username": "phishing", "password": "x"}
		}, "UFFFFA", true},
		{"GET", "/api/v1/mailboxes/{mailbox}", nil, "UFFFFA", false},
		{"DELETE", "/api/v1/mailboxes/{mailbox}", nil, "UFFFFA", true},
		{"GET", "/api/v1/alert-groups", nil, "UFAAAA", false},
		{"GET", "/api/v1/alert-groups/{group}", nil, "UFAAAA", false},
		{"GET", "/api/v1/alert-groups/{redgroup}", nil, "UFNNAA", false},
		{"POST", "/api/v1/alert-groups/actions", func(f *fixture) any { return map[string]any{"action": "acknowledge", "group_ids": []int64{f.group}} }, "UFFAAA", true},
		{"GET", "/api/v1/alerts", nil, "UFAAAA", false},
		{"GET", "/api/v1/alerts/{alert}", nil, "UFAAAA", false},
		// Intake takes integration tokens only: no session opens it.
		{"POST", "/api/v1/intake/{kind}", func(*fixture) any { return map[string]any{"version": "4", "alerts": []any{}} }, "UUUUUU", false},
		{"POST", "/api/v1/intake/{kind}/{intaketoken}", func(*fixture) any { return map[string]any{"version": "4", "alerts": []any{}} }, "UUUUUU", false},
		{"POST", "/api/v1/intake/email", func(*fixture) any { return form{contentType: "message/rfc822", data: []byte("Subject: x\r\n\r\nx")} }, "UUUUUU", false},
		{"POST", "/api/v1/intake/email/{intaketoken}", func(*fixture) any { return form{contentType: "message/rfc822", data: []byte("Subject: x\r\n\r\nx")} }, "UUUUUU", false},
		{"POST", "/api/alert", func(*fixture) any { return map[string]any{"title": "x"} }, "UUUUUU", false},
		{"POST", "/api/v1/alert", func(*fixture) any { return map[string]any{"title": "x"} }, "UUUUUU", false},
		{"GET", "/api/v1/openapi.json", nil, "AAAAAA", false},
		{"GET", "/healthz", nil, "AAAAAA", false},
		{"GET", "/readyz", nil, "AAAAAA", false},
		{"POST", "/api/v1/auth/logout", nil, "AAAAAA", true},
	}
	expand := func(f *fixture, p string) string {
		return strings.NewReplacer(
			"{org}", vigil.DefaultOrganisationSlug, "{viewername}", "viewer",
			"{inc}", fmt.Sprint(f.inc.ID), "{ref}", f.inc.Reference, "{red}", fmt.Sprint(f.red.ID), "{task}", fmt.Sprint(f.task.ID),
			"{comment}", fmt.Sprint(f.comment.ID), "{obs}", fmt.Sprint(f.obs.ID), "{link}", fmt.Sprint(f.link.ID),
			"{responder}", fmt.Sprint(f.users["responder"].ID), "{viewer}", fmt.Sprint(f.users["viewer"].ID),
			"{admin}", fmt.Sprint(f.users["admin"].ID), "{token}", fmt.Sprint(f.token),
			"{integ}", fmt.Sprint(f.integ.ID), "{mailbox}", fmt.Sprint(f.mailbox), "{group}", fmt.Sprint(f.group), "{redgroup}", fmt.Sprint(f.redGroup),
			"{alert}", fmt.Sprint(f.alert), "{duty}", fmt.Sprint(f.duty), "{contact}", fmt.Sprint(f.contact.ID), "{channel}", fmt.Sprint(f.channel.ID),
			"{sub}", fmt.Sprint(f.sub.ID), "{delivery}", fmt.Sprint(f.delivery), "{kind}", "alertmanager", "{intaketoken}", "vgi_not-a-real-token-at-all",
			"{hit}", fmt.Sprint(f.hit), "{redhit}", fmt.Sprint(f.redHit), "{ev}", fmt.Sprint(f.ev), "{redev}", fmt.Sprint(f.redEv), "{plan}", fmt.Sprint(f.plan), "{closed}", fmt.Sprint(f.closed), "{exercise}", fmt.Sprint(f.exercise), "{inject}", fmt.Sprint(f.inject),
			"{adv}", f.adv, "{pubadv}", f.pubAdv, "{oidc}", fmt.Sprint(f.oidc.ID), "{nosession}", "999999",
		).Replace(p)
	}
	shared := newFixture(t)
	seen := map[string]bool{}
	for _, rw := range rows {
		seen[rw.method+" "+rw.path] = true
		t.Run(rw.method+" "+rw.path, func(t *testing.T) {
			for i, role := range matrixRoles {
				f := shared
				if rw.fresh {
					f = newFixture(t)
				}
				r := req{Method: rw.method, Path: expand(f, rw.path), Header: f.sessions[role]}
				if rw.body != nil {
					r.Body = rw.body(f)
				}
				resp := f.e.do(r)
				got := "A"
				switch resp.Status {
				case http.StatusUnauthorized:
					got = "U"
				case http.StatusForbidden:
					got = "F"
				case http.StatusNotFound:
					got = "N"
				}
				want := string(rw.want[i])
				if got != want {
					t.Errorf("as %s: status %d (%s), want %s: %s", role, resp.Status, got, want, truncate(resp.Body))
				}
				if got != "A" && strings.Contains(string(resp.Body), secretTitle) {
					t.Errorf("as %s: a refusal leaked the TLP:RED title", role)
				}
			}
		})
	}
	// Every API route is in the matrix.
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	shared.e.do(req{Method: "GET", Path: "/api/v1/openapi.json"}).JSON(t, &doc)
	covered := map[string]bool{}
	for k := range seen {
		method, path, _ := strings.Cut(k, " ")
		path, _, _ = strings.Cut(path, "?")
		for _, p := range []string{"{inc}", "{ref}", "{red}", "{task}", "{comment}", "{obs}", "{link}", "{viewer}", "{token}",
			"{integ}", "{mailbox}", "{group}", "{redgroup}", "{alert}", "{duty}", "{contact}", "{channel}", "{sub}", "{delivery}", "{hit}", "{redhit}", "{ev}", "{redev}", "{plan}", "{closed}", "{exercise}", "{oidc}", "{nosession}"} {
			path = strings.ReplaceAll(path, p, "{id}")
		}
		path = strings.ReplaceAll(path, "{adv}", "{ref}")
		path = strings.ReplaceAll(path, "{pubadv}", "{ref}")
		path = strings.ReplaceAll(path, "{responder}/scribe", "{user}/{role}")
		path = strings.ReplaceAll(path, "{org}", "{slug}")
		path = strings.ReplaceAll(path, "{viewername}", "{username}")
		path = strings.ReplaceAll(path, "{intaketoken}", "{token}")
		path = strings.ReplaceAll(path, "/injects/{inject}", "/injects/{inject}")
		path = strings.ReplaceAll(path, "/duty-packs/insurer", "/duty-packs/{pack}")
		path = strings.ReplaceAll(path, "/duty-packs/uk-ncsc", "/duty-packs/{pack}")
		covered[method+" "+path] = true
	}
	for path, item := range doc.Paths {
		for method := range item {
			if k := strings.ToUpper(method) + " " + path; !covered[k] && !strings.HasPrefix(path, "/api/v1/auth/login") {
				t.Errorf("%s is not in the role matrix", k)
			}
		}
	}
}

// TestTokenScopeByOperation is the scope finding of issue 21: a read token
// created and deleted subscriptions and deleted and listed tokens. Every
// operation of the API that changes state refuses a read token with 403,
// before its handler runs, and token management refuses a write token.
func TestTokenScopeByOperation(t *testing.T) {
	e := newEnv(t)
	_, u := e.user(vigil.RoleAdmin)
	ctx := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	read, err := e.svc.Auth.CreateToken(ctx, u.ID, &vigil.Token{Name: "read", Scopes: []vigil.Scope{vigil.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	write, err := e.svc.Auth.CreateToken(ctx, u.ID, &vigil.Token{Name: "write", Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.svc.Auth.CreateToken(ctx, u.ID, &vigil.Token{Name: "admin", Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	victim, err := e.svc.Auth.CreateToken(ctx, u.ID, &vigil.Token{Name: "victim", Scopes: []vigil.Scope{vigil.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := e.svc.Auth.FindTokens(vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: u.ID, Role: vigil.RoleAdmin}), 0)
	var victimID int64
	for _, tk := range toks {
		if tk.Name == "victim" {
			victimID = tk.ID
		}
	}
	_ = victim

	// The contract's two.
	e.do(req{Method: "POST", Path: "/api/v1/subscriptions", Token: read, Raw: true,
		Body: map[string]any{"events": []string{"incident.created"}, "email": "a@example.org"}}).want(t, http.StatusForbidden)
	e.do(req{Method: "DELETE", Path: "/api/v1/tokens/" + itoa(int(victimID)), Token: read}).want(t, http.StatusForbidden)
	e.do(req{Method: "GET", Path: "/api/v1/tokens", Token: read}).want(t, http.StatusForbidden)
	e.do(req{Method: "DELETE", Path: "/api/v1/tokens/" + itoa(int(victimID)), Token: write}).want(t, http.StatusForbidden)
	e.do(req{Method: "GET", Path: "/api/v1/tokens", Token: admin}).want(t, http.StatusOK)
	e.do(req{Method: "DELETE", Path: "/api/v1/tokens/" + itoa(int(victimID)), Token: admin}).want(t, http.StatusNoContent)

	// Every state-changing operation in the document, with its path's
	// parameters made up: the read token is refused before anything else.
	var d map[string]map[string]map[string]any
	e.do(req{Method: "GET", Path: "/api/v1/openapi.json"}).want(t, http.StatusOK).JSON(t, &struct {
		Paths *map[string]map[string]map[string]any `json:"paths"`
	}{&d})
	n := 0
	for path, ops := range d {
		for method, o := range ops {
			m := strings.ToUpper(method)
			if m == "GET" || m == "HEAD" || m == "PARAMETERS" {
				continue
			}
			if sec, ok := o["security"].([]any); ok && len(sec) == 0 {
				continue // public: the login, the intake with an integration's token
			}
			p := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "1")
			r := e.do(req{Method: m, Path: p, Token: read, Raw: true, Body: map[string]any{}})
			if r.Status != http.StatusForbidden {
				t.Errorf("%s %s with a read token: %d, want 403 (%s)", m, path, r.Status, truncate(r.Body))
			}
			n++
		}
	}
	if n < 50 {
		t.Errorf("only %d state-changing operations tried", n)
	}
}
