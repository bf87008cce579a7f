package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func testTimeline(t *testing.T, open Opener) {
	t.Run("Notes", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
		ctx, u := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		c.add(time.Minute)
		earlier := time.Date(2026, 6, 1, 3, 12, 0, 0, time.UTC)
		n, err := s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "  Attacker logged in from a VPN exit node.  ", At: &earlier})
		if err != nil {
			t.Fatal(err)
		}
		if n.Kind != vigil.KindNote || !n.At.Equal(earlier) || n.Message != "Attacker logged in from a VPN exit node." || *n.ActorID != u.ID {
			t.Errorf("note = %+v", n)
		}
		if !n.CreatedAt.Equal(c.now()) {
			t.Errorf("CreatedAt = %v, want now %v", n.CreatedAt, c.now())
		}
		page, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		// Ordered by event time: the 03:12 note comes before the 10:00 creation.
		if len(page.Items) != 2 || page.Items[0].ID != n.ID || page.Items[1].Kind != vigil.KindCreated {
			t.Errorf("timeline ascending = %+v", page.Items)
		}
		if got := MustFindIncident(t, ctx, s, inc.ID); got.Version != inc.Version+1 {
			t.Errorf("incident Version = %d, want %d after a note", got.Version, inc.Version+1)
		}
	})

	t.Run("ErrInvalidNote", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		_, err := s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "   "})
		wantField(t, err, "message")
		future := time.Now().Add(24 * time.Hour)
		_, err = s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "x", At: &future})
		wantField(t, err, "at")
		vctx, _ := MustCreateUser(t, s, vigil.RoleViewer)
		_, err = s.Timeline.AddNote(vctx, inc.ID, vigil.Note{Message: "x"})
		wantCode(t, err, vigil.EFORBIDDEN)
	})

	t.Run("KindsAndPages", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		for i := range 7 {
			if i%2 == 0 {
				c.add(time.Second)
			}
			if _, err := s.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: fmt.Sprintf("n%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		cursor := ""
		for {
			page, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindNote}, Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Items {
				got = append(got, e.Message)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		want := "[n6 n5 n4 n3 n2 n1 n0]"
		if fmt.Sprint(got) != want {
			t.Errorf("notes newest first = %v, want %s", got, want)
		}
		_, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Cursor: "%%%"})
		wantField(t, err, "cursor")
	})
}
