package storetest

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func testObservable(t *testing.T, open Opener) {
	t.Run("AddNormalisedAndDeduplicated", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		obs, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{
			{Type: vigil.ObsDomain, Value: "Evil.Example.COM.", IOC: true},
			{Type: vigil.ObsIPv6, Value: "2001:DB8:0:0:0:0:0:1"},
			{Type: vigil.ObsHash, Value: "D41D8CD98F00B204E9800998ECF8427E"},
			{Type: vigil.ObsDomain, Value: "evil.example.com"}, // the same as the first
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) != 4 || obs[0].ID != obs[3].ID {
			t.Fatalf("AddObservables returned %d, want 4 with the duplicate the same row", len(obs))
		}
		want := map[vigil.ObservableType]string{vigil.ObsDomain: "evil.example.com", vigil.ObsIPv6: "2001:db8::1", vigil.ObsMD5: "d41d8cd98f00b204e9800998ecf8427e"}
		for _, o := range obs {
			if want[o.Type] != o.Value {
				t.Errorf("%s = %q, want %q", o.Type, o.Value, want[o.Type])
			}
		}
		again, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsDomain, Value: "EVIL.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if again[0].ID != obs[0].ID || !again[0].IOC {
			t.Errorf("re-adding returned %+v, want the existing IOC row %d", again[0], obs[0].ID)
		}
		list, err := s.Observables.FindObservables(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Errorf("FindObservables = %d, want 3", len(list))
		}
	})

	t.Run("ErrInvalidAddsNothing", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		_, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{
			{Type: vigil.ObsIPv4, Value: "10.0.0.1"},
			{Type: vigil.ObsIPv4, Value: "10.0.0.300"},
			{Type: vigil.ObsEmail, Value: "not an address"},
		})
		wantField(t, err, "observables[1].value")
		wantField(t, err, "observables[2].value")
		list, err := s.Observables.FindObservables(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 {
			t.Errorf("FindObservables = %d after a refused batch, want 0", len(list))
		}
	})

	t.Run("SeenAcrossIncidents", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		first := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "First"})
		second := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Second"})
		third := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Third"})
		for _, inc := range []*vigil.Incident{first, second, third} {
			if _, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsURL, Value: "HTTP://Login.Example.com:80/a%7e"}}); err != nil {
				t.Fatal(err)
			}
		}
		obs, err := s.Observables.FindObservables(ctx, third.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) != 1 || obs[0].SeenCount != 2 || len(obs[0].SeenIn) != 2 || obs[0].SeenIn[0].ID != second.ID {
			t.Fatalf("seen = %+v, want in second then first", obs[0])
		}
		refs, err := s.Observables.FindSightings(ctx, vigil.ObsURL, "http://login.example.com/a~", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 3 {
			t.Errorf("FindSightings = %d, want 3", len(refs))
		}
		_, err = s.Observables.FindSightings(ctx, vigil.ObsIPv4, "nope", 10)
		wantField(t, err, "value")
	})

	t.Run("UpdateAndDelete", func(t *testing.T) {
		s := open(t)
		ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		inc := MustCreateIncident(t, ctx, s, &vigil.Incident{})
		obs, err := s.Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "198.51.100.7"}})
		if err != nil {
			t.Fatal(err)
		}
		o := obs[0]
		up, err := s.Observables.UpdateObservable(ctx, o.ID, vigil.ObservableUpdate{IOC: ptr(true), TLP: ptr(vigil.TLPGreen), Version: o.Version})
		if err != nil {
			t.Fatal(err)
		}
		if !up.IOC || up.TLP != vigil.TLPGreen || up.Version != 2 {
			t.Errorf("updated = %+v", up)
		}
		_, err = s.Observables.UpdateObservable(ctx, o.ID, vigil.ObservableUpdate{IOC: ptr(false), Version: o.Version})
		wantCode(t, err, vigil.ECONFLICT)
		if err := s.Observables.DeleteObservable(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Observables.FindObservableByID(ctx, o.ID)
		wantCode(t, err, vigil.ENOTFOUND)
		hits, err := s.Search.Search(ctx, vigil.SearchQuery{Query: "198.51.100.7"})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.Kind == vigil.SearchObservable {
				t.Errorf("a deleted observable is still found by search")
			}
		}
	})
}
