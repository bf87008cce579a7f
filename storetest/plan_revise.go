package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/plan"
)

// testPlanStarterRevision: starter plans installed by an earlier Vigil
// still named Action Fraud, which Report Fraud replaced on 4 December
// 2025. At start-up the lines they still have as shipped get this Vigil's
// words, in a new version that says why; the approval stays with the
// version approved, and what someone edited stays as they wrote it.
func testPlanStarterRevision(t *testing.T, open Opener) {
	s := open(t)
	if s.Exec == nil {
		t.Skip("this store cannot be written behind its back")
	}
	ctx := t.Context()
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	resp, _ := MustCreateUser(t, s, vigil.RoleResponder)
	if _, err := s.Plans.InstallStarterPlans(admin); err != nil {
		t.Fatal(err)
	}
	plans, err := s.Plans.FindPlans(admin)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*vigil.Plan{}
	for _, p := range plans {
		byKey[p.Key] = p
	}
	current := map[string]string{}
	// The starter plans as the earlier Vigil installed them.
	for key, subs := range map[string][][2]string{
		"phishing": {{"report to Report Fraud (Police Scotland on 101 in Scotland).", "report to Action Fraud."}},
		"ransomware": {
			{"- [Report Fraud: report cyber crime (England, Wales and Northern Ireland)](https://www.reportfraud.police.uk/)", "- [Action Fraud](https://www.actionfraud.police.uk/)"},
			{"Report to Report Fraud, 0300 123 2040 (Police Scotland on 101 in Scotland); law", "Report to Action Fraud (Police Scotland in Scotland); law"},
		},
		"unauthorised-access": {{"A crime: Report Fraud (Police Scotland in Scotland) or the police.", "A crime: Action Fraud or the police."}},
	} {
		p := byKey[key]
		current[key] = p.Source
		old := p.Source
		for _, sub := range subs {
			old = strings.Replace(old, sub[0], sub[1], 1)
		}
		def, err := plan.Parse(old)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(def)
		if _, err := s.Exec(ctx, `UPDATE plans SET source = ?, definition = ? WHERE id = ?`, old, string(b), p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(ctx, `UPDATE plan_versions SET source = ? WHERE plan_id = ?`, old, p.ID); err != nil {
			t.Fatal(err)
		}
		p.Source = old
	}
	// The ransomware plan was approved as installed; the phishing plan
	// was adapted elsewhere; someone rewrote the unauthorised access
	// plan's line themselves.
	if _, err := s.Plans.ApprovePlan(admin, byKey["ransomware"].ID, 1); err != nil {
		t.Fatal(err)
	}
	ours := "## Learn\n### Call our bank's fraud line {#bank}\nOwner: lead\n0800 000 0000, day and night."
	phishing, err := s.Plans.UpdatePlan(admin, byKey["phishing"].ID, vigil.PlanInput{Source: strings.Replace(byKey["phishing"].Source, "## Learn", ours, 1),
		Note: "Our bank's line.", Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	mine := strings.Replace(byKey["unauthorised-access"].Source, "A crime: Action Fraud or the police.", "A crime: Action Fraud, our insurer, or the police.", 1)
	access, err := s.Plans.UpdatePlan(admin, byKey["unauthorised-access"].ID, vigil.PlanInput{Source: mine, Note: "Insurer.", Version: 1})
	if err != nil {
		t.Fatal(err)
	}

	_, err = s.Plans.ReviseStarterPlans(resp)
	wantCode(t, err, vigil.EFORBIDDEN)
	n, err := s.Plans.ReviseStarterPlans(SystemContext(t))
	if err != nil || n != 2 {
		t.Fatalf("revised %d plans (%v), want the ransomware and phishing plans", n, err)
	}
	if n, err := s.Plans.ReviseStarterPlans(SystemContext(t)); err != nil || n != 0 {
		t.Errorf("revised again: %d %v", n, err)
	}

	rw, err := s.Plans.FindPlanByID(admin, byKey["ransomware"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rw.Version != 2 || rw.Source != current["ransomware"] || rw.ApprovedVersion != 1 || rw.Approved() {
		t.Errorf("ransomware plan: version %d, approved %d, source as now shipped %v", rw.Version, rw.ApprovedVersion, rw.Source == current["ransomware"])
	}
	var links []string
	for _, l := range rw.Definition.Guidance {
		links = append(links, l.URL)
	}
	if strings.Contains(strings.Join(links, " "), "actionfraud") || !strings.Contains(strings.Join(links, " "), "https://www.reportfraud.police.uk/") {
		t.Errorf("ransomware plan's guidance: %v", links)
	}
	versions, err := s.Plans.FindPlanVersions(admin, rw.ID)
	if err != nil || len(versions) != 2 || !strings.Contains(versions[0].Note, "Report Fraud replaced Action Fraud") ||
		!strings.Contains(versions[0].Note, "Version 1 stays the approved one") || !strings.Contains(versions[1].Source, "Action Fraud") {
		t.Errorf("ransomware plan's history: %v %+v", err, versions)
	}

	ph, _ := s.Plans.FindPlanByID(admin, phishing.ID)
	if ph.Version != 3 || !strings.Contains(ph.Source, "report to Report Fraud (Police Scotland on 101 in Scotland).") ||
		!strings.Contains(ph.Source, "0800 000 0000, day and night.") || strings.Contains(ph.Source, "Action Fraud") {
		t.Errorf("adapted phishing plan: version %d\n%s", ph.Version, ph.Source)
	}
	if ua, _ := s.Plans.FindPlanByID(admin, access.ID); ua.Version != 2 || ua.Source != mine {
		t.Errorf("a line someone rewrote was revised: version %d", ua.Version)
	}
	// Every other starter plan is as it was installed.
	for _, p := range plans {
		if _, ok := current[p.Key]; ok {
			continue
		}
		if got, _ := s.Plans.FindPlanByID(admin, p.ID); got.Version != 1 {
			t.Errorf("%s: version %d", p.Key, got.Version)
		}
	}
}
