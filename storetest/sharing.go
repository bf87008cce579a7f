package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// stixObj makes an incoming indicator with a version and a TLP.
func stixObj(n int, version time.Time, tlp vigil.TLP) *vigil.IncomingObject {
	id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n)
	raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '10.0.0.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
		id, version.UTC().Format("2006-01-02T15:04:05.000Z"), n%250)
	return &vigil.IncomingObject{Raw: []byte(raw), ID: id, Type: "indicator", SpecVersion: "2.1", Version: version, TLP: tlp}
}

func ids(p *vigil.ObjectPage) []string {
	var out []string
	for _, o := range p.Objects {
		out = append(out, o.ID+"@"+o.Version.UTC().Format("15:04"))
	}
	return out
}

func testSharing(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	resp, _ := MustCreateUser(t, s, vigil.RoleResponder)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	reporter, _ := MustCreateUser(t, s, vigil.RoleReporter)

	sector := &vigil.Collection{Title: "Sector IOCs"}
	private := &vigil.Collection{Title: "Internal"}
	if err := s.Sharing.CreateCollection(resp, sector); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("responder creates a collection: %v", err)
	}
	for _, c := range []*vigil.Collection{sector, private} {
		if err := s.Sharing.CreateCollection(admin, c); err != nil {
			t.Fatal(err)
		}
	}
	// Partners: green reads the sector collection at GREEN; amber reads and
	// writes it at AMBER; writer may only write.
	mk := func(name string, tlp vigil.TLP, acc ...vigil.CollectionAccess) (context.Context, *vigil.Partner, string) {
		p := &vigil.Partner{Name: name, MaxTLP: tlp, Access: acc}
		tok, err := s.Sharing.CreatePartner(admin, p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Sharing.AuthenticatePartner(context.Background(), name, tok)
		if err != nil {
			t.Fatal(err)
		}
		return vigil.NewContextWithActor(context.Background(), a), p, tok
	}
	green, _, _ := mk("green-bank", vigil.TLPGreen, vigil.CollectionAccess{CollectionID: sector.ID, Read: true})
	amber, amberP, amberTok := mk("amber-cert", vigil.TLPAmber, vigil.CollectionAccess{CollectionID: sector.ID, Read: true, Write: true})
	writer, _, _ := mk("writer", vigil.TLPGreen, vigil.CollectionAccess{CollectionID: sector.ID, Write: true})
	if _, err := s.Sharing.CreatePartner(admin, &vigil.Partner{Name: "greedy", MaxTLP: vigil.TLPRed}); !hasField(err, "max_tlp") {
		t.Errorf("a partner cleared for RED: %v", err)
	}
	if _, err := s.Sharing.CreatePartner(admin, &vigil.Partner{Name: "lost", Access: []vigil.CollectionAccess{{CollectionID: "nope", Read: true}}}); !hasField(err, "access") {
		t.Errorf("access to no collection: %v", err)
	}

	// One object at each TLP, and one unmarked.
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var objs []*vigil.IncomingObject
	for i, tlp := range []vigil.TLP{vigil.TLPClear, vigil.TLPGreen, vigil.TLPAmber, vigil.TLPAmberStrict, vigil.TLPRed, ""} {
		objs = append(objs, stixObj(i+1, t0, tlp))
	}
	bad := &vigil.IncomingObject{ID: "indicator--x", Err: fmt.Errorf("id is not a UUID")}
	st, err := s.Sharing.AddObjects(admin, sector.ID, append(objs, bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != vigil.StatusComplete || st.TotalCount != 7 || st.SuccessCount != 6 || st.FailureCount != 1 || st.Failures[0].Message != "id is not a UUID" {
		t.Errorf("status: %+v", st)
	}

	t.Run("AccessMatrix", func(t *testing.T) {
		count := func(ctx context.Context, coll string) (int, error) {
			p, err := s.Sharing.FindObjects(ctx, coll, vigil.ObjectFilter{Limit: 100})
			if err != nil {
				return 0, err
			}
			for _, o := range p.Objects {
				if strings.Contains(string(o.Body), "10.0.0.5") && ctx != admin { // the RED one
					t.Errorf("RED object leaked to %v", vigil.ActorFromContext(ctx).Username)
				}
			}
			return len(p.Objects), nil
		}
		cases := []struct {
			name     string
			ctx      context.Context
			coll     string
			n        int
			code     string
			canWrite bool
		}{
			{"admin", admin, sector.ID, 6, "", true},
			{"responder", resp, sector.ID, 5, "", true}, // up to AMBER+STRICT
			{"viewer", viewer, sector.ID, 5, "", false},
			{"reporter", reporter, sector.ID, 0, vigil.ENOTFOUND, false},
			{"green partner", green, sector.ID, 2, "", false}, // CLEAR, GREEN
			{"amber partner", amber, sector.ID, 4, "", true},  // CLEAR, GREEN, AMBER, unmarked
			{"write-only partner", writer, sector.ID, 0, vigil.EFORBIDDEN, true},
			{"green partner, other collection", green, private.ID, 0, vigil.ENOTFOUND, false},
			{"amber partner, unknown collection", amber, "no-such", 0, vigil.ENOTFOUND, false},
		}
		for _, c := range cases {
			n, err := count(c.ctx, c.coll)
			if vigil.ErrorCode(err) != c.code && !(c.code == "" && err == nil) || n != c.n {
				t.Errorf("%s reads: %d objects, %v; want %d, %q", c.name, n, err, c.n, c.code)
			}
		}
		for _, c := range cases {
			_, err := s.Sharing.AddObjects(c.ctx, c.coll, []*vigil.IncomingObject{stixObj(900, t0, vigil.TLPGreen)}, nil)
			if c.canWrite != (err == nil) {
				t.Errorf("%s writes: %v", c.name, err)
			}
		}
		// Collections listed: a partner sees only its own.
		list, _ := s.Sharing.FindCollections(green)
		if len(list) != 1 || list[0].ID != sector.ID || !list[0].CanRead || list[0].CanWrite {
			t.Errorf("green partner's collections: %+v", list)
		}
		if list, _ := s.Sharing.FindCollections(resp); len(list) != 2 {
			t.Errorf("responder sees %d collections", len(list))
		}
	})

	t.Run("Versions", func(t *testing.T) {
		// Object 7: three versions, added newest first.
		for _, h := range []int{3, 1, 2} {
			if _, err := s.Sharing.AddObjects(admin, private.ID, []*vigil.IncomingObject{stixObj(7, t0.Add(time.Duration(h)*time.Hour), vigil.TLPGreen)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		// The same version again is a success, stored once.
		st, _ := s.Sharing.AddObjects(admin, private.ID, []*vigil.IncomingObject{stixObj(7, t0.Add(time.Hour), vigil.TLPGreen)}, nil)
		if st.SuccessCount != 1 || st.Successes[0].Message == "" {
			t.Errorf("duplicate version: %+v", st)
		}
		get := func(v ...string) []string {
			p, err := s.Sharing.FindObjects(admin, private.ID, vigil.ObjectFilter{Versions: v, IDs: []string{stixObj(7, t0, "").ID}})
			if err != nil {
				t.Fatal(err)
			}
			return ids(p)
		}
		id := stixObj(7, t0, "").ID
		if got := get(); !slices.Equal(got, []string{id + "@03:00"}) {
			t.Errorf("last: %v", got)
		}
		if got := get("first"); !slices.Equal(got, []string{id + "@01:00"}) {
			t.Errorf("first: %v", got)
		}
		if got := get("all"); len(got) != 3 {
			t.Errorf("all: %v", got)
		}
		if got := get("first", "last"); len(got) != 2 {
			t.Errorf("first,last: %v", got)
		}
		if got := get("2026-11-01T02:00:00.000Z"); !slices.Equal(got, []string{id + "@02:00"}) {
			t.Errorf("by timestamp: %v", got)
		}
		if _, err := s.Sharing.FindObjects(admin, private.ID, vigil.ObjectFilter{Versions: []string{"all", "last"}}); !hasField(err, "match[version]") {
			t.Errorf("all with last: %v", err)
		}
		// Deleting the last version makes the one before it last.
		if err := s.Sharing.DeleteObject(admin, private.ID, id, vigil.ObjectFilter{}); err != nil {
			t.Fatal(err)
		}
		if got := get(); !slices.Equal(got, []string{id + "@02:00"}) {
			t.Errorf("after deleting the last: %v", got)
		}
		if err := s.Sharing.DeleteObject(green, sector.ID, stixObj(1, t0, "").ID, vigil.ObjectFilter{}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("a read-only partner deletes: %v", err)
		}
		if err := s.Sharing.DeleteObject(admin, private.ID, "indicator--00000000-0000-4000-8000-999999999999", vigil.ObjectFilter{}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("deleting nothing: %v", err)
		}
	})

	t.Run("StablePaging", func(t *testing.T) {
		c := &vigil.Collection{Title: "Paging"}
		if err := s.Sharing.CreateCollection(admin, c); err != nil {
			t.Fatal(err)
		}
		add := func(from, n int) {
			var batch []*vigil.IncomingObject
			for i := range n {
				batch = append(batch, stixObj(1000+from+i, t0, vigil.TLPGreen))
			}
			if _, err := s.Sharing.AddObjects(admin, c.ID, batch, nil); err != nil {
				t.Fatal(err)
			}
		}
		add(0, 25)
		seen := map[string]int{}
		var after int64
		var lastAdded time.Time
		for pages := 0; ; pages++ {
			p, err := s.Sharing.FindObjects(admin, c.ID, vigil.ObjectFilter{Limit: 10, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range p.Objects {
				seen[o.ID]++
				if !o.DateAdded.After(lastAdded) {
					t.Errorf("date_added not increasing: %v after %v", o.DateAdded, lastAdded)
				}
				lastAdded = o.DateAdded
			}
			if pages == 0 {
				add(25, 12) // objects arrive while a client pages
				clk.add(time.Second)
			}
			if !p.More {
				break
			}
			after = p.Next
		}
		if len(seen) != 37 {
			t.Errorf("paged through %d distinct objects, want 37", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s seen %d times", id, n)
			}
		}
		// added_after is exclusive: from the last one seen, nothing.
		p, _ := s.Sharing.FindObjects(admin, c.ID, vigil.ObjectFilter{AddedAfter: &lastAdded})
		if len(p.Objects) != 0 {
			t.Errorf("added_after the last: %d objects", len(p.Objects))
		}
	})

	t.Run("Status", func(t *testing.T) {
		st, err := s.Sharing.AddObjects(amber, sector.ID, []*vigil.IncomingObject{stixObj(800, t0, vigil.TLPGreen)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Sharing.FindStatus(amber, st.ID); err != nil || got.SuccessCount != 1 {
			t.Errorf("own status: %v %+v", err, got)
		}
		if _, err := s.Sharing.FindStatus(green, st.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("another partner's status: %v", err)
		}
		if _, err := s.Sharing.FindStatus(admin, st.ID); err != nil {
			t.Errorf("admin: %v", err)
		}
	})

	t.Run("Partners", func(t *testing.T) {
		list, err := s.Sharing.FindPartners(admin)
		if err != nil || len(list) != 3 {
			t.Fatalf("partners: %v %d", err, len(list))
		}
		if _, err := s.Sharing.FindPartners(resp); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("responder lists partners: %v", err)
		}
		if _, err := s.Sharing.AuthenticatePartner(context.Background(), "green-bank", amberTok); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Errorf("another partner's name with amber's token: %v", err)
		}
		if err := s.Sharing.RevokePartner(admin, amberP.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sharing.AuthenticatePartner(context.Background(), "", amberTok); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Errorf("revoked partner: %v", err)
		}
		for _, p := range []string{"", "vgp_nonsense", "vgl_user-token"} {
			if _, err := s.Sharing.AuthenticatePartner(context.Background(), "", p); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
				t.Errorf("token %q: %v", p, err)
			}
		}
	})
}

// testSharingBatches: a request added in batches keeps one status.
func testSharingBatches(t *testing.T, open Opener) {
	s := open(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	c := &vigil.Collection{Title: "Batches"}
	if err := s.Sharing.CreateCollection(admin, c); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st, err := s.Sharing.AddObjects(admin, c.ID, []*vigil.IncomingObject{stixObj(1, t0, ""), stixObj(2, t0, "")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err = s.Sharing.AddObjects(admin, c.ID, []*vigil.IncomingObject{stixObj(3, t0, ""), {ID: "x--1", Err: fmt.Errorf("bad")}}, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Sharing.FindStatus(admin, st.ID)
	if err != nil || got.TotalCount != 4 || got.SuccessCount != 3 || got.FailureCount != 1 || len(got.Successes) != 3 {
		t.Errorf("merged status: %v %+v", err, got)
	}

	// Past 1,000 refused objects, in two batches, the status still says why
	// the first 1,000 were refused, and counts them all.
	var bad []*vigil.IncomingObject
	for i := range 1500 {
		bad = append(bad, &vigil.IncomingObject{ID: fmt.Sprintf("x--%d", i), Err: fmt.Errorf("refused %d", i)})
	}
	st, err = s.Sharing.AddObjects(admin, c.ID, bad[:700], nil)
	if err == nil {
		st, err = s.Sharing.AddObjects(admin, c.ID, bad[700:], st)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Sharing.FindStatus(admin, st.ID)
	if err != nil || got.FailureCount != 1500 || len(got.Failures) != 1000 || got.Failures[999].Message != "refused 999" {
		t.Errorf("status of 1,500 refused objects: %v, count %d, %d listed", err, got.FailureCount, len(got.Failures))
	}
}

// testSharingDateAddedGaps: the date_added times a partner reads say
// nothing of how many objects it may not read were added between them.
// Two collections get the same objects a partner may read, one of them
// with others it may not read mixed in: the partner's view of both is the
// same, up to where each starts.
func testSharingDateAddedGaps(t *testing.T, open Opener) {
	s := open(t)
	newClock(s, time.Date(2026, 11, 30, 9, 0, 0, 400, time.UTC)) // stands still
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mixed, plain := &vigil.Collection{Title: "Mixed"}, &vigil.Collection{Title: "Plain"}
	for _, c := range []*vigil.Collection{mixed, plain} {
		if err := s.Sharing.CreateCollection(admin, c); err != nil {
			t.Fatal(err)
		}
	}
	p := &vigil.Partner{Name: "green-reader", MaxTLP: vigil.TLPGreen, Access: []vigil.CollectionAccess{
		{CollectionID: mixed.ID, Read: true}, {CollectionID: plain.ID, Read: true}}}
	tok, err := s.Sharing.CreatePartner(admin, p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Sharing.AuthenticatePartner(context.Background(), p.Name, tok)
	if err != nil {
		t.Fatal(err)
	}
	green := vigil.NewContextWithActor(context.Background(), a)

	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	batches := [][]*vigil.IncomingObject{
		{stixObj(1, t0, vigil.TLPClear), stixObj(2, t0, vigil.TLPRed), stixObj(3, t0, vigil.TLPAmber), stixObj(4, t0, vigil.TLPGreen),
			stixObj(5, t0, vigil.TLPAmberStrict), stixObj(6, t0, ""), stixObj(7, t0, vigil.TLPGreen)},
		{stixObj(8, t0, vigil.TLPRed), stixObj(9, t0, vigil.TLPAmber), stixObj(10, t0, vigil.TLPGreen)},
		{stixObj(11, t0, vigil.TLPClear)},
	}
	for _, b := range batches {
		var visible []*vigil.IncomingObject
		for _, o := range b {
			if o.TLP == vigil.TLPClear || o.TLP == vigil.TLPGreen {
				visible = append(visible, o)
			}
		}
		if _, err := s.Sharing.AddObjects(admin, mixed.ID, b, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sharing.AddObjects(admin, plain.ID, visible, nil); err != nil {
			t.Fatal(err)
		}
	}
	view := func(coll string) []string {
		page, err := s.Sharing.FindObjects(green, coll, vigil.ObjectFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, o := range page.Objects {
			if i > 0 && !o.DateAdded.After(page.Objects[i-1].DateAdded) {
				t.Errorf("date_added not increasing: %v then %v", page.Objects[i-1].DateAdded, o.DateAdded)
			}
			out = append(out, fmt.Sprintf("%s +%v", o.ID[len(o.ID)-2:], o.DateAdded.Sub(page.Objects[0].DateAdded)))
		}
		return out
	}
	got, want := view(mixed.ID), view(plain.ID)
	if len(want) != 5 || !slices.Equal(got, want) {
		t.Errorf("with objects it may not read mixed in, a partner reads\n%q\nwithout them\n%q", got, want)
	}
}

// testSharingHiddenVersions: an object with a version above a partner's
// clearance is hidden from it whole, and cyber-observables posted again
// are stored once.
func testSharingHiddenVersions(t *testing.T, open Opener) {
	s := open(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	c := &vigil.Collection{Title: "Mixed"}
	if err := s.Sharing.CreateCollection(admin, c); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sharing.CreatePartner(admin, &vigil.Partner{Name: "green", MaxTLP: vigil.TLPGreen, Access: []vigil.CollectionAccess{{CollectionID: c.ID, Read: true, Write: true}}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Sharing.AuthenticatePartner(context.Background(), "green", tok)
	green := vigil.NewContextWithActor(context.Background(), a)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Sharing.AddObjects(admin, c.ID, []*vigil.IncomingObject{stixObj(1, t0, vigil.TLPGreen), stixObj(1, t0.Add(time.Hour), vigil.TLPAmber)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]string{nil, {"all"}, {"first"}} {
		p, err := s.Sharing.FindObjects(green, c.ID, vigil.ObjectFilter{Versions: v})
		if err != nil || len(p.Objects) != 0 {
			t.Errorf("versions %v: the partner sees %d objects (%v)", v, len(p.Objects), err)
		}
	}
	st, _ := s.Sharing.AddObjects(green, c.ID, []*vigil.IncomingObject{stixObj(1, t0.Add(time.Hour), vigil.TLPGreen)}, nil)
	if st.SuccessCount != 1 || st.Successes[0].Message != "" {
		t.Errorf("a partner learns the hidden version exists: %+v", st.Successes)
	}
	// The restricted version arriving in a later batch hides the versions
	// stored before it; deleting it shows them again.
	seen := func(id string) []string {
		t.Helper()
		var out []string
		for _, v := range []string{"all", "last", "first"} {
			p, err := s.Sharing.FindObjects(green, c.ID, vigil.ObjectFilter{IDs: []string{id}, Versions: []string{v}})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v+":"+strings.Join(ids(p), ","))
		}
		return out
	}
	o2 := stixObj(2, t0, vigil.TLPGreen).ID
	if _, err := s.Sharing.AddObjects(admin, c.ID, []*vigil.IncomingObject{stixObj(2, t0, vigil.TLPGreen)}, nil); err != nil {
		t.Fatal(err)
	}
	if got := seen(o2); got[0] != "all:"+o2+"@00:00" {
		t.Errorf("a GREEN object alone: the partner sees %v", got)
	}
	if _, err := s.Sharing.AddObjects(admin, c.ID, []*vigil.IncomingObject{stixObj(2, t0.Add(2*time.Hour), vigil.TLPAmber)}, nil); err != nil {
		t.Fatal(err)
	}
	if got := seen(o2); !slices.Equal(got, []string{"all:", "last:", "first:"}) {
		t.Errorf("after an AMBER version in a later batch the partner sees %v", got)
	}
	if err := s.Sharing.DeleteObject(admin, c.ID, o2, vigil.ObjectFilter{Versions: []string{"2026-11-01T02:00:00.000Z"}}); err != nil {
		t.Fatal(err)
	}
	if got := seen(o2); !slices.Equal(got, []string{"all:" + o2 + "@00:00", "last:" + o2 + "@00:00", "first:" + o2 + "@00:00"}) {
		t.Errorf("after the AMBER version is deleted the partner sees %v", got)
	}
	sco := func() *vigil.IncomingObject {
		return &vigil.IncomingObject{Raw: []byte(`{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`),
			ID: "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", Type: "ipv4-addr", SpecVersion: "2.1"}
	}
	for range 3 {
		if _, err := s.Sharing.AddObjects(admin, c.ID, []*vigil.IncomingObject{sco()}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := s.Sharing.FindObjects(admin, c.ID, vigil.ObjectFilter{IDs: []string{sco().ID}, Versions: []string{"all"}})
	if len(p.Objects) != 1 {
		t.Errorf("a cyber-observable posted three times: %d versions", len(p.Objects))
	}
}

// testFeedSchedule: a feed that is due is queued for polling once, whatever
// how often the schedule runs.
func testFeedSchedule(t *testing.T, open Opener) {
	s := open(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	c := &vigil.Collection{Title: "From the CERT"}
	if err := s.Sharing.CreateCollection(admin, c); err != nil {
		t.Fatal(err)
	}
	f := &vigil.Feed{Name: "cert", URL: "https://cert.example/taxii2/api/collections/x/", CollectionID: c.ID}
	if err := s.Feeds.CreateFeed(admin, f); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, want := range []int{1, 0} {
		n, err := s.Worker.Schedule(workerCtx(), now, 0)
		if err != nil || n != want {
			t.Errorf("schedule run %d: %d queued (%v), want %d", i, n, err, want)
		}
	}
	jobs, err := s.Worker.ClaimJobs(workerCtx(), "w", []string{vigil.JobFeedPoll}, 10, time.Minute)
	if err != nil || len(jobs) != 1 || !strings.Contains(string(jobs[0].Payload), fmt.Sprint(f.ID)) {
		t.Errorf("feed poll jobs: %v %d", err, len(jobs))
	}
}

// testServerKey: a server key is made once and then the same for every
// caller (every instance), 32 bytes, one per name.
func testServerKey(t *testing.T, open Opener) {
	s := open(t)
	ctx := SystemContext(t)
	a, err := s.Sharing.ServerKey(ctx, "taxii-next")
	if err != nil || len(a) != 32 {
		t.Fatalf("key: %v %d", err, len(a))
	}
	b, err := s.Sharing.ServerKey(ctx, "taxii-next")
	if err != nil || string(a) != string(b) {
		t.Errorf("the key changed: %v", err)
	}
	c, err := s.Sharing.ServerKey(ctx, "other")
	if err != nil || string(a) == string(c) {
		t.Errorf("two names, one key: %v", err)
	}
}
