package feed_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/feed"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/sqlite"
)

// loopback admits the test servers, which listen on 127.0.0.1: without
// it feeds there are refused, as TestFeedRefusesInternal shows.
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
	poller := &feed.Poller{Feeds: b.Feeds, Sharing: b.Sharing, Allow: loopback}
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
	short := &feed.Poller{Feeds: b.Feeds, Sharing: b.Sharing, MaxPages: 1, Allow: loopback}
	if err := short.Poll(sys(), f.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = b.Feeds.FindFeed(sys(), f.ID)
	if n := count(t, b, local.ID); n != 3510 || got.Next == "" {
		t.Errorf("after a one-page poll: %d objects, next %q", n, got.Next)
	}
	restarted := &feed.Poller{Feeds: b.Feeds, Sharing: b.Sharing, Allow: loopback}
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

// serveOn starts an HTTP server on addr ("127.0.0.2:0") and counts its
// requests. All of 127.0.0.0/8 is this machine on Linux: servers on
// 127.0.0.1 and 127.0.0.2 stand for an internal service and an allowed
// feed.
func serveOn(t *testing.T, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func mustCreateFeed(t *testing.T, svc vigil.Services, url string) *vigil.Feed {
	t.Helper()
	local := &vigil.Collection{Title: "From a feed"}
	if err := svc.Sharing.CreateCollection(sys(), local); err != nil {
		t.Fatal(err)
	}
	f := &vigil.Feed{Name: t.Name(), URL: url, CollectionID: local.ID, PollInterval: 600}
	if err := svc.Feeds.CreateFeed(sys(), f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFeedRefusesInternal: a feed on an internal address is refused when
// polled unless the poller's allow-list names it, also when an allowed
// feed redirects there (127.0.0.2, allowed, to 127.0.0.1, not); the
// internal service sees no request, and the feed's error names the
// refusal.
func TestFeedRefusesInternal(t *testing.T) {
	internal, hits := serveOn(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", vigilhttp.TAXIIMediaType)
		io.WriteString(w, `{"objects":[]}`)
	})
	allowed, _ := serveOn(t, "127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+r.URL.RequestURI(), http.StatusFound)
	})
	svc := open(t)

	t.Run("Direct", func(t *testing.T) {
		f := mustCreateFeed(t, svc, internal.URL+"/taxii2/api/collections/x/") // saved while 127.0.0.1 was allowed
		err := (&feed.Poller{Feeds: svc.Feeds, Sharing: svc.Sharing}).Poll(sys(), f.ID)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("Poll = %v, want a refusal naming loopback", err)
		}
		got, _ := svc.Feeds.FindFeed(sys(), f.ID)
		if !strings.Contains(got.LastError, "loopback") || got.Failures != 1 {
			t.Errorf("feed after the refusal: error %q, failures %d", got.LastError, got.Failures)
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		f := mustCreateFeed(t, svc, allowed.URL+"/taxii2/api/collections/x/")
		p := &feed.Poller{Feeds: svc.Feeds, Sharing: svc.Sharing, Allow: vigil.OutboundAllow{Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}}
		err := p.Poll(sys(), f.ID)
		if err == nil || !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("Poll = %v, want a refused redirect", err)
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service got %d requests", n)
	}
	t.Run("ErrSaved", func(t *testing.T) {
		strict := openAllowing(t, vigil.OutboundAllow{})
		local := &vigil.Collection{Title: "From a feed"}
		if err := strict.Sharing.CreateCollection(sys(), local); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"http://127.0.0.1:8080/taxii2/", "http://localhost/taxii2/", "http://[::1]/taxii2/", "http://0.0.0.0/taxii2/", "https://10.1.2.3/taxii2/"} {
			err := strict.Feeds.CreateFeed(sys(), &vigil.Feed{Name: "feed", URL: u, CollectionID: local.ID})
			if got, want := vigil.ErrorCode(err), vigil.EINVALID; got != want || len(vigil.ErrorFields(err)) != 1 || vigil.ErrorFields(err)[0].Field != "url" {
				t.Errorf("CreateFeed(%s): %v, want EINVALID on url", u, err)
			}
		}
	})
}

// TestFeedErrorKeepsNoBody: a feed's refusal is recorded as its status
// alone, never its body or its own reason phrase.
func TestFeedErrorKeepsNoBody(t *testing.T) {
	srv, _ := serveOn(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal-secret: db password hunter2", http.StatusForbidden)
	})
	svc := open(t)
	f := mustCreateFeed(t, svc, srv.URL+"/taxii2/api/collections/x/")
	if err := (&feed.Poller{Feeds: svc.Feeds, Sharing: svc.Sharing, Allow: loopback}).Poll(sys(), f.ID); err == nil {
		t.Fatal("a refused poll succeeded")
	}
	got, _ := svc.Feeds.FindFeed(sys(), f.ID)
	if want := "the feed answered HTTP 403 Forbidden"; got.LastError != want {
		t.Errorf("LastError = %q, want %q", got.LastError, want)
	}
}
