package vigil_test

import (
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestComputeMetricsDuties(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { t := now.Add(time.Duration(h) * time.Hour); return &t }
	duties := []*vigil.DutyFacts{
		{Status: vigil.ObligationSubmitted, DueAt: at(-10), SubmittedAt: at(-11)}, // on time
		{Status: vigil.ObligationSubmitted, DueAt: at(-10), SubmittedAt: at(-10)}, // on time: at the due time
		{Status: vigil.ObligationSubmitted, DueAt: at(-10), SubmittedAt: at(-9)},  // late
		{Status: vigil.ObligationSubmitted, SubmittedAt: at(-9)},                  // no deadline: on time
		{Status: vigil.ObligationPending, DueAt: at(-1)},                          // overdue
		{Status: vigil.ObligationPending, DueAt: at(5)},                           // pending
		{Status: vigil.ObligationPending},                                         // as soon as possible: pending
		{Status: vigil.ObligationPending, Register: true},                         // register entry
		{Status: vigil.ObligationNotRequired},
		{Status: vigil.ObligationWithdrawn}, // not counted
	}
	m := vigil.ComputeMetrics(nil, duties, now)
	want := vigil.DutyStats{Total: 9, OnTime: 3, Late: 1, Overdue: 1, Pending: 2, Waived: 1, Register: 1}
	if m.Duties != want {
		t.Errorf("duties = %+v, want %+v", m.Duties, want)
	}
	// Times out of order, or missing, give no figure.
	det, occ := now, now.Add(time.Hour)
	f := &vigil.IncidentFacts{CreatedAt: now, Category: 2, Times: vigil.IncidentTimes{DetectedAt: &det, OccurredAt: &occ}}
	if d := f.Durations(); len(d) != 0 {
		t.Errorf("durations = %v", d)
	}
	m = vigil.ComputeMetrics([]*vigil.IncidentFacts{f}, nil, now)
	if m.Overall[vigil.MetricDetect].N != 0 || m.By["category"][0].Key != "category 2" {
		t.Errorf("metrics = %+v", m)
	}
}
