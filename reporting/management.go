package reporting

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-ir/vigil"
)

// ManagementInput is what a periodic management report is made from.
type ManagementInput struct {
	Org      string
	By       string
	At       time.Time
	Location *time.Location
	Period   string // "November 2026", "Q4 2026", or the dates
	Metrics  *vigil.Metrics
	Facts    []*vigil.IncidentFacts
	// Readiness is the preparedness assessment at the time of the report.
	Readiness []vigil.ReadinessItem
}

func secs(s float64) string { return fmtDur(time.Duration(s * float64(time.Second))) }

// Management builds a management report.
func Management(in ManagementInput) *Doc {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	m := in.Metrics
	org := in.Org
	if org == "" {
		org = "the organisation"
	}
	// Marked as its most restricted incident, and never below AMBER: it
	// describes the organisation's incidents.
	tlp := vigil.TLPAmber
	for _, f := range in.Facts {
		if f.TLP.Rank() > tlp.Rank() {
			tlp = f.TLP
		}
	}
	d := &Doc{Title: "Incident management report", Subtitle: in.Period, Banner: "TLP:" + string(tlp) + " — " + tlpRule(tlp),
		Footer: fmt.Sprintf("Written by Vigil for %s on %s, at the request of %s. Figures come from each incident's own history.", org, fmtTime(&in.At, loc), in.By)}
	d.h("Summary")
	sev := map[vigil.Severity]int{}
	for _, f := range in.Facts {
		sev[f.Severity]++
	}
	d.p(fmt.Sprintf("%s opened in the period: %d critical, %d high, %d medium, %d low. Exercises are not counted.",
		plural(m.Incidents, "incident"), sev[vigil.SeverityCritical], sev[vigil.SeverityHigh], sev[vigil.SeverityMedium], sev[vigil.SeverityLow]))
	du := m.Duties
	if du.Total > 0 {
		d.p(fmt.Sprintf("Reporting duties: %d met on time, %d late, %d overdue, %d still to do, %d not required.", du.OnTime, du.Late, du.Overdue, du.Pending, du.Waived))
	} else {
		d.p("No reporting duty arose.")
	}
	d.p(fmt.Sprintf("Recurrence: %s linked as a recurrence of an earlier one; %s seen in more than one incident.",
		plural(m.Recurrences, "incident"), plural(m.RepeatedObservables, "observable value")))

	d.h("How quickly")
	var rows [][]string
	for _, name := range vigil.MetricNames {
		st := m.Overall[name]
		if st.N == 0 {
			rows = append(rows, []string{label(name), "0", "—", "—"})
			continue
		}
		rows = append(rows, []string{label(name), strconv.Itoa(st.N), secs(st.Median), secs(st.P90)})
	}
	d.table([]string{"Measure", "Incidents", "Median", "90th percentile"}, rows)

	for _, dim := range []string{"type", "severity"} {
		d.h("By " + dim)
		rows = nil
		for _, g := range m.By[dim] {
			c := g.Stats[vigil.MetricContain]
			med := "—"
			if c.N > 0 {
				med = secs(c.Median)
			}
			rows = append(rows, []string{label(g.Key), strconv.Itoa(g.Incidents), med})
		}
		if len(rows) == 0 {
			d.empty("No incidents.")
		} else {
			d.table([]string{label(dim), "Incidents", "Median time to contain"}, rows)
		}
	}

	d.h("Incidents")
	rows = nil
	for _, f := range in.Facts {
		created := f.CreatedAt
		rows = append(rows, []string{f.Reference, label(string(f.Type)), label(string(f.Severity)), fmtTime(&created, loc)})
	}
	if len(rows) == 0 {
		d.empty("None.")
	} else {
		d.table([]string{"Reference", "Type", "Severity", "Opened"}, rows)
	}

	if len(in.Readiness) > 0 {
		d.h("Preparedness")
		ok, due, missing := 0, 0, 0
		rows = nil
		for _, it := range in.Readiness {
			switch it.State {
			case vigil.ReadyOK:
				ok++
				continue
			case vigil.ReadyDue:
				due++
			default:
				missing++
			}
			rows = append(rows, []string{label(it.Area), it.Title, it.Detail})
		}
		d.p(fmt.Sprintf("%d of %d things the NCSC's 10 Steps ask for are in place and current; %d need attention and %d are missing.", ok, len(in.Readiness), due, missing))
		if len(rows) > 0 {
			d.table([]string{"Area", "What", "Detail"}, rows)
		}
	}
	return d
}
