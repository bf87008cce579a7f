package storetest

import (
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// testMetrics seeds a history whose metrics are worked out by hand in the
// comments, and checks the store computes the same.
func testMetrics(t *testing.T, open Opener) {
	s := open(t)
	at := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, time.UTC) }
	clk := newClock(s, at(2, 9, 0))
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	move := func(inc *vigil.Incident, when time.Time, to vigil.Status) *vigil.Incident {
		t.Helper()
		clk.set(when)
		return moveTo(t, s, mgr, MustFindIncident(t, mgr, s, inc.ID), to)
	}
	// A: occurred 08:00, detected 09:00 (detect 1 h), out of triage 09:30
	// (acknowledge 30 min), contained 11:00 (2 h), recovered 15:00 (6 h),
	// closed next day 09:00 (24 h). Personal data: the ICO duty, submitted
	// on time.
	occA, detA := at(2, 8, 0), at(2, 9, 0)
	a := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "A", Type: vigil.TypePhishing, Severity: vigil.SeverityHigh, PersonalData: true,
		Times: vigil.IncidentTimes{OccurredAt: &occA, DetectedAt: &detA}})
	a = move(a, at(2, 9, 30), vigil.StatusConfirmed)
	a = move(a, at(2, 11, 0), vigil.StatusContained)
	a = move(a, at(2, 15, 0), vigil.StatusRecovered)
	duties, err := s.Duties.FindObligations(mgr, a.ID)
	if err != nil || len(duties) == 0 {
		t.Fatalf("duties of A: %v %d", err, len(duties))
	}
	for _, d := range duties {
		if !d.Register && d.Status == vigil.ObligationPending {
			if _, err := s.Duties.SubmitObligation(mgr, d.ID, vigil.Submission{Reference: "ICO-1", Text: "Reported.", Version: d.Version}); err != nil {
				t.Fatal(err)
			}
		}
	}
	a = move(a, at(3, 9, 0), vigil.StatusClosed)
	// B: occurred a day before its detection (detect 24 h), acknowledged
	// 2 h after, contained 4 h after; still open.
	clk.set(at(10, 10, 0))
	occB := at(9, 10, 0)
	b := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "B", Type: vigil.TypePhishing, Severity: vigil.SeverityLow, Times: vigil.IncidentTimes{OccurredAt: &occB}})
	b = move(b, at(10, 12, 0), vigil.StatusConfirmed)
	move(b, at(10, 14, 0), vigil.StatusContained)
	// C: opened confirmed (acknowledged as created), contained 1 h later,
	// a recurrence of A.
	clk.set(at(20, 0, 0))
	c := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "C", Type: vigil.TypeMalware, Severity: vigil.SeverityHigh, Status: vigil.StatusConfirmed})
	move(c, at(20, 1, 0), vigil.StatusContained)
	if err := s.Links.CreateLink(mgr, &vigil.Link{IncidentID: c.ID, TargetID: a.ID, Kind: vigil.LinkRecurrenceOf}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		if _, err := s.Observables.AddObservables(mgr, id, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.9"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Outside the figures: an exercise, and an incident from October.
	MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Exercise", Exercise: true, Type: vigil.TypePhishing})
	clk.set(time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC))
	MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "October", Type: vigil.TypePhishing})
	clk.set(at(30, 12, 0))

	m, facts, err := s.Metrics.IncidentMetrics(mgr, vigil.MetricsFilter{From: at(1, 0, 0), To: at(30, 23, 59)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Incidents != 3 || len(facts) != 3 {
		t.Fatalf("incidents: %d", m.Incidents)
	}
	h := 3600.0
	for name, want := range map[string]vigil.Stat{
		// detect: 1 h, 24 h -> median (nearest rank) 1 h, mean 12.5 h, p90 24 h
		vigil.MetricDetect: {N: 2, Mean: 12.5 * h, Median: h, P90: 24 * h, Max: 24 * h},
		// acknowledge: 0, 30 min, 2 h -> median 30 min, mean 50 min
		vigil.MetricAcknowledge: {N: 3, Mean: 3000, Median: 1800, P90: 2 * h, Max: 2 * h},
		// contain: 1 h, 2 h, 4 h -> median 2 h, mean 2 h 20 min
		vigil.MetricContain: {N: 3, Mean: 8400, Median: 2 * h, P90: 4 * h, Max: 4 * h},
		vigil.MetricRecover: {N: 1, Mean: 6 * h, Median: 6 * h, P90: 6 * h, Max: 6 * h},
		vigil.MetricClose:   {N: 1, Mean: 24 * h, Median: 24 * h, P90: 24 * h, Max: 24 * h},
	} {
		if got := m.Overall[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	types := map[string]vigil.MetricGroup{}
	for _, g := range m.By["type"] {
		types[g.Key] = g
	}
	if types["phishing"].Incidents != 2 || types["malware"].Incidents != 1 || types["phishing"].Stats[vigil.MetricContain].Median != 2*h {
		t.Errorf("by type: %+v", m.By["type"])
	}
	if len(m.By["month"]) != 1 || m.By["month"][0].Key != "2026-11" {
		t.Errorf("by month: %+v", m.By["month"])
	}
	if m.Duties.Total == 0 || m.Duties.OnTime == 0 || m.Duties.Late != 0 || m.Duties.Overdue != 0 {
		t.Errorf("duties: %+v", m.Duties)
	}
	if m.Recurrences != 1 || m.RepeatedObservables != 1 {
		t.Errorf("recurrence: %d links, %d repeated values", m.Recurrences, m.RepeatedObservables)
	}
	// Exercises are counted only when asked for.
	x, _, err := s.Metrics.IncidentMetrics(mgr, vigil.MetricsFilter{From: at(1, 0, 0), To: at(30, 23, 59), Exercises: true})
	if err != nil || x.Incidents != 1 || x.Duties.Total != 0 {
		t.Errorf("exercises: %v %+v", err, x)
	}
}
