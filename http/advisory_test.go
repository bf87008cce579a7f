package http_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// memberToken makes a user of a member organisation with role there and
// returns an API token of theirs, bound to it, with scopes.
func (e *env) memberToken(slug string, role vigil.Role, scopes ...vigil.Scope) string {
	e.t.Helper()
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	u := &vigil.User{Username: trimUsername(slug + "-" + string(role))}
	if err := e.svc.Users.CreateUser(sys, u, "correct horse battery staple"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.Orgs.AddMember(sys, slug, u.Username, role); err != nil {
		e.t.Fatal(err)
	}
	secret, err := e.svc.Auth.CreateToken(sys, u.ID, &vigil.Token{Name: "feed", Scopes: scopes, Organisation: slug})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// TestAdvisoriesContract follows the contract over HTTP: the
// coordinator drafts an advisory from an incident, reviews and publishes
// it; members read it and answer; the coordinator's table shows who
// answered and who is silent; an update and a withdrawal stay visible.
func TestAdvisoriesContract(t *testing.T) {
	e := newEnv(t)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	for _, o := range []*vigil.Organisation{{Slug: "north", Name: "North Water", Sector: "Water"}, {Slug: "south", Name: "South Power", Sector: "Energy"}} {
		if err := e.svc.Orgs.CreateOrganisation(sys, o); err != nil {
			t.Fatal(err)
		}
	}
	manager, _ := e.user(vigil.RoleManager)
	responder, _ := e.user(vigil.RoleResponder)
	north := e.memberToken("north", vigil.RoleResponder, vigil.ScopeRead, vigil.ScopeWrite)
	south := e.memberToken("south", vigil.RoleAdmin, vigil.ScopeRead, vigil.ScopeWrite)

	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: manager, Body: map[string]any{"title": "VPN gateway exploited", "summary": "Internal notes."}}).
		want(t, http.StatusCreated).JSON(t, &inc)
	var obs vigilhttp.ObservableList
	e.do(req{Method: "POST", Path: "/api/v1/incidents/" + itoa(int(inc.ID)) + "/observables", Token: manager,
		Body: map[string]any{"text": "198.51.100.7\nevil.example"}}).want(t, http.StatusCreated).JSON(t, &obs)

	var a vigil.Advisory
	e.do(req{Method: "POST", Path: "/api/v1/incidents/" + inc.Reference + "/advisory", Token: manager,
		Body: map[string]any{"observables": []int64{obs.Items[0].ID}, "kind": "alert", "audience": map[string]any{"kind": "all"}}}).
		want(t, http.StatusCreated).JSON(t, &a)
	if a.Title != inc.Title || a.Summary != "" || len(a.IOCs) != 1 || a.Status != vigil.AdvisoryDraft || a.SourceIncident == nil {
		t.Fatalf("drafted %+v", a)
	}
	path := "/api/v1/advisories/" + a.Reference
	e.do(req{Method: "GET", Path: path, Token: north}).want(t, http.StatusNotFound) // a draft

	// Publishing without what members need is refused, naming the fields.
	r := e.do(req{Method: "PATCH", Path: path, Token: manager, Body: map[string]any{"status": "in_review", "version": a.Version}}).want(t, http.StatusBadRequest)
	if p := r.Problem(t); len(p.Errors) != 2 {
		t.Errorf("problem %+v", p)
	}
	e.do(req{Method: "PATCH", Path: path, Token: manager, Body: map[string]any{"summary": "Attackers exploit CVE-2026-1234.", "actions": "Patch to 9.2.",
		"affected": map[string]any{"cves": []string{"cve-2026-1234"}}, "version": a.Version}}).want(t, http.StatusOK).JSON(t, &a)
	e.do(req{Method: "PATCH", Path: path, Token: manager, Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"status": "in_review"}}).
		want(t, http.StatusPreconditionFailed)
	e.do(req{Method: "PATCH", Path: path, Token: manager, Body: map[string]any{"status": "in_review", "version": a.Version}}).want(t, http.StatusOK).JSON(t, &a)
	e.do(req{Method: "POST", Path: path + "/publish", Token: responder, Body: map[string]any{"version": a.Version}}).want(t, http.StatusForbidden)
	e.do(req{Method: "POST", Path: path + "/publish", Token: manager, Body: map[string]any{"version": a.Version}}).want(t, http.StatusOK).JSON(t, &a)
	if a.Status != vigil.AdvisoryPublished || a.Revision != 1 || len(a.History) != 1 {
		t.Fatalf("published %+v", a)
	}

	var seen vigil.Advisory
	e.do(req{Method: "GET", Path: strings.ToLower(path), Token: north}).want(t, http.StatusOK).JSON(t, &seen)
	if seen.SourceIncident != nil || seen.CreatedBy != "" || seen.Affected.CVEs[0] != "CVE-2026-1234" {
		t.Errorf("a member reads %+v", seen)
	}
	var list vigilhttp.AdvisoryList
	e.do(req{Method: "GET", Path: "/api/v1/advisories?kind=alert", Token: south}).want(t, http.StatusOK).JSON(t, &list)
	if list.Total != 1 || list.Advisories[0].Reference != a.Reference || !strings.HasSuffix(list.Feed, "/api/v1/advisories.atom") {
		t.Errorf("south's list %+v", list)
	}

	var ans vigil.AdvisoryResponse
	e.do(req{Method: "POST", Path: path + "/responses", Token: north, Body: map[string]any{"status": "affected", "note": "Two gateways."}}).
		want(t, http.StatusCreated).JSON(t, &ans)
	if ans.Organisation != "north" || ans.Status != vigil.ResponseAffected {
		t.Errorf("answer %+v", ans)
	}
	e.do(req{Method: "POST", Path: path + "/responses", Token: north, Body: map[string]any{"status": "patched"}, Raw: true}).want(t, http.StatusBadRequest)
	e.do(req{Method: "POST", Path: path + "/responses", Token: responder, Body: map[string]any{"status": "affected"}}).want(t, http.StatusForbidden)
	var table vigil.AdvisoryResponses
	e.do(req{Method: "GET", Path: path + "/responses", Token: responder}).want(t, http.StatusOK).JSON(t, &table)
	if len(table.Table) != 2 || table.Table[0].Organisation != "north" || table.Table[0].Status != vigil.ResponseAffected ||
		!slices.Equal(table.Silent, []string{"south"}) || table.Counts["none"] != 1 {
		t.Errorf("the coordinator's table %+v", table)
	}

	// An update is published with its note; a withdrawal stays readable.
	e.do(req{Method: "PATCH", Path: path, Token: manager, Body: map[string]any{"actions": "Patch to 9.3.", "version": a.Version}}).want(t, http.StatusBadRequest)
	e.do(req{Method: "PATCH", Path: path, Token: manager, Body: map[string]any{"actions": "Patch to 9.3.", "change_note": "9.2 is not enough.", "version": a.Version}}).
		want(t, http.StatusOK).JSON(t, &a)
	e.do(req{Method: "PATCH", Path: path, Token: manager, Body: map[string]any{"status": "withdrawn", "change_note": "Wrong product.", "version": a.Version}}).
		want(t, http.StatusOK).JSON(t, &a)
	e.do(req{Method: "GET", Path: path, Token: south}).want(t, http.StatusOK).JSON(t, &seen)
	if seen.Status != vigil.AdvisoryWithdrawn || len(seen.History) != 3 || seen.History[2].ChangeNote != "Wrong product." {
		t.Errorf("withdrawn, as south reads it: %+v", seen)
	}
	e.do(req{Method: "POST", Path: path + "/responses", Token: south, Body: map[string]any{"status": "not_affected"}}).want(t, http.StatusBadRequest)
}

