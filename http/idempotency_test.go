package http_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// gatedIncidents lets a test hold incident creation inside the handler, or
// fail it, to see what a retry meets meanwhile.
type gatedIncidents struct {
	vigil.IncidentService
	gate    atomic.Pointer[gate]
	failing atomic.Int32 // fail this many creates with an internal error
	panics  atomic.Int32 // panic in this many creates
	// unsure fails this many creates as a lost connection does, with the
	// create not run; lost runs this many and then fails them so, as a
	// connection lost after COMMIT was sent does: both answer 503 "may
	// have been applied".
	unsure, lost atomic.Int32
	creates      atomic.Int32 // the creates that reached the store
}

// errMayHaveCommitted is what the store answers when a commit's outcome is
// not known.
var errMayHaveCommitted = vigil.Errorf(vigil.EUNAVAILABLE, "The change may have been applied; retry with the same Idempotency-Key.")

type gate struct{ entered, release chan struct{} }

func (g *gatedIncidents) CreateIncident(ctx context.Context, inc *vigil.Incident) error {
	if g.failing.Add(-1) >= 0 {
		return errors.New("the disk is full")
	}
	if g.panics.Add(-1) >= 0 {
		panic("a bug")
	}
	if g.unsure.Add(-1) >= 0 {
		return errMayHaveCommitted
	}
	if gt := g.gate.Load(); gt != nil {
		gt.entered <- struct{}{}
		<-gt.release
	}
	g.creates.Add(1)
	if err := g.IncidentService.CreateIncident(ctx, inc); err != nil {
		return err
	}
	if g.lost.Add(-1) >= 0 {
		return errMayHaveCommitted
	}
	return nil
}

func newGatedEnv(t *testing.T) (*env, *gatedIncidents) {
	g := &gatedIncidents{}
	e := newEnv(t, func(s *vigil.Services) {
		g.IncidentService = s.Incidents
		s.Incidents = g
	})
	return e, g
}

func keyed(key string) map[string]string {
	return map[string]string{vigilhttp.IdempotencyKeyHeader: key}
}

// countIncidents counts the incidents the token's user sees.
func (e *env) countIncidents(tok string) int {
	e.t.Helper()
	var c vigilhttp.IncidentCount
	e.do(req{Method: "GET", Path: "/api/v1/incidents/count", Token: tok}).want(e.t, http.StatusOK).JSON(e.t, &c)
	return c.Count
}

