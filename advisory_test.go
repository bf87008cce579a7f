package vigil_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func fieldsOf(err error) []string {
	var out []string
	for _, f := range vigil.ErrorFields(err) {
		out = append(out, f.Field)
	}
	return out
}

func readyAdvisory() *vigil.Advisory {
	return &vigil.Advisory{Title: "Exploited VPN flaw", Summary: "Attackers exploit it.", Actions: "Patch now.",
		Status: vigil.AdvisoryDraft, Reference: "ADV-2026-0001"}
}

func TestAdvisoryPrepare(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		a := &vigil.Advisory{Title: "  VPN flaw  "}
		if err := a.Prepare(); err != nil {
			t.Fatal(err)
		}
		if a.Title != "VPN flaw" || a.Kind != vigil.AdvisoryKindAdvisory || a.Severity != vigil.SeverityMedium || a.TLP != vigil.TLPAmber ||
			a.Audience.Kind != vigil.AudienceAll || a.IOCs == nil {
			t.Errorf("defaults: %+v", a)
		}
	})
	t.Run("Normalises", func(t *testing.T) {
		a := &vigil.Advisory{Title: "x", TLP: "tlp:green",
			Affected: vigil.Affected{Products: []string{" Acme VPN 9.1 ", ""}, CVEs: []string{"cve-2026-1234", "CVE-2026-1234"},
				CPEs: []string{"CPE:2.3:a:acme:vpn:9.1:*:*:*:*:*:*:*", `cpe:2.3:a:acme:vpn\:pro:9.1:*:*:*:*:*:*:*`, "cpe:/a:acme:vpn:9.1"}},
			IOCs: []vigil.AdvisoryIOC{{Type: vigil.ObsDomain, Value: "Evil.Example."}, {Type: vigil.ObsDomain, Value: "evil.example"},
				{Value: "hxxp://198.51.100.7/x"}},
			Refs:     []string{"https://acme.example/psirt/1"},
			Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"North", "north", " south "}}}
		if err := a.Prepare(); err != nil {
			t.Fatal(err)
		}
		if a.TLP != vigil.TLPGreen {
			t.Errorf("TLP = %q", a.TLP)
		}
		if !slices.Equal(a.Affected.Products, []string{"Acme VPN 9.1"}) || !slices.Equal(a.Affected.CVEs, []string{"CVE-2026-1234"}) ||
			a.Affected.CPEs[0] != "cpe:2.3:a:acme:vpn:9.1:*:*:*:*:*:*:*" || len(a.Affected.CPEs) != 3 {
			t.Errorf("affected: %+v", a.Affected)
		}
		want := []vigil.AdvisoryIOC{{Type: vigil.ObsDomain, Value: "evil.example", TLP: vigil.TLPGreen},
			{Type: vigil.ObsURL, Value: "http://198.51.100.7/x", TLP: vigil.TLPGreen}}
		if !slices.Equal(a.IOCs, want) {
			t.Errorf("IOCs = %+v, want %+v", a.IOCs, want)
		}
		if !slices.Equal(a.Audience.Members, []string{"north", "south"}) {
			t.Errorf("members = %v", a.Audience.Members)
		}
	})
	t.Run("FieldErrors", func(t *testing.T) {
		a := &vigil.Advisory{Kind: "bulletin", Severity: "dire", TLP: "PURPLE",
			Affected: vigil.Affected{CPEs: []string{"cpe:2.3:a:acme"}, CVEs: []string{"CVE-26-1"}},
			IOCs:     []vigil.AdvisoryIOC{{Type: vigil.ObsIPv4, Value: "not an address"}},
			Refs:     []string{"javascript:alert(1)", "ftp://x.example/"},
			Audience: vigil.Audience{Kind: vigil.AudienceSector},
		}
		err := a.Prepare()
		want := []string{"title", "kind", "severity", "tlp", "affected.cpes[0]", "affected.cves[0]", "iocs[0].value",
			"references[0]", "references[1]", "audience.sector"}
		if got := fieldsOf(err); !slices.Equal(got, want) {
			t.Errorf("fields = %v, want %v", got, want)
		}
		a = &vigil.Advisory{Title: "x", Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"a/b"}}}
		if got := fieldsOf(a.Prepare()); !slices.Equal(got, []string{"audience.members[0]"}) {
			t.Errorf("bad slug: %v", got)
		}
		a = &vigil.Advisory{Title: "x", Audience: vigil.Audience{Kind: "everyone"}}
		if got := fieldsOf(a.Prepare()); !slices.Equal(got, []string{"audience.kind"}) {
			t.Errorf("bad audience: %v", got)
		}
	})
	t.Run("ErrIOCAboveTLP", func(t *testing.T) {
		a := &vigil.Advisory{Title: "x", TLP: vigil.TLPGreen, IOCs: []vigil.AdvisoryIOC{
			{Type: vigil.ObsDomain, Value: "ok.example"}, {Type: vigil.ObsDomain, Value: "secret.example", TLP: vigil.TLPAmber}}}
		err := a.Prepare()
		fs := vigil.ErrorFields(err)
		if len(fs) != 1 || fs[0].Field != "iocs[1].tlp" {
			t.Fatalf("fields = %+v", fs)
		}
		if msg := fs[0].Message; msg == "" || !containsAll(msg, "TLP:AMBER", "TLP:GREEN") {
			t.Errorf("the reason does not say which labels: %q", msg)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func TestNormalizeCPEAndCVE(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"cpe:2.3:a:microsoft:exchange_server:2019:cumulative_update_12:*:*:*:*:*:*", true},
		{"cpe:2.3:o:linux:linux_kernel:6.1:*:*:*:*:*:*:*", true},
		{`cpe:2.3:a:vendor:prod\:uct:1:*:*:*:*:*:*:*`, true},
		{"cpe:/a:apache:http_server:2.4.49", true},
		{"cpe:2.3:x:vendor:product:1:*:*:*:*:*:*:*", false},
		{"cpe:2.3:a:vendor:product:1:*:*:*:*:*:*", false},
		{"cpe:2.3:a:vendor::1:*:*:*:*:*:*:*", false},
		{"cpe:2.3:a:ven dor:p:1:*:*:*:*:*:*:*", false},
		{"apache httpd", false},
	} {
		if _, ok := vigil.NormalizeCPE(c.in); ok != c.ok {
			t.Errorf("NormalizeCPE(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{{"cve-2021-44228", "CVE-2021-44228", true}, {"CVE-2026-123456", "CVE-2026-123456", true}, {"CVE-2026-123", "", false}, {"2021-44228", "", false}} {
		got, ok := vigil.NormalizeCVE(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("NormalizeCVE(%q) = %q, %v", c.in, got, ok)
		}
	}
}

func TestAdvisoryLifecycle(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t.Run("OK", func(t *testing.T) {
		a := readyAdvisory()
		if _, err := a.Publish("", now, "m"); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("published a draft: %v", err)
		}
		rev, err := a.Apply(vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryInReview)}, now, "m")
		if err != nil || rev != nil || a.Status != vigil.AdvisoryInReview {
			t.Fatalf("to review: %v %+v %s", err, rev, a.Status)
		}
		rev, err = a.Publish("", now, "m")
		if err != nil || rev.Revision != 1 || rev.ChangeNote != "First published." || a.Status != vigil.AdvisoryPublished || a.PublishedAt == nil {
			t.Fatalf("publish: %v %+v %+v", err, rev, a)
		}
		// A change without a note is refused; with one it is an update.
		_, err = a.Apply(vigil.AdvisoryUpdate{Actions: new("Patch and reset passwords.")}, now, "m")
		if got := fieldsOf(err); !slices.Equal(got, []string{"change_note"}) {
			t.Fatalf("update without a note: %v", err)
		}
		a.Actions = "Patch now."
		rev, err = a.Apply(vigil.AdvisoryUpdate{Actions: new("Patch and reset passwords."), ChangeNote: "Reset passwords too."}, now.Add(time.Hour), "m")
		if err != nil || rev.Revision != 2 || rev.Status != vigil.AdvisoryUpdated || a.Status != vigil.AdvisoryUpdated {
			t.Fatalf("update: %v %+v %s", err, rev, a.Status)
		}
		// Nothing changed: no publication.
		if rev, err := a.Apply(vigil.AdvisoryUpdate{Actions: new("Patch and reset passwords.")}, now, "m"); err != nil || rev != nil {
			t.Errorf("a no-op: %v %+v", err, rev)
		}
		_, err = a.Apply(vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryWithdrawn)}, now, "m")
		if got := fieldsOf(err); !slices.Equal(got, []string{"change_note"}) {
			t.Fatalf("withdraw without a reason: %v", err)
		}
		rev, err = a.Apply(vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryWithdrawn), ChangeNote: "Issued in error."}, now, "m")
		if err != nil || rev.Revision != 3 || a.Status != vigil.AdvisoryWithdrawn || a.WithdrawnAt == nil {
			t.Fatalf("withdraw: %v %+v", err, rev)
		}
		if _, err := a.Apply(vigil.AdvisoryUpdate{Title: new("again"), ChangeNote: "x"}, now, "m"); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("changed a withdrawn advisory: %v", err)
		}
	})
	t.Run("ErrMoves", func(t *testing.T) {
		for _, c := range []struct {
			from, to vigil.AdvisoryStatus
		}{{vigil.AdvisoryDraft, vigil.AdvisoryPublished}, {vigil.AdvisoryDraft, vigil.AdvisoryWithdrawn}, {vigil.AdvisoryDraft, vigil.AdvisoryUpdated},
			{vigil.AdvisoryPublished, vigil.AdvisoryDraft}, {vigil.AdvisoryPublished, vigil.AdvisoryInReview}, {vigil.AdvisoryDraft, "gone"}} {
			a := readyAdvisory()
			a.Status = c.from
			if _, err := a.Apply(vigil.AdvisoryUpdate{Status: new(c.to), ChangeNote: "x"}, now, "m"); vigil.ErrorCode(err) != vigil.EINVALID {
				t.Errorf("%s -> %s: %v", c.from, c.to, err)
			}
		}
		if !vigil.CanMoveAdvisory(vigil.AdvisoryInReview, vigil.AdvisoryDraft) || vigil.CanMoveAdvisory(vigil.AdvisoryWithdrawn, vigil.AdvisoryPublished) {
			t.Error("CanMoveAdvisory")
		}
	})
	t.Run("ErrPublishIncomplete", func(t *testing.T) {
		a := &vigil.Advisory{Title: "x", Status: vigil.AdvisoryDraft}
		_, err := a.Apply(vigil.AdvisoryUpdate{Status: new(vigil.AdvisoryInReview)}, now, "m")
		if got := fieldsOf(err); !slices.Equal(got, []string{"summary", "actions"}) {
			t.Errorf("review of an incomplete draft: %v", err)
		}
		a.Status = vigil.AdvisoryInReview
		_, err = a.Publish("", now, "m")
		if got := fieldsOf(err); !slices.Equal(got, []string{"summary", "actions"}) {
			t.Errorf("publish incomplete: %v", err)
		}
		a = readyAdvisory()
		a.Status, a.TLP = vigil.AdvisoryInReview, vigil.TLPRed
		_, err = a.Publish("", now, "m")
		if got := fieldsOf(err); !slices.Equal(got, []string{"tlp"}) {
			t.Errorf("a RED advisory to all members: %v", err)
		}
	})
	t.Run("ErrWithdrawWithChanges", func(t *testing.T) {
		a := readyAdvisory()
		a.Status = vigil.AdvisoryPublished
		_, err := a.Apply(vigil.AdvisoryUpdate{Title: new("y"), Status: new(vigil.AdvisoryWithdrawn), ChangeNote: "x"}, now, "m")
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("withdrew with changes: %v", err)
		}
	})
}

