package reporting

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// IncidentInput is what an incident report is made from, read by the
// caller as the requesting user may see it.
type IncidentInput struct {
	Org         string // the organisation's name
	By          string // who asked for the report
	At          time.Time
	Location    *time.Location
	Incident    *vigil.Incident
	Lead        string
	Members     []*vigil.Member
	Timeline    []*vigil.TimelineEntry // oldest first
	Tasks       []*vigil.Task
	Observables []*vigil.Observable
	Duties      []*vigil.Obligation
	Evidence    []*vigil.Evidence
	Review      *vigil.Review // nil: no review yet
	Names       map[int64]string
}

// timelineKinds are the entries an incident report tells.
var timelineKinds = map[vigil.TimelineKind]bool{vigil.KindCreated: true, vigil.KindStatus: true, vigil.KindNote: true, vigil.KindDuty: true,
	vigil.KindSharing: true, vigil.KindEvidence: true, vigil.KindReview: true, vigil.KindExercise: true, vigil.KindAlert: true}

// Incident builds an incident report.
func Incident(in IncidentInput) *Doc {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	inc := in.Incident
	d := &Doc{Title: "Incident report: " + inc.Reference, Subtitle: inc.Title,
		Banner: "TLP:" + string(inc.TLP) + " — " + tlpRule(inc.TLP)}
	if inc.Exercise {
		d.Banner = "EXERCISE — not a real incident. " + d.Banner
	}
	org := in.Org
	if org == "" {
		org = "the organisation"
	}
	d.Footer = fmt.Sprintf("Written by Vigil for %s on %s, at the request of %s.", org, fmtTime(&in.At, loc), in.By)

	facts := &vigil.IncidentFacts{CreatedAt: inc.CreatedAt, Times: inc.Times}
	for _, e := range in.Timeline {
		for _, c := range e.Changes {
			if c.Field == "status" && c.From == string(vigil.StatusTriage) && facts.AcknowledgedAt == nil {
				t := e.At
				facts.AcknowledgedAt = &t
			}
		}
	}
	durs := facts.Durations()

	d.h("Executive summary")
	d.p(executiveSummary(inc, durs, in.Duties, in.Review))
	if inc.Summary != "" {
		d.p(inc.Summary)
	}

	d.h("Key facts")
	cat := "not set"
	if inc.Category > 0 {
		cat = fmt.Sprintf("%d", inc.Category)
	}
	d.facts([][2]string{{"Reference", inc.Reference}, {"Status", vigil.StatusLabel(inc.Status)}, {"Type", label(string(inc.Type))},
		{"Severity", label(string(inc.Severity))}, {"NCSC category", cat}, {"Significant", yesNo(inc.Significant)},
		{"Lead", orDash(in.Lead)}, {"Team", members(in.Members)}})

	d.h("Impact")
	services := "none recorded"
	if len(inc.AffectedServices) > 0 {
		services = strings.Join(inc.AffectedServices, ", ")
	}
	d.facts([][2]string{{"Personal data involved", yesNo(inc.PersonalData)}, {"Essential service affected", yesNo(inc.EssentialService)},
		{"Digital service substantially affected", yesNo(inc.DigitalServiceImpact)},
		{"Crime suspected", yesNo(inc.CrimeSuspected)}, {"Significant cyber threat", yesNo(inc.SignificantCyberThreat)}, {"Affected services", services}})

	d.h("Key times")
	t := inc.Times
	d.table([]string{"Moment", "When"}, [][]string{{"Occurred", fmtTime(t.OccurredAt, loc)}, {"Detected", fmtTime(t.DetectedAt, loc)},
		{"Reported", fmtTime(t.ReportedAt, loc)}, {"Aware", fmtTime(t.AwareAt, loc)}, {"Contained", fmtTime(t.ContainedAt, loc)},
		{"Recovered", fmtTime(t.RecoveredAt, loc)}, {"Closed", fmtTime(t.ClosedAt, loc)}})
	var rows [][]string
	for _, m := range vigil.MetricNames {
		if v, ok := durs[m]; ok {
			rows = append(rows, []string{label(m), fmtDur(v)})
		}
	}
	if len(rows) > 0 {
		d.table([]string{"Measure", "Time"}, rows)
	}

	d.h("Timeline")
	rows = nil
	for _, e := range in.Timeline {
		if timelineKinds[e.Kind] {
			rows = append(rows, []string{fmtTime(&e.At, loc), e.ActorName, e.Message})
		}
	}
	if len(rows) > 300 {
		rows = append(rows[:299], []string{"", "", fmt.Sprintf("… and %d more entries in Vigil.", len(rows)-299)})
	}
	if len(rows) == 0 {
		d.empty("No entries.")
	} else {
		d.table([]string{"When", "Who", "What"}, rows)
	}

	d.h("Actions")
	rows = nil
	for _, tk := range in.Tasks {
		who := ""
		if tk.AssigneeID != nil {
			who = in.Names[*tk.AssigneeID]
		}
		rows = append(rows, []string{tk.Title, label(string(tk.Phase)), label(string(tk.Status)), orDash(who)})
	}
	if len(rows) == 0 {
		d.empty("No tasks were recorded.")
	} else {
		d.table([]string{"Task", "Phase", "Status", "Owner"}, rows)
	}

	d.h("Reporting duties and submissions")
	rows = nil
	for _, o := range in.Duties {
		name := o.Title
		if o.StageName != "" {
			name += " — " + o.StageName
		}
		rows = append(rows, []string{name, orDash(o.Authority), fmtTime(o.DueAt, loc), label(string(o.Status)), fmtTime(o.SubmittedAt, loc), orDash(o.Reference)})
	}
	if len(rows) == 0 {
		d.empty("No reporting duty arose.")
	} else {
		d.table([]string{"Duty", "Authority", "Due", "Status", "Submitted", "Reference"}, rows)
	}

	var iocs [][]string
	for _, o := range in.Observables {
		if o.IOC {
			// Defanged, so no viewer of any format makes it a live link.
			iocs = append(iocs, []string{string(o.Type), vigil.Defang(o.Type, o.Value), "TLP:" + string(o.TLP)})
		}
	}
	if len(iocs) > 0 {
		d.h("Indicators of compromise")
		d.table([]string{"Type", "Value", "TLP"}, iocs)
	}

	d.h("Evidence")
	rows = nil
	for _, e := range in.Evidence {
		state := string(e.Integrity)
		if e.DeletedAt != nil {
			state = "deleted"
		}
		rows = append(rows, []string{e.Name, e.SHA256, orDash(strings.TrimSpace(e.CollectedBy + " " + e.CollectedFrom)), state})
	}
	if len(rows) == 0 {
		d.empty("No evidence was kept in Vigil.")
	} else {
		d.table([]string{"File", "SHA-256", "Collected by / from", "Integrity"}, rows)
	}

	d.h("Lessons")
	if rv := in.Review; rv == nil {
		d.empty("The post-incident review has not started.")
	} else {
		state := "open"
		if rv.Status == vigil.ReviewClosed {
			state = "closed " + fmtTime(rv.ClosedAt, loc) + " by " + rv.ClosedBy
		}
		d.facts([][2]string{{"Review", state}, {"Root cause", orDash(rv.RootCause)}, {"Contributing factors", orDash(rv.Contributing)},
			{"What went well", orDash(rv.WentWell)}, {"What to improve", orDash(rv.ToImprove)}})
		rows = nil
		for _, a := range rv.Actions {
			plan := ""
			if a.PlanID != nil {
				plan = a.PlanTitle + ": " + a.PlanChange
				if a.AdoptedVersion > 0 {
					plan += fmt.Sprintf(" (adopted in version %d)", a.AdoptedVersion)
				}
			}
			who := ""
			if a.Task.AssigneeID != nil {
				who = in.Names[*a.Task.AssigneeID]
			}
			rows = append(rows, []string{a.Task.Title, orDash(who), fmtTime(a.Task.DueAt, loc), label(string(a.Task.Status)), orDash(plan)})
		}
		if len(rows) > 0 {
			d.table([]string{"Action item", "Owner", "Due", "Status", "Plan change"}, rows)
		}
	}
	return d
}