func TestIdempotencyKey(t *testing.T) {
	e, g := newGatedEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	other, _ := e.user(vigil.RoleResponder)
	body := map[string]any{"title": "Invoice phishing", "type": "phishing", "severity": "medium"}

	t.Run("Replay", func(t *testing.T) {
		before := g.creates.Load()
		first := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("create-1")}).want(t, http.StatusCreated)
		if first.Header.Get(vigilhttp.ReplayedHeader) != "" {
			t.Errorf("the first answer is marked %s", vigilhttp.ReplayedHeader)
		}
		for range 2 {
			again := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("create-1")}).want(t, http.StatusCreated)
			if !bytes.Equal(again.Body, first.Body) {
				t.Errorf("replayed body:\n%s\nwant the first:\n%s", again.Body, first.Body)
			}
			for _, h := range []string{"Location", "ETag", "Content-Type"} {
				if got, want := again.Header.Get(h), first.Header.Get(h); got != want || want == "" {
					t.Errorf("replayed %s = %q, want %q", h, got, want)
				}
			}
			if got := again.Header.Get(vigilhttp.ReplayedHeader); got != "true" {
				t.Errorf("%s = %q, want true", vigilhttp.ReplayedHeader, got)
			}
			if again.Header.Get("X-Request-ID") == first.Header.Get("X-Request-ID") {
				t.Errorf("the replay carries the first request's ID")
			}
		}
		if n := g.creates.Load() - before; n != 1 {
			t.Errorf("%d incidents created, want 1", n)
		}
		// The key is the same bare or as a structured-field string.
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed(`"create-1"`)}).want(t, http.StatusCreated)
		if n := g.creates.Load() - before; n != 1 {
			t.Errorf("%d incidents created after the quoted key, want 1", n)
		}
	})

	t.Run("ErrDifferentBody", func(t *testing.T) {
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("create-2")}).want(t, http.StatusCreated)
		before := g.creates.Load()
		changed := map[string]any{"title": "Invoice phishing (CFO)", "type": "phishing", "severity": "medium"}
		p := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: changed, Header: keyed("create-2")}).
			want(t, http.StatusUnprocessableEntity).Problem(t)
		if p.Code != vigil.EIDEMPOTENCY || !strings.Contains(p.Detail, "Idempotency-Key") {
			t.Errorf("problem %+v, want code %q naming the header", p, vigil.EIDEMPOTENCY)
		}
		if g.creates.Load() != before {
			t.Errorf("the refused request created an incident")
		}
	})

	t.Run("OtherUser", func(t *testing.T) {
		first := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("shared-key")}).want(t, http.StatusCreated)
		theirs := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: other, Body: body, Header: keyed("shared-key")}).want(t, http.StatusCreated)
		if theirs.Header.Get(vigilhttp.ReplayedHeader) != "" || theirs.Header.Get("Location") == first.Header.Get("Location") {
			t.Errorf("another user's request with the same key got the first user's answer: %s", theirs.Body)
		}
	})

	t.Run("NoKey", func(t *testing.T) {
		before := e.countIncidents(tok)
		for range 2 {
			r := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body}).want(t, http.StatusCreated)
			if r.Header.Get(vigilhttp.ReplayedHeader) != "" {
				t.Errorf("an answer without a key is marked replayed")
			}
		}
		if n := e.countIncidents(tok) - before; n != 2 {
			t.Errorf("two requests without a key created %d incidents, want 2", n)
		}
	})

	t.Run("ErrBadKey", func(t *testing.T) {
		for _, key := range []string{strings.Repeat("k", vigil.MaxIdempotencyKey+1), `"unterminated`, `"a"b`, `"bad \x"`} {
			p := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed(key)}).want(t, http.StatusBadRequest).Problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != vigilhttp.IdempotencyKeyHeader {
				t.Errorf("key %q: problem %+v, want the header named", key, p)
			}
		}
	})

	t.Run("RefusalKept", func(t *testing.T) {
		bad := map[string]any{"title": "", "type": "phishing"}
		first := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: bad, Header: keyed("refused")}).want(t, http.StatusBadRequest)
		again := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: bad, Header: keyed("refused")}).want(t, http.StatusBadRequest)
		if again.Header.Get(vigilhttp.ReplayedHeader) != "true" || !bytes.Equal(again.Body, first.Body) {
			t.Errorf("the refusal was not replayed: %v %s", again.Header, again.Body)
		}
		// Corrected, the request is another one: it needs a new key.
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("refused")}).want(t, http.StatusUnprocessableEntity)
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("refused-2")}).want(t, http.StatusCreated)
	})

	t.Run("ServerErrorReleases", func(t *testing.T) {
		before := g.creates.Load()
		g.failing.Store(1)
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("after-500")}).want(t, http.StatusInternalServerError)
		r := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("after-500")}).want(t, http.StatusCreated)
		if r.Header.Get(vigilhttp.ReplayedHeader) != "" || g.creates.Load()-before != 1 {
			t.Errorf("the retry after a 500 did not run again (replayed %q, %d created)", r.Header.Get(vigilhttp.ReplayedHeader), g.creates.Load()-before)
		}
	})

	// A 503 "may have been applied": the retry runs the request if it was
	// not applied, and is refused if it was, never both.
	t.Run("UncertainNotApplied", func(t *testing.T) {
		before := g.creates.Load()
		g.unsure.Store(1)
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("unsure")}).want(t, http.StatusServiceUnavailable)
		r := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("unsure")}).want(t, http.StatusCreated)
		if r.Header.Get(vigilhttp.ReplayedHeader) != "" || g.creates.Load()-before != 1 {
			t.Errorf("the retry after a 503 that applied nothing did not run (replayed %q, %d created)", r.Header.Get(vigilhttp.ReplayedHeader), g.creates.Load()-before)
		}
	})

	t.Run("UncertainApplied", func(t *testing.T) {
		before := e.countIncidents(tok)
		g.lost.Store(1)
		first := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("lost")}).want(t, http.StatusServiceUnavailable)
		for range 2 {
			r := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("lost")})
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("retry after a 503 whose create committed: %d %s, want 422", r.Status, r.Body)
			}
			p := r.Problem(t)
			if p.Code != vigil.EANSWERLOST || !strings.Contains(p.Detail, "was applied") || r.Header.Get("Retry-After") != "" {
				t.Errorf("problem %+v, Retry-After %q; want code %q saying it was applied, no Retry-After", p, r.Header.Get("Retry-After"), vigil.EANSWERLOST)
			}
			if id := first.Problem(t).RequestID; id == "" || !strings.Contains(p.Detail, id) {
				t.Errorf("detail %q does not name the first request's ID %q", p.Detail, id)
			}
		}
		if n := e.countIncidents(tok) - before; n != 1 {
			t.Errorf("%d incidents after a 503 whose create committed and two retries, want 1", n)
		}
		// A new key is a new request.
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("lost-2")}).want(t, http.StatusCreated)
	})

	t.Run("PanicReleases", func(t *testing.T) {
		before := g.creates.Load()
		g.panics.Store(1)
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("after-panic")}).want(t, http.StatusInternalServerError)
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("after-panic")}).want(t, http.StatusCreated)
		if n := g.creates.Load() - before; n != 1 {
			t.Errorf("%d created after the panic and the retry, want 1", n)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		before := g.creates.Load()
		gt := &gate{entered: make(chan struct{}), release: make(chan struct{})}
		g.gate.Store(gt)
		var first *response
		var wg sync.WaitGroup
		wg.Go(func() {
			first = e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("slow")})
		})
		<-gt.entered // the first request is creating the incident
		g.gate.Store(nil)
		r := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("slow")}).want(t, http.StatusConflict)
		if p := r.Problem(t); p.Code != vigil.ECONFLICT || !strings.Contains(p.Detail, "in progress") || r.Header.Get("Retry-After") == "" {
			t.Errorf("a retry while the first runs: %+v, Retry-After %q", p, r.Header.Get("Retry-After"))
		}
		// Another key is not held up.
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("fast")}).want(t, http.StatusCreated)
		close(gt.release)
		wg.Wait()
		first.want(t, http.StatusCreated)
		again := e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("slow")}).want(t, http.StatusCreated)
		if !bytes.Equal(again.Body, first.Body) || again.Header.Get(vigilhttp.ReplayedHeader) != "true" {
			t.Errorf("after the first finished, the retry got %s", again.Body)
		}
		if n := g.creates.Load() - before; n != 2 {
			t.Errorf("%d incidents created, want 2 (slow once, fast once)", n)
		}
	})

	t.Run("Racing", func(t *testing.T) {
		before := g.creates.Load()
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				statuses <- e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("race")}).Status
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		// One ran; the others got 409 while it ran, or its answer after.
		if count[http.StatusCreated] < 1 || count[http.StatusCreated]+count[http.StatusConflict] != n {
			t.Errorf("statuses %v", count)
		}
		if got := g.creates.Load() - before; got != 1 {
			t.Errorf("%d racing requests with one key created %d incidents, want 1", n, got)
		}
	})
}

