package plan_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/plan"
)

func TestStarterPlans(t *testing.T) {
	srcs := plan.Starter()
	want := map[vigil.IncidentType]bool{vigil.TypePhishing: false, vigil.TypeMalware: false, vigil.TypeRansomware: false,
		vigil.TypeDenialOfService: false, vigil.TypeUnauthorisedAccess: false, vigil.TypeDataBreach: false,
		vigil.TypeInsiderMisuse: false, vigil.TypeSupplyChain: false, vigil.TypeLostDevice: false}
	keys := map[string]bool{}
	for _, src := range srcs {
		d, err := plan.Parse(src)
		if err != nil {
			t.Fatalf("starter plan does not parse: %v\n%s", err, src[:80])
		}
		if keys[d.Key] {
			t.Errorf("key %s twice", d.Key)
		}
		keys[d.Key] = true
		for _, ty := range d.Types {
			want[ty] = true
		}
		// The NCSC structure: prepare, detect, contain, recover and learn in
		// every plan (eradicate where there is something to remove).
		have := map[vigil.Phase]bool{}
		for _, ph := range d.Phases {
			have[ph.Phase] = true
			if len(ph.Steps) == 0 {
				t.Errorf("%s: phase %s has no steps", d.Key, ph.Phase)
			}
		}
		for _, ph := range []vigil.Phase{vigil.PhasePrepare, vigil.PhaseDetect, vigil.PhaseContain, vigil.PhaseRecover, vigil.PhaseLearn} {
			if !have[ph] {
				t.Errorf("%s: no %s phase", d.Key, ph)
			}
		}
		if d.Summary == "" || len(d.Guidance) == 0 {
			t.Errorf("%s: no summary or guidance", d.Key)
		}
		for _, s := range d.Steps() {
			if s.Role == "" {
				t.Errorf("%s: step %q has no owner", d.Key, s.Title)
			}
		}
	}
	for ty, ok := range want {
		if !ok {
			t.Errorf("no starter plan for %s", ty)
		}
	}
}

func TestParse(t *testing.T) {
	src := `
---
key: test
title: Test plan
types: phishing, Malware, phishing
severities: high
contacts: dpo
---
First line of the summary.
Second line.

## Guidance
- [NCSC](https://www.ncsc.gov.uk/)

## Contain
### Block the sender {#block}
Owner: technical
Do it now.

And say so.
- [ ] At the gateway
- [x] On the proxy
- [How](https://example.org/how)
### Reset passwords!
Owner: lead

## Learn
### Review
`
	d, err := plan.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if d.Key != "test" || !reflect.DeepEqual(d.Types, []vigil.IncidentType{"phishing", "malware"}) || d.Summary != "First line of the summary.\nSecond line." {
		t.Errorf("header: %+v", d)
	}
	steps := d.Steps()
	if len(steps) != 3 || steps[0].Key != "block" || steps[1].Key != "reset-passwords" || steps[2].Phase != vigil.PhaseLearn {
		t.Fatalf("steps: %+v", steps)
	}
	s := steps[0]
	if s.Role != vigil.RoleTechnical || s.Detail != "Do it now.\n\nAnd say so." || len(s.Checklist) != 2 || s.Links[0].URL != "https://example.org/how" {
		t.Errorf("step: %+v", s)
	}
	if got := s.TaskDescription(); got != "Do it now.\n\nAnd say so.\n- [ ] At the gateway\n- [ ] On the proxy\nHow: https://example.org/how" {
		t.Errorf("task description: %q", got)
	}
	if !d.Fits(vigil.TypeMalware, vigil.SeverityHigh) || d.Fits(vigil.TypeMalware, vigil.SeverityLow) || d.Fits(vigil.TypeRansomware, vigil.SeverityHigh) {
		t.Error("Fits")
	}
	// Format writes what Parse reads back the same.
	again, err := plan.Parse(plan.Format(d))
	if err != nil || !reflect.DeepEqual(again, d) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, again, d)
	}
}