// TestAdvisoryFeed parses the Atom feed with a real feed library: the
// RFC 4287 elements, newest change first, only what the reader may see,
// never above their clearance, with the token in the URL or the header.
func TestAdvisoryFeed(t *testing.T) {
	e := newEnv(t)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	for _, o := range []*vigil.Organisation{{Slug: "north", Name: "North Water", Sector: "Water"}, {Slug: "south", Name: "South Power", Sector: "Energy"}} {
		if err := e.svc.Orgs.CreateOrganisation(sys, o); err != nil {
			t.Fatal(err)
		}
	}
	mgrTok, mgr := e.user(vigil.RoleManager)
	mctx := vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: mgr.ID, Username: mgr.Username, Role: vigil.RoleManager})
	publish := func(a *vigil.Advisory) *vigil.Advisory {
		t.Helper()
		a.Summary, a.Actions = "Summary of "+a.Title+" & <more>.", "Patch."
		must(t, e.svc.Advisories.CreateAdvisory(mctx, a))
		a, err := e.svc.Advisories.UpdateAdvisory(mctx, a.Reference, vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryInReview), Version: a.Version})
		must(t, err)
		a, err = e.svc.Advisories.PublishAdvisory(mctx, a.Reference, vigil.AdvisoryPublish{Version: a.Version})
		must(t, err)
		time.Sleep(10 * time.Millisecond) // distinct update times
		return a
	}
	first := publish(&vigil.Advisory{Title: "Amber to all", TLP: vigil.TLPAmber, IOCs: []vigil.AdvisoryIOC{{Type: vigil.ObsDomain, Value: "evil.example"}}})
	green := publish(&vigil.Advisory{Title: "Green to water", TLP: vigil.TLPGreen, Kind: vigil.AdvisoryKindAlert,
		Audience: vigil.Audience{Kind: vigil.AudienceSector, Sector: "Water"}})
	southOnly := publish(&vigil.Advisory{Title: "South only", TLP: vigil.TLPClear, Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"south"}}})
	red := publish(&vigil.Advisory{Title: "Red to north", TLP: vigil.TLPRed, Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"north"}}})
	draft := &vigil.Advisory{Title: "A draft"}
	must(t, e.svc.Advisories.CreateAdvisory(mctx, draft))
	// An update moves the first to the top.
	first, err := e.svc.Advisories.UpdateAdvisory(mctx, first.Reference, vigil.AdvisoryUpdate{Detection: new("Look for the domain in DNS logs."),
		ChangeNote: "Detection added.", Version: first.Version})
	must(t, err)

	northViewer := e.memberToken("north", vigil.RoleViewer, vigil.ScopeRead)
	northReporter := e.memberToken("north", vigil.RoleReporter, vigil.ScopeRead)

	parse := func(body []byte) (*atom.Feed, *gofeed.Feed) {
		t.Helper()
		af, err := (&atom.Parser{}).Parse(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("not Atom: %v\n%s", err, body)
		}
		uf, err := gofeed.NewParser().ParseString(string(body))
		if err != nil || uf.FeedType != "atom" || uf.FeedVersion != "1.0" {
			t.Fatalf("gofeed: %v %s %s", err, uf.FeedType, uf.FeedVersion)
		}
		return af, uf
	}
	titles := func(f *atom.Feed) []string {
		var out []string
		for _, en := range f.Entries {
			out = append(out, en.Title)
		}
		return out
	}

	for _, c := range []struct {
		name   string
		token  string
		header bool
		want   []*vigil.Advisory
	}{
		{"NorthViewerInURL", northViewer, false, []*vigil.Advisory{first, green}},
		{"NorthViewerInHeader", northViewer, true, []*vigil.Advisory{first, green}},
		{"NorthReporter", northReporter, false, []*vigil.Advisory{green}},
		{"CoordinatorManager", mgrTok, false, []*vigil.Advisory{first, southOnly, green}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rq := req{Method: "GET", Path: "/api/v1/advisories.atom?token=" + c.token}
			if c.header {
				rq = req{Method: "GET", Path: "/api/v1/advisories.atom", Token: c.token}
			}
			r := e.do(rq).want(t, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
				t.Errorf("Content-Type = %q", ct)
			}
			if strings.Contains(string(r.Body), c.token) {
				t.Error("the feed repeats the token")
			}
			af, uf := parse(r.Body)
			if af.ID == "" || af.Title == "" || af.UpdatedParsed == nil || len(af.Authors) == 0 {
				t.Errorf("feed id %q, title %q, updated %v, authors %v", af.ID, af.Title, af.Updated, af.Authors)
			}
			var want []string
			for _, a := range c.want {
				for _, en := range af.Entries {
					if strings.Contains(en.Title, a.Reference) {
						want = append(want, en.Title)
					}
				}
			}
			if got := titles(af); len(got) != len(c.want) || !slices.Equal(got, want) {
				t.Fatalf("entries %v, want %d in order %v", got, len(c.want), want)
			}
			for i, en := range af.Entries {
				a := c.want[i]
				if en.ID != "urn:uuid:"+a.UUID || en.UpdatedParsed == nil || !en.UpdatedParsed.Equal(a.UpdatedAt.Truncate(time.Second)) ||
					len(en.Links) == 0 || !strings.HasSuffix(en.Links[0].Href, "/api/v1/advisories/"+a.Reference) {
					t.Errorf("entry %d: id %q updated %v links %+v (want %s, %v)", i, en.ID, en.Updated, en.Links, a.UUID, a.UpdatedAt)
				}
				if !strings.HasPrefix(en.Summary, "TLP:"+string(a.TLP)) {
					t.Errorf("entry %d's summary does not start with its TLP: %q", i, en.Summary)
				}
				if i > 0 && en.UpdatedParsed.After(*af.Entries[i-1].UpdatedParsed) {
					t.Errorf("entries not newest first")
				}
			}
			if !af.UpdatedParsed.Equal(*af.Entries[0].UpdatedParsed) {
				t.Errorf("feed updated %v, newest entry %v", af.Updated, af.Entries[0].Updated)
			}
			if len(uf.Items) != len(c.want) {
				t.Errorf("gofeed reads %d items", len(uf.Items))
			}
			for _, hidden := range []*vigil.Advisory{red, draft} {
				if strings.Contains(string(r.Body), hidden.Reference) || strings.Contains(string(r.Body), hidden.Title) {
					t.Errorf("the feed holds %s (%s)", hidden.Reference, hidden.TLP)
				}
			}
		})
	}
	t.Run("ErrNoToken", func(t *testing.T) {
		e.do(req{Method: "GET", Path: "/api/v1/advisories.atom"}).want(t, http.StatusUnauthorized)
		e.do(req{Method: "GET", Path: "/api/v1/advisories.atom?token=vgl_not-a-token"}).want(t, http.StatusUnauthorized)
		e.do(req{Method: "GET", Path: "/api/v1/advisories.atom?tokn=x", Token: northViewer, Raw: true}).want(t, http.StatusBadRequest)
	})
	t.Run("Defanged", func(t *testing.T) {
		r := e.do(req{Method: "GET", Path: "/api/v1/advisories.atom", Token: northViewer}).want(t, http.StatusOK)
		if !strings.Contains(string(r.Body), "evil[.]example") || strings.Contains(string(r.Body), " evil.example ") {
			t.Errorf("the IOC is not defanged:\n%s", r.Body)
		}
	})
}