func TestIdempotencyKeyRoutes(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Laptop stolen"}}).want(t, http.StatusCreated).JSON(t, &inc)
	base := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)

	t.Run("Note", func(t *testing.T) {
		for range 3 {
			e.do(req{Method: "POST", Path: base + "/timeline", Token: tok, Body: map[string]any{"message": "Called the user."}, Header: keyed("note")}).
				want(t, http.StatusCreated)
		}
		var page vigil.TimelinePage
		e.do(req{Method: "GET", Path: base + "/timeline?kind=note", Token: tok}).want(t, http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Errorf("%d notes after three tries with one key, want 1", len(page.Items))
		}
	})

	t.Run("Evidence", func(t *testing.T) {
		// Each attempt builds its multipart body afresh, with a new random
		// boundary, as curl -F does: still the same request.
		up := func(content string) form {
			return upload("mail.eml", content, "description", "The phishing e-mail")
		}
		a, b := up("From: ceo@example.org"), up("From: ceo@example.org")
		if bytes.Equal(a.data, b.data) {
			t.Fatal("the two uploads have the same bytes; want different boundaries")
		}
		first := e.do(req{Method: "POST", Path: base + "/evidence", Token: tok, Body: a, Header: keyed("upload")}).want(t, http.StatusCreated)
		again := e.do(req{Method: "POST", Path: base + "/evidence", Token: tok, Body: b, Header: keyed("upload")}).want(t, http.StatusCreated)
		if !bytes.Equal(again.Body, first.Body) || again.Header.Get(vigilhttp.ReplayedHeader) != "true" {
			t.Errorf("the retried upload was not replayed: %s", again.Body)
		}
		e.do(req{Method: "POST", Path: base + "/evidence", Token: tok, Body: up("From: someone-else@example.org"), Header: keyed("upload")}).
			want(t, http.StatusUnprocessableEntity)
		var list vigilhttp.EvidenceList
		e.do(req{Method: "GET", Path: base + "/evidence", Token: tok}).want(t, http.StatusOK).JSON(t, &list)
		if len(list.Evidence) != 1 {
			t.Errorf("%d pieces of evidence, want 1", len(list.Evidence))
		}
	})

	t.Run("Document", func(t *testing.T) {
		var d struct {
			Paths map[string]map[string]struct {
				Parameters []struct {
					Name, In string
				} `json:"parameters"`
				Responses map[string]any `json:"responses"`
			} `json:"paths"`
		}
		e.do(req{Method: "GET", Path: "/api/v1/openapi.json"}).want(t, http.StatusOK).JSON(t, &d)
		has := func(path, method string) bool {
			for _, p := range d.Paths[path][method].Parameters {
				if p.Name == vigilhttp.IdempotencyKeyHeader && p.In == "header" {
					return d.Paths[path][method].Responses["422"] != nil
				}
			}
			return false
		}
		for _, c := range []struct {
			path, method string
			want         bool
		}{
			{"/api/v1/incidents", "post", true},
			{"/api/v1/incidents/{id}/evidence", "post", true},
			{"/api/v1/obligations/{id}/submit", "post", true},
			{"/api/v1/incidents", "get", false},
			{"/api/v1/tokens", "post", false}, // its answer holds the secret
		} {
			if got := has(c.path, c.method); got != c.want {
				t.Errorf("%s %s documents Idempotency-Key: %v, want %v", c.method, c.path, got, c.want)
			}
		}
	})
}

