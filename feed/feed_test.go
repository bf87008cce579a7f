package feed_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/feed"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/sqlite"
)

// loopback admits the test servers, which listen on 127.0.0.1: without
// it the store refuses feeds there.
var loopback = vigil.OutboundAllow{Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// openAllowing opens a store that lets feeds name allow's destinations.
func openAllowing(t *testing.T, allow vigil.OutboundAllow) vigil.Services {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	db.OutboundAllow = allow
	t.Cleanup(func() { db.Close() })
	return db.Services()
}

func open(t *testing.T) vigil.Services { return openAllowing(t, loopback) }

func add(t *testing.T, svc vigil.Services, coll string, from, n int) {
	t.Helper()
	var objs []*vigil.IncomingObject
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.0.%d.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`,
			id, i/256%256, i%256)
		objs = append(objs, &vigil.IncomingObject{Raw: []byte(raw), ID: id, Type: "indicator", SpecVersion: "2.1",
			Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), TLP: vigil.TLPGreen})
	}
	if _, err := svc.Sharing.AddObjects(sys(), coll, objs, nil); err != nil {
		t.Fatal(err)
	}
}

func sys() context.Context {
	return vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
}

func count(t *testing.T, svc vigil.Services, coll string) int {
	t.Helper()
	n := 0
	f := vigil.ObjectFilter{Limit: 5000}
	for {
		p, err := svc.Sharing.FindObjects(sys(), coll, f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Objects)
		if !p.More {
			return n
		}
		f.After = p.Next
	}
}

// TestFeedFromAnotherVigil: one Vigil shares a collection over TAXII; a
// second subscribes to it as a feed and polls it: everything arrives,
// then only what is new; a poll cut short resumes from its cursor in a
// new poller (a restart); a revoked partner's polls fail and back off.
func TestFeedFromAnotherVigil(t *testing.T) {
	a, b := open(t), open(t)
	srv := httptest.NewServer(vigilhttp.NewServer(a, nil))
	defer srv.Close()
	shared := &vigil.Collection{Title: "Sector IOCs"}
	if err := a.Sharing.CreateCollection(sys(), shared); err != nil {
		t.Fatal(err)
	}
	partner := &vigil.Partner{Name: "member-b", MaxTLP: vigil.TLPGreen, Access: []vigil.CollectionAccess{{CollectionID: shared.ID, Read: true}}}
	token, err := a.Sharing.CreatePartner(sys(), partner)
	if err != nil {
		t.Fatal(err)
	}
	add(t, a, shared.ID, 0, 2500)

	local := &vigil.Collection{Title: "From the sector CERT"}
	if err := b.Sharing.CreateCollection(sys(), local); err != nil {
		t.Fatal(err)
	}
	f := &vigil.Feed{Name: "sector", URL: srv.URL + "/taxii2/api/collections/" + shared.ID, Username: "member-b", Password: token,
		CollectionID: local.ID, PollInterval: 600}
	if err := b.Feeds.CreateFeed(sys(), f); err != nil {
		t.Fatal(err)
	}
	if f.Password != "" || !strings.HasSuffix(f.URL, "/") {
		t.Errorf("created feed: %+v", f)
	}
	poller := &feed.Poller{Feeds: b.Feeds, Sharing: b.Sharing}
	if err := poller.Poll(sys(), f.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, local.ID); n != 2500 {
		t.Fatalf("after the first poll: %d objects", n)
	}
	got, _ := b.Feeds.FindFeed(sys(), f.ID)
	if got.AddedAfter == nil || got.Next != "" || got.ObjectsFetched != 2500 || got.LastSuccessAt == nil || got.NextPollAt == nil ||
		got.NextPollAt.Sub(*got.LastSuccessAt) != 600*time.Second {
		t.Errorf("feed after the first poll: %+v", got)
	}
	// Only what is new comes next time.
	add(t, a, shared.ID, 2500, 10)
	if err := poller.Poll(sys(), f.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = b.Feeds.FindFeed(sys(), f.ID)
	if n := count(t, b, local.ID); n != 2510 || got.ObjectsFetched != 2510 {
		t.Errorf("after the second poll: %d objects, %d fetched", n, got.ObjectsFetched)
	}
	// A poll cut short (one page) leaves its next; a new poller resumes.
	add(t, a, shared.ID, 3000, 1500)
	short := &feed.Poller{Feeds: b.Feeds, Sharing: b.Sharing, MaxPages: 1}
	if err := short.Poll(sys(), f.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = b.Feeds.FindFeed(sys(), f.ID)
	if n := count(t, b, local.ID); n != 3510 || got.Next == "" {
		t.Errorf("after a one-page poll: %d objects, next %q", n, got.Next)
	}
	restarted := &feed.Poller{Feeds: b.Feeds, Sharing: b.Sharing}
	if err := restarted.Poll(sys(), f.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = b.Feeds.FindFeed(sys(), f.ID)
	if n := count(t, b, local.ID); n != 4010 || got.Next != "" || got.ObjectsFetched != 4010 {
		t.Errorf("after resuming: %d objects, next %q, fetched %d", n, got.Next, got.ObjectsFetched)
	}
	// Revoked: the poll fails, is recorded, and backs off.
	if err := a.Sharing.RevokePartner(sys(), partner.ID); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Poll(sys(), f.ID); err == nil {
		t.Fatal("a revoked partner's poll succeeded")
	}
	got, _ = b.Feeds.FindFeed(sys(), f.ID)
	if got.Failures != 1 || !strings.Contains(got.LastError, "401") || got.NextPollAt == nil || got.LastPollAt == nil ||
		got.NextPollAt.Sub(*got.LastPollAt) != time.Minute || strings.Contains(got.LastError, token) {
		t.Errorf("after a failure: failures %d, error %q, next poll %v", got.Failures, got.LastError, got.NextPollAt)
	}
	if list, _ := b.Feeds.FindFeeds(sys()); len(list) != 1 || list[0].Password != "" {
		t.Errorf("FindFeeds shows the password: %+v", list)
	}
}