// TestParseErrors: every mistake is reported with its line and field.
func TestParseErrors(t *testing.T) {
	head := "---\nkey: k\ntitle: T\ntypes: phishing\n---\n"
	for name, tc := range map[string]struct{ src, want string }{
		"no header":       {"## Contain\n### x\n", "Line 1, header"},
		"open header":     {"---\nkey: k\n", "Line 1, header: the header has no closing"},
		"missing fields":  {"---\ncontacts: dpo\n---\n## Contain\n### x\n", "Line 1, key: required"},
		"bad key":         {"---\nkey: Not A Key\ntitle: T\ntypes: phishing\n---\n## Contain\n### x\n", "Line 2, key:"},
		"unknown type":    {"---\nkey: k\ntitle: T\ntypes: phishing, alien invasion\n---\n## Contain\n### x\n", `Line 4, types: unknown value "alien invasion"`},
		"unknown field":   {"---\nkey: k\ntitle: T\ntypes: phishing\nowner: bob\n---\n## Contain\n### x\n", "Line 5, owner: unknown header field"},
		"unknown phase":   {head + "## Panic\n### x\n", `Line 6, phase: "Panic" is not a phase`},
		"phase twice":     {head + "## Contain\n### x\n## Contain\n### y\n", "Line 8, phase: Contain appears twice"},
		"step outside":    {head + "### x\n", "Line 6, step: a step must be under a phase"},
		"text outside":    {head + "## Contain\nstray text\n### x\n", "Line 7, step: text under a phase belongs to a step"},
		"bad owner":       {head + "## Contain\n### x\nOwner: boss\n", `Line 8, owner: "boss" is not an incident role`},
		"duplicate key":   {head + "## Contain\n### Block it\n### Block it!\n", `Line 8, step: the key "block-it" is already the step on line 7`},
		"bad link":        {head + "## Contain\n### x\n- [x](javascript:alert)\n", "Line 8, link:"},
		"guidance text":   {head + "## Guidance\nread the manual\n## Contain\n### x\n", "Line 7, guidance: list links"},
		"deep heading":    {head + "## Contain\n#### x\n", "Line 7, heading"},
		"no steps":        {head + "Just a summary.\n", "The plan has no steps"},
		"bad step key":    {head + "## Contain\n### x {#Bad Key}\n", "Line 7, step: {#Bad Key} is not a key"},
		"empty step":      {head + "## Contain\n###  {#k}\n", "Line 7, step: give the step a title"},
		"too long":        {head + strings.Repeat("x", plan.MaxSource), "at most 64 KB"},
		"invalid utf8":    {head + "\xff", "not valid UTF-8"},
		"title too long":  {"---\nkey: k\ntitle: " + strings.Repeat("t", 201) + "\ntypes: phishing\n---\n## Contain\n### x\n", "Line 3, title"},
		"detail too long": {head + "## Contain\n### x\n" + strings.Repeat("y", vigil.MaxTaskDescLen+1) + "\n", "step \"x\" says too much"},
	} {
		_, err := plan.Parse(tc.src)
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var msgs []string
		for _, f := range vigil.ErrorFields(err) {
			if f.Field != "source" {
				t.Errorf("%s: field %q", name, f.Field)
			}
			msgs = append(msgs, f.Message)
		}
		if all := strings.Join(msgs, " | "); !strings.Contains(all, tc.want) {
			t.Errorf("%s: %s, want %q", name, all, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range plan.Starter() {
		f.Add(s)
	}
	f.Add("---\nkey: k\ntitle: T\ntypes: phishing\n---\n## Contain\n### x {#y}\nOwner: lead\n- [ ] a\n- [b](https://c.d/)\n")
	f.Fuzz(func(t *testing.T, src string) {
		d, err := plan.Parse(src)
		if err != nil {
			if vigil.ErrorCode(err) != vigil.EINVALID {
				t.Fatalf("not EINVALID: %v", err)
			}
			return
		}
		again, err := plan.Parse(plan.Format(d))
		if err != nil {
			t.Fatalf("Format's output does not parse: %v\n%s", err, plan.Format(d))
		}
		if !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip differs:\n%+v\n%+v", d, again)
		}
	})
}

func TestDiff(t *testing.T) {
	got := plan.Diff("a\nb\nc\nd\n", "a\nc\nd\ne\n")
	var b strings.Builder
	for _, l := range got {
		b.WriteString(l.Op + l.Text + "|")
	}
	if b.String() != " a|-b| c| d|+e|" {
		t.Errorf("Diff = %s", b.String())
	}
	if d := plan.Diff("same\n", "same\n"); len(d) != 1 || d[0].Op != " " {
		t.Errorf("no change: %+v", d)
	}
}

// TestRevise: a plan installed from an earlier starter set gets this
// Vigil's lines where it still has the old ones exactly as they were
// shipped, Report Fraud in place of Action Fraud, which it replaced on 4
// December 2025, and keeps every line someone edited.
func TestRevise(t *testing.T) {
	current := map[string]string{}
	for _, src := range plan.Starter() {
		d, err := plan.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		current[d.Key] = src
	}
	// The lines as the starter plans of 1 December 2026 had them.
	old := map[string][][2]string{
		"phishing": {{"report to Report Fraud (Police Scotland on 101 in Scotland).", "report to Action Fraud."}},
		"ransomware": {
			{"- [Report Fraud: report cyber crime (England, Wales and Northern Ireland)](https://www.reportfraud.police.uk/)", "- [Action Fraud](https://www.actionfraud.police.uk/)"},
			{"Report to Report Fraud, 0300 123 2040 (Police Scotland on 101 in Scotland); law", "Report to Action Fraud (Police Scotland in Scotland); law"},
		},
		"unauthorised-access": {{"A crime: Report Fraud (Police Scotland in Scotland) or the police.", "A crime: Action Fraud or the police."}},
	}
	for key, subs := range old {
		src := current[key]
		installed := src
		for _, s := range subs {
			if !strings.Contains(installed, s[0]) {
				t.Fatalf("%s: the starter plan no longer has %q", key, s[0])
			}
			installed = strings.Replace(installed, s[0], s[1], 1)
		}
		got, why := plan.Revise(key, installed)
		if got != src || len(why) != 1 || !strings.Contains(why[0], "Report Fraud replaced Action Fraud") {
			t.Errorf("%s: revised to\n%s\nwhy %q; want the current starter plan", key, got, why)
		}
		if got, why := plan.Revise(key, src); got != src || why != nil {
			t.Errorf("%s: the current starter plan revised: %q", key, why)
		}
		// Edited elsewhere, the old line kept: that line only.
		edited := strings.Replace(installed, "## Learn", "## Learn\n### Call our bank's fraud line {#bank}\nOwner: lead\n0800 000 0000.", 1)
		got, _ = plan.Revise(key, edited)
		if want := strings.Replace(src, "## Learn", "## Learn\n### Call our bank's fraud line {#bank}\nOwner: lead\n0800 000 0000.", 1); got != want {
			t.Errorf("%s: an edited plan revised to\n%s", key, got)
		}
		if _, err := plan.Parse(got); err != nil {
			t.Errorf("%s: the revised plan does not parse: %v", key, err)
		}
		// Written on Windows: the line endings stay.
		crlf := strings.ReplaceAll(installed, "\n", "\r\n")
		if got, _ := plan.Revise(key, crlf); got != strings.ReplaceAll(src, "\n", "\r\n") {
			t.Errorf("%s: CRLF text revised to\n%q", key, got)
		}
		// The line someone changed is theirs; another plan's key, or a
		// plan of their own, is not a starter plan.
		for _, s := range subs {
			mine := strings.Replace(installed, s[1], strings.TrimSuffix(s[1], ".")+", and our bank.", 1)
			if got, _ := plan.Revise(key, mine); !strings.Contains(got, strings.TrimSuffix(s[1], ".")+", and our bank.") {
				t.Errorf("%s: a line someone edited was replaced", key)
			}
		}
		if got, why := plan.Revise("lost-device", installed); got != installed || why != nil {
			t.Errorf("%s: revised under another key", key)
		}
	}
}