func TestIdempotencyKeyTAXII(t *testing.T) {
	e := newEnv(t)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	c := &vigil.Collection{Title: "Sector IOCs"}
	must(t, e.svc.Sharing.CreateCollection(sys, c))
	secret, err := e.svc.Sharing.CreatePartner(sys, &vigil.Partner{Name: "amber-cert", MaxTLP: vigil.TLPAmber,
		Access: []vigil.CollectionAccess{{CollectionID: c.ID, Read: true, Write: true}}})
	must(t, err)
	partner := &taxiiClient{t: t, base: e.ts.URL, user: "amber-cert", pass: secret}
	path := "/taxii2/api/collections/" + c.ID + "/objects/"
	add := func(key string, n int) *taxiiResp {
		return partner.do("POST", path, strings.NewReader(`{"objects":[`+indicatorJSON(n, "2026-02-01T00:00:00.000Z", greenMark)+`]}`),
			map[string]string{"Content-Type": "application/taxii+json;version=2.1", vigilhttp.IdempotencyKeyHeader: key})
	}
	first := add("envelope-1", 1)
	if first.status != http.StatusAccepted {
		t.Fatalf("add: %d %s", first.status, first.body)
	}
	again := add("envelope-1", 1)
	if again.status != http.StatusAccepted || !bytes.Equal(again.body, first.body) || again.header.Get(vigilhttp.ReplayedHeader) != "true" {
		t.Errorf("retry: %d %v %s, want the first status resource again", again.status, again.header, again.body)
	}
	// The same key with another envelope is refused in TAXII's own format.
	if r := add("envelope-1", 2); r.status != http.StatusUnprocessableEntity {
		t.Errorf("another envelope with the key: %d %s", r.status, r.body)
	}
}

