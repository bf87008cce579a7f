package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
)

func refs(items []*vigil.Incident) []string {
	out := make([]string, len(items))
	for i, inc := range items {
		out[i] = inc.Title
	}
	return out
}

func testList(t *testing.T, open Opener) {
	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleManager)
		_, lead := MustCreateUser(t, s, vigil.RoleResponder)
		mk := func(title string, inc vigil.Incident) *vigil.Incident {
			c.add(time.Minute)
			inc.Title = title
			return MustCreateIncident(t, ctx, s, &inc)
		}
		mk("a", vigil.Incident{Type: vigil.TypePhishing, Severity: vigil.SeverityLow, TLP: vigil.TLPGreen})
		mk("b", vigil.Incident{Type: vigil.TypeMalware, Severity: vigil.SeverityHigh, Category: 4, LeadID: &lead.ID})
		mk("c", vigil.Incident{Type: vigil.TypeRansomware, Severity: vigil.SeverityCritical, Category: 2, Status: vigil.StatusConfirmed})
		mk("d", vigil.Incident{Type: vigil.TypePhishing, Severity: vigil.SeverityMedium, Exercise: true, Source: vigil.SourceStaffReport})
		e := mk("e", vigil.Incident{Type: vigil.TypeDataBreach, Severity: vigil.SeverityHigh, TLP: vigil.TLPAmberStrict})
		if _, err := s.Incidents.TransitionIncident(ctx, e.ID, vigil.Transition{To: vigil.StatusNotIncident, Reason: "Test mail", Version: e.Version}); err != nil {
			t.Fatal(err)
		}
		cutoff := time.Date(2026, 4, 1, 12, 3, 30, 0, time.UTC) // between c and d
		tests := []struct {
			name string
			f    vigil.IncidentFilter
			want []string
		}{
			{"All", vigil.IncidentFilter{}, []string{"e", "d", "c", "b", "a"}},
			{"Status", vigil.IncidentFilter{Status: []vigil.Status{vigil.StatusTriage}}, []string{"d", "b", "a"}},
			{"StatusMany", vigil.IncidentFilter{Status: []vigil.Status{vigil.StatusConfirmed, vigil.StatusNotIncident}}, []string{"e", "c"}},
			{"Severity", vigil.IncidentFilter{Severity: []vigil.Severity{vigil.SeverityHigh}}, []string{"e", "b"}},
			{"Type", vigil.IncidentFilter{Type: []vigil.IncidentType{vigil.TypePhishing}}, []string{"d", "a"}},
			{"Category", vigil.IncidentFilter{Category: []int{2, 4}}, []string{"c", "b"}},
			{"TLP", vigil.IncidentFilter{TLP: []vigil.TLP{vigil.TLPAmberStrict, vigil.TLPGreen}}, []string{"e", "a"}},
			{"Lead", vigil.IncidentFilter{LeadID: &lead.ID}, []string{"b"}},
			{"Unassigned", vigil.IncidentFilter{Unassigned: true, Type: []vigil.IncidentType{vigil.TypeMalware}}, nil},
			{"Significant", vigil.IncidentFilter{Significant: ptr(true)}, []string{"c"}},
			{"Exercise", vigil.IncidentFilter{Exercise: ptr(true)}, []string{"d"}},
			{"Source", vigil.IncidentFilter{Source: []vigil.Source{vigil.SourceStaffReport}}, []string{"d"}},
			{"Open", vigil.IncidentFilter{Open: ptr(true)}, []string{"d", "c", "b", "a"}},
			{"Closed", vigil.IncidentFilter{Open: ptr(false)}, []string{"e"}},
			{"CreatedAfter", vigil.IncidentFilter{CreatedAfter: &cutoff}, []string{"e", "d"}},
			{"CreatedBefore", vigil.IncidentFilter{CreatedBefore: &cutoff}, []string{"c", "b", "a"}},
			{"SortAsc", vigil.IncidentFilter{Sort: vigil.SortCreatedAsc}, []string{"a", "b", "c", "d", "e"}},
			{"SortSeverity", vigil.IncidentFilter{Sort: vigil.SortSeverityDesc}, []string{"c", "e", "b", "d", "a"}},
			{"SortUpdated", vigil.IncidentFilter{Sort: vigil.SortUpdatedDesc, Limit: 1}, []string{"e"}},
			{"Combined", vigil.IncidentFilter{Type: []vigil.IncidentType{vigil.TypePhishing}, Severity: []vigil.Severity{vigil.SeverityLow}}, []string{"a"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := s.Incidents.FindIncidents(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				got := refs(page.Items)
				if len(got) == 0 {
					got = nil
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("FindIncidents (-want +got):\n%s", diff)
				}
				f := tt.f
				f.Limit = 0
				n, err := s.Incidents.CountIncidents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if tt.f.Limit == 0 && n != len(tt.want) {
					t.Errorf("CountIncidents = %d, want %d", n, len(tt.want))
				}
			})
		}
	})

	t.Run("PaginationSeesEachIncidentOnce", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		sevs := vigil.Severities
		for i := range 23 {
			if i%5 != 0 { // several incidents share a created_at: id breaks the tie
				c.add(time.Second)
			}
			MustCreateIncident(t, ctx, s, &vigil.Incident{Title: fmt.Sprintf("i%02d", i), Severity: sevs[i%4]})
		}
		for _, sort := range []vigil.IncidentSort{vigil.SortCreatedDesc, vigil.SortCreatedAsc, vigil.SortSeverityDesc, vigil.SortSeverityAsc, vigil.SortUpdatedAsc} {
			t.Run(string(sort), func(t *testing.T) {
				all, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Sort: sort, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				var paged []string
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("pagination does not end")
					}
					page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Sort: sort, Limit: 4, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, refs(page.Items)...)
					if page.NextCursor == "" {
						break
					}
					cursor = page.NextCursor
					// An incident created mid-way appears at the new end
					// of a newest-first list, never twice or in the middle.
					if pages == 1 && sort == vigil.SortCreatedAsc {
						c.add(time.Hour)
						MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "late"})
					}
				}
				want := refs(all.Items)
				if sort == vigil.SortCreatedAsc {
					want = append(want, "late")
				}
				if diff := cmp.Diff(want, paged); diff != "" {
					t.Errorf("paged (-one page +many pages):\n%s", diff)
				}
			})
		}
	})

	t.Run("ErrBadFilter", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		_, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Cursor: "garbage!"})
		wantField(t, err, "cursor")
		_, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Limit: vigil.MaxPageSize + 1})
		wantField(t, err, "limit")
		_, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Status: []vigil.Status{"nope"}})
		wantField(t, err, "status")
		_, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Sort: vigil.SortRelevance})
		wantField(t, err, "sort")
		// A cursor from one sort order is refused by another.
		for range 3 {
			MustCreateIncident(t, ctx, s, &vigil.Incident{})
		}
		page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Limit: 1, Sort: vigil.SortSeverityAsc, Cursor: page.NextCursor})
		wantField(t, err, "cursor")
	})
}
