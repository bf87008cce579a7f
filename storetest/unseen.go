package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testUnseenReferences: a visible incident marked a duplicate of, and
// linked to, a TLP:RED one must not show the RED one's reference or ID to
// those who may not see it — not on its timeline, not in duplicate_of —
// while those who may see both still do.
func testUnseenReferences(t *testing.T, open Opener) {
	s := open(t)
	lead, _ := MustCreateUser(t, s, vigil.RoleManager)
	other, _ := MustCreateUser(t, s, vigil.RoleResponder)
	red := MustCreateIncident(t, lead, s, &vigil.Incident{Title: "Board member's mailbox", TLP: vigil.TLPRed})
	dup := MustCreateIncident(t, lead, s, &vigil.Incident{Title: "Odd forwarding rule"})
	rel := MustCreateIncident(t, lead, s, &vigil.Incident{Title: "Same sender"})
	if _, err := s.Incidents.TransitionIncident(lead, dup.ID, vigil.Transition{To: vigil.StatusDuplicate, DuplicateOf: red.ID, Version: dup.Version}); err != nil {
		t.Fatal(err)
	}
	if err := s.Links.CreateLink(lead, &vigil.Link{IncidentID: rel.ID, TargetID: red.ID, Kind: vigil.LinkRelated}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Timeline.AddNote(lead, rel.ID, vigil.Note{Message: "Same zanzibarite actor as " + red.Reference + ", by the sender."}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		ctx  context.Context
		sees bool
	}{{"LeadSeesBoth", lead, true}, {"OtherSeesOne", other, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			got, err := s.Incidents.FindIncidentByID(ctx, dup.ID)
			if err != nil {
				t.Fatal(err)
			}
			if shown := got.DuplicateOf != nil && *got.DuplicateOf == red.ID; shown != tt.sees {
				t.Errorf("duplicate_of = %v, want shown %v", got.DuplicateOf, tt.sees)
			}
			page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, inc := range page.Items {
				if inc.ID == dup.ID && (inc.DuplicateOf != nil) != tt.sees {
					t.Errorf("listed duplicate_of = %v, want shown %v", inc.DuplicateOf, tt.sees)
				}
			}
			for _, id := range []int64{dup.ID, rel.ID} {
				tl, err := s.Timeline.FindTimeline(ctx, id, vigil.TimelineFilter{})
				if err != nil {
					t.Fatal(err)
				}
				var text strings.Builder
				for _, e := range tl.Items {
					text.WriteString(e.Message + "\n")
					for _, c := range e.Changes {
						if c.Field == "duplicate_of" && (c.To != nil) != tt.sees {
							t.Errorf("timeline change %+v, want the ID shown %v", c, tt.sees)
						}
					}
				}
				if strings.Contains(text.String(), red.Reference) != tt.sees {
					t.Errorf("timeline of %d names %s: %v, want %v:\n%s", id, red.Reference, !tt.sees, tt.sees, text.String())
				}
				if !tt.sees && id == dup.ID && !strings.Contains(text.String(), "an incident you cannot see") {
					t.Errorf("timeline of %d does not say an unseen incident was named:\n%s", id, text.String())
				}
			}
			// Search snippets quote notes: the same rule.
			hits, err := s.Search.Search(ctx, vigil.SearchQuery{Query: "zanzibarite"})
			if err != nil || len(hits) == 0 {
				t.Fatalf("search: %v, %d hits", err, len(hits))
			}
			if strings.Contains(hits[0].Snippet, red.Reference) != tt.sees {
				t.Errorf("search snippet %q, want the reference shown %v", hits[0].Snippet, tt.sees)
			}
			page, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "zanzibarite"})
			if err != nil {
				t.Fatal(err)
			}
			for _, snip := range page.Snippets {
				if strings.Contains(snip, red.Reference) != tt.sees {
					t.Errorf("list snippet %q, want the reference shown %v", snip, tt.sees)
				}
			}
		})
	}
}