func TestAdvisoryAccess(t *testing.T) {
	north := &vigil.Organisation{ID: 2, Slug: "north", Kind: vigil.OrgMember, Sector: "Water"}
	south := &vigil.Organisation{ID: 3, Slug: "south", Kind: vigil.OrgMember, Sector: "Energy"}
	orgs := map[int64]*vigil.Organisation{2: north, 3: south}
	actor := func(roles ...vigil.OrgRole) *vigil.Actor {
		a := &vigil.Actor{UserID: 9, Username: "u", Orgs: roles}
		for _, r := range roles {
			if r.ID == vigil.DefaultOrganisationID {
				a.Role = r.Role
			}
		}
		return a
	}
	adv := func(tlp vigil.TLP, st vigil.AdvisoryStatus, au vigil.Audience) *vigil.Advisory {
		return &vigil.Advisory{TLP: tlp, Status: st, Audience: au}
	}
	all := vigil.Audience{Kind: vigil.AudienceAll}
	water := vigil.Audience{Kind: vigil.AudienceSector, Sector: " WATER "}
	southOnly := vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"south"}}

	northViewer := actor(vigil.OrgRole{ID: 2, Slug: "north", Role: vigil.RoleViewer})
	northReporter := actor(vigil.OrgRole{ID: 2, Slug: "north", Role: vigil.RoleReporter})
	staff := actor(vigil.OrgRole{ID: 1, Slug: "default", Role: vigil.RoleViewer})
	coordReporter := actor(vigil.OrgRole{ID: 1, Slug: "default", Role: vigil.RoleReporter})

	for _, c := range []struct {
		name  string
		actor *vigil.Actor
		adv   *vigil.Advisory
		want  bool
	}{
		{"MemberPublishedAll", northViewer, adv(vigil.TLPAmber, vigil.AdvisoryPublished, all), true},
		{"MemberAmberStrict", northViewer, adv(vigil.TLPAmberStrict, vigil.AdvisoryUpdated, all), true},
		{"MemberWithdrawn", northViewer, adv(vigil.TLPGreen, vigil.AdvisoryWithdrawn, all), true},
		{"MemberDraft", northViewer, adv(vigil.TLPGreen, vigil.AdvisoryDraft, all), false},
		{"MemberInReview", northViewer, adv(vigil.TLPGreen, vigil.AdvisoryInReview, all), false},
		{"MemberRed", northViewer, adv(vigil.TLPRed, vigil.AdvisoryPublished, vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"north"}}), false},
		{"MemberSector", northViewer, adv(vigil.TLPGreen, vigil.AdvisoryPublished, water), true},
		{"MemberOtherSector", actor(vigil.OrgRole{ID: 3, Slug: "south", Role: vigil.RoleAdmin}), adv(vigil.TLPGreen, vigil.AdvisoryPublished, water), false},
		{"MemberNotNamed", northViewer, adv(vigil.TLPGreen, vigil.AdvisoryPublished, southOnly), false},
		{"MemberNamed", actor(vigil.OrgRole{ID: 3, Slug: "south", Role: vigil.RoleResponder}), adv(vigil.TLPGreen, vigil.AdvisoryPublished, southOnly), true},
		{"ReporterGreen", northReporter, adv(vigil.TLPGreen, vigil.AdvisoryPublished, all), true},
		{"ReporterAmber", northReporter, adv(vigil.TLPAmber, vigil.AdvisoryPublished, all), false},
		{"StaffDraft", staff, adv(vigil.TLPRed, vigil.AdvisoryDraft, all), true},
		{"CoordinatorReporter", coordReporter, adv(vigil.TLPClear, vigil.AdvisoryPublished, all), false},
		{"Nobody", nil, adv(vigil.TLPClear, vigil.AdvisoryPublished, all), false},
		{"System", vigil.SystemActor("t"), adv(vigil.TLPRed, vigil.AdvisoryDraft, all), true},
		{"ReadOnlyToken", &vigil.Actor{UserID: 9, Orgs: []vigil.OrgRole{{ID: 2, Slug: "north", Role: vigil.RoleAdmin}}, TokenID: 1, Scopes: []vigil.Scope{vigil.ScopeRead}},
			adv(vigil.TLPAmber, vigil.AdvisoryPublished, all), true},
		{"WriteOnlyToken", &vigil.Actor{UserID: 9, Orgs: []vigil.OrgRole{{ID: 2, Slug: "north", Role: vigil.RoleAdmin}}, TokenID: 1, Scopes: []vigil.Scope{vigil.ScopeWrite}},
			adv(vigil.TLPAmber, vigil.AdvisoryPublished, all), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := vigil.AdvisoryAccessFor(c.actor).CanSee(c.adv, orgs); got != c.want {
				t.Errorf("CanSee = %v, want %v (access %+v)", got, c.want, vigil.AdvisoryAccessFor(c.actor))
			}
		})
	}
	if (vigil.Audience{Kind: vigil.AudienceAll}).Includes(&vigil.Organisation{Kind: vigil.OrgCoordinator}) {
		t.Error("the coordinator is in the audience of all members")
	}
}