func executiveSummary(inc *vigil.Incident, durs map[string]time.Duration, duties []*vigil.Obligation, rv *vigil.Review) string {
	var b strings.Builder
	kind := "incident"
	if inc.Exercise {
		kind = "exercise"
	}
	fmt.Fprintf(&b, "%s (%s) is a %s-severity %s %s", inc.Reference, inc.Title, inc.Severity, label(string(inc.Type)), kind)
	if inc.Significant {
		b.WriteString(", flagged as significant")
	}
	fmt.Fprintf(&b, "; its status is %s.", strings.ToLower(vigil.StatusLabel(inc.Status)))
	var phrases []string
	for _, s := range []struct{ metric, text string }{{vigil.MetricDetect, "detected %s after it began"},
		{vigil.MetricContain, "contained %s after detection"}, {vigil.MetricRecover, "recovered %s after detection"}} {
		if v, ok := durs[s.metric]; ok {
			phrases = append(phrases, fmt.Sprintf(s.text, fmtDur(v)))
		}
	}
	if len(phrases) > 0 {
		b.WriteString(" It was " + strings.Join(phrases, ", ") + ".")
	}
	var impacts []string
	if inc.PersonalData {
		impacts = append(impacts, "personal data was involved")
	}
	if inc.EssentialService {
		impacts = append(impacts, "an essential service was affected")
	}
	if inc.CrimeSuspected {
		impacts = append(impacts, "a crime is suspected")
	}
	if len(impacts) > 0 {
		b.WriteString(" " + upperFirst(strings.Join(impacts, "; ")) + ".")
	}
	sent, open := 0, 0
	for _, o := range duties {
		switch o.Status {
		case vigil.ObligationSubmitted:
			sent++
		case vigil.ObligationPending:
			open++
		}
	}
	if sent+open > 0 {
		fmt.Fprintf(&b, " Reporting duties: %d submitted, %d outstanding.", sent, open)
	}
	if rv != nil && rv.RootCause != "" {
		b.WriteString(" Root cause: " + rv.RootCause)
		if !strings.HasSuffix(rv.RootCause, ".") {
			b.WriteString(".")
		}
	}
	return b.String()
}

func members(ms []*vigil.Member) string {
	var out []string
	for _, m := range ms {
		name := m.Name
		if name == "" {
			name = m.Username
		}
		out = append(out, fmt.Sprintf("%s (%s)", name, m.Role))
	}
	if len(out) == 0 {
		return "—"
	}
	return strings.Join(out, ", ")
}

func tlpRule(t vigil.TLP) string {
	switch t {
	case vigil.TLPClear:
		return "may be shared freely."
	case vigil.TLPGreen:
		return "may be shared within the community, not publicly."
	case vigil.TLPAmber:
		return "within the organisation and its clients, on a need-to-know basis."
	case vigil.TLPAmberStrict:
		return "within the organisation only, on a need-to-know basis."
	}
	return "for the named recipients only; do not pass it on."
}

func label(s string) string { return upperFirst(strings.ReplaceAll(s, "_", " ")) }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
