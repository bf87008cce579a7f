package storetest

import (
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

func testSearch(t *testing.T, open Opener) {
	s := open(t)
	ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	ransom := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Ransomware on the file server", Summary: "Ransomware encrypted the shares overnight; ransom note left in every folder."})
	phish := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Phishing campaign against payroll", Summary: "Credential harvesting page impersonating the HR portal <script>."})
	if _, err := s.Timeline.AddNote(ctx, phish.ID, vigil.Note{Message: "Blocked the harvesting domain at the proxy; the ransomware gang is unrelated."}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Observables.AddObservables(ctx, ransom.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "192.0.2.45", Description: "C2 server"}}); err != nil {
		t.Fatal(err)
	}

	t.Run("IncidentsByRelevance", func(t *testing.T) {
		page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "ransomware"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 2 || page.Items[0].ID != ransom.ID {
			t.Fatalf("results = %v, want the ransomware incident first, then the one whose note mentions it", refs(page.Items))
		}
		if s := page.Snippets[ransom.ID]; !strings.Contains(s, "<mark>Ransomware</mark>") {
			t.Errorf("snippet = %q, want the match marked", s)
		}
		if s := page.Snippets[phish.ID]; !strings.Contains(s, "<mark>ransomware</mark>") {
			t.Errorf("snippet of the note hit = %q", s)
		}
	})

	t.Run("Stemming", func(t *testing.T) {
		page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "encrypting"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != ransom.ID {
			t.Errorf("encrypting found %v, want the ransomware incident (encrypted)", refs(page.Items))
		}
	})

	t.Run("PrefixAndAllWords", func(t *testing.T) {
		page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "payroll camp"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != phish.ID {
			t.Errorf("results = %v, want the phishing incident", refs(page.Items))
		}
		page, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "payroll ransom "})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 0 {
			t.Errorf("every word must match: got %v", refs(page.Items))
		}
	})

	t.Run("Observables", func(t *testing.T) {
		hits, err := s.Search.Search(ctx, vigil.SearchQuery{Query: "192.0.2.45"})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].Kind != vigil.SearchObservable || hits[0].Incident.ID != ransom.ID {
			t.Fatalf("hits = %+v, want the observable on the ransomware incident", hits)
		}
		if !strings.Contains(hits[0].Snippet, "<mark>192.0.2.45</mark>") {
			t.Errorf("snippet = %q", hits[0].Snippet)
		}
	})

	t.Run("KindsAndEscaping", func(t *testing.T) {
		hits, err := s.Search.Search(ctx, vigil.SearchQuery{Query: "harvesting", Kinds: []vigil.SearchKind{vigil.SearchNote}})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].Kind != vigil.SearchNote {
			t.Errorf("note hits = %+v, want 1", hits)
		}
		hits, err = s.Search.Search(ctx, vigil.SearchQuery{Query: "portal"})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || strings.Contains(hits[0].Snippet, "<script>") || !strings.Contains(hits[0].Snippet, "&lt;script&gt;") {
			t.Errorf("snippet must escape HTML: %+v", hits)
		}
		// Query syntax of either engine is just text to Vigil.
		for _, q := range []string{`"unbalanced`, `AND OR NOT`, `a*b`, `title:x`, `(x`, `'; DROP TABLE incidents; --`, `ransom* -payroll`, `!!!`, `NEAR(a b)`, `x:*`} {
			if _, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: q}); err != nil {
				t.Errorf("FindIncidents(%q): %v", q, err)
			}
			if _, err := s.Search.Search(ctx, vigil.SearchQuery{Query: q}); err != nil {
				t.Errorf("Search(%q): %v", q, err)
			}
			if _, err := s.Incidents.CountIncidents(ctx, vigil.IncidentFilter{Query: q}); err != nil {
				t.Errorf("CountIncidents(%q): %v", q, err)
			}
		}
	})

	t.Run("FollowsUpdates", func(t *testing.T) {
		inc := MustFindIncident(t, ctx, s, phish.ID)
		if _, err := s.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Title: ptr("Smishing wave against payroll"), Version: inc.Version}); err != nil {
			t.Fatal(err)
		}
		page, err := s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "smishing"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 {
			t.Errorf("found %d incidents for the new title, want 1", len(page.Items))
		}
		page, err = s.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Query: "\"phishing campaign\""})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 0 {
			t.Errorf("the old title is still found")
		}
	})
}