func TestAdvisoryForMember(t *testing.T) {
	a := &vigil.Advisory{CreatedBy: "Manager", SourceIncident: &vigil.IncidentRef{ID: 1, Reference: "INC-2026-000001"},
		Audience: vigil.Audience{Kind: vigil.AudienceMembers, Members: []string{"north", "south"}},
		History:  []vigil.AdvisoryRevision{{Revision: 1, PublishedBy: "Manager"}}}
	a.ForMember()
	if a.CreatedBy != "" || a.SourceIncident != nil || a.Audience.Members != nil || a.History[0].PublishedBy != "" {
		t.Errorf("a member sees %+v", a)
	}
}

func TestAdvisoryResponseInput(t *testing.T) {
	r := vigil.AdvisoryResponseInput{Status: "patched", Note: " x "}
	if got := fieldsOf(r.Prepare()); !slices.Equal(got, []string{"status"}) {
		t.Errorf("fields = %v", got)
	}
	r = vigil.AdvisoryResponseInput{Status: vigil.ResponseMitigated, Note: " done ", Organisation: " North "}
	if err := r.Prepare(); err != nil || r.Note != "done" || r.Organisation != "north" {
		t.Errorf("%v %+v", err, r)
	}
	if got := vigil.FormatAdvisoryReference(2026, 1); got != "ADV-2026-0001" || !vigil.IsAdvisoryReference("adv-2026-0001") || vigil.IsAdvisoryReference("INC-2026-000001") {
		t.Errorf("reference %q", got)
	}
}