// TestIdempotencyKeyLongUpload checks that the fingerprint of an upload
// is taken as it streams: a body much larger than the JSON limit goes
// through and is replayed.
func TestIdempotencyKeyLongUpload(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Disk image"}}).want(t, http.StatusCreated).JSON(t, &inc)
	big := strings.Repeat("0123456789abcdef", (3<<20)/16) // 3 MiB, over the 1 MiB JSON limit
	body := func() form {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("file", "disk.img")
		io.WriteString(fw, big)
		w.Close()
		return form{contentType: w.FormDataContentType(), data: b.Bytes()}
	}
	path := fmt.Sprintf("/api/v1/incidents/%d/evidence", inc.ID)
	first := e.do(req{Method: "POST", Path: path, Token: tok, Body: body(), Header: keyed("big")}).want(t, http.StatusCreated)
	again := e.do(req{Method: "POST", Path: path, Token: tok, Body: body(), Header: keyed("big")}).want(t, http.StatusCreated)
	if !bytes.Equal(first.Body, again.Body) || again.Header.Get(vigilhttp.ReplayedHeader) != "true" {
		t.Errorf("the large upload was not replayed: %s", again.Body)
	}
}

// TestIdempotencyKeyReplayAuthorization checks that a replay is given only
// to a caller still allowed to make the request: a user whose role was
// reduced since gets 403, not the answer, and a revoked token 401.
func TestIdempotencyKeyReplayAuthorization(t *testing.T) {
	e := newEnv(t)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	tok, u := e.user(vigil.RoleResponder)
	body := map[string]any{"title": "Ransom note on the file server"}
	create := func() *response {
		return e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("demoted")})
	}
	setRole := func(role vigil.Role) {
		t.Helper()
		cur, err := e.svc.Users.FindUserByID(sys, u.ID)
		must(t, err)
		_, err = e.svc.Users.UpdateUser(sys, u.ID, vigil.UserUpdate{Role: &role, Version: cur.Version})
		must(t, err)
	}
	first := create().want(t, http.StatusCreated)
	create().want(t, http.StatusCreated)

	setRole(vigil.RoleViewer) // may no longer create incidents
	r := create().want(t, http.StatusForbidden)
	if r.Header.Get(vigilhttp.ReplayedHeader) != "" || bytes.Contains(r.Body, first.Body) {
		t.Errorf("a viewer got the replay of a responder's create: %s", r.Body)
	}
	if p := r.Problem(t); p.Code != vigil.EFORBIDDEN || !strings.Contains(p.Detail, "Idempotency-Key") {
		t.Errorf("problem %+v, want %q naming the Idempotency-Key", p, vigil.EFORBIDDEN)
	}
	// The answer is still kept: given its permissions back, the user gets it.
	setRole(vigil.RoleManager)
	again := create().want(t, http.StatusCreated)
	if again.Header.Get(vigilhttp.ReplayedHeader) != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Errorf("after the role was restored: %v %s, want the replay", again.Header, again.Body)
	}

	toks, err := e.svc.Auth.FindTokens(sys, u.ID)
	must(t, err)
	for _, tk := range toks {
		must(t, e.svc.Auth.RevokeToken(sys, tk.ID))
	}
	create().want(t, http.StatusUnauthorized)
	var c int
	must(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM incidents WHERE title = ?`, body["title"]).Scan(&c))
	if c != 1 {
		t.Errorf("%d incidents, want 1", c)
	}

	// Incidents are worked on by the role in their own organisation: a
	// user demoted in one organisation, who may still create incidents
	// in the other, is not given the answers they had in the first.
	t.Run("Organisation", func(t *testing.T) {
		must(t, e.svc.Orgs.CreateOrganisation(sys, &vigil.Organisation{Slug: "acme", Name: "Acme Water", Kind: vigil.OrgMember}))
		tok, u := e.user(vigil.RoleResponder)
		_, err := e.svc.Orgs.AddMember(sys, "acme", u.Username, vigil.RoleResponder)
		must(t, err)
		acme := map[string]any{"title": "Acme's SCADA alarm", "organisation": "acme"}
		create := func() *response {
			return e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: acme, Header: keyed("acme-1")})
		}
		first := create().want(t, http.StatusCreated)
		_, err = e.svc.Orgs.SetMemberRole(sys, "acme", u.Username, vigil.RoleViewer)
		must(t, err)
		if r := create(); r.Status != http.StatusForbidden || bytes.Equal(r.Body, first.Body) {
			t.Errorf("demoted in acme: %d %s, want 403", r.Status, r.Body)
		}
		// Still a responder in the default organisation: they may create there.
		e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: body, Header: keyed("default-1")}).want(t, http.StatusCreated)
	})
}
