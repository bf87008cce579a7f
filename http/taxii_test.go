package http_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// taxiiClient is a TAXII 2.1 client written from the specification for
// these tests; it shares no code with the server (no Vigil package but
// the domain types used to set the test up).
type taxiiClient struct {
	t          *testing.T
	base       string
	user, pass string // HTTP Basic
	bearer     string
	accept     string
}

type taxiiResp struct {
	status int
	header http.Header
	body   []byte
}

func (r *taxiiResp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func (c *taxiiClient) do(method, path string, body io.Reader, hdr map[string]string) *taxiiResp {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	accept := c.accept
	if accept == "" {
		accept = "application/taxii+json;version=2.1"
	}
	req.Header.Set("Accept", accept)
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	} else if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &taxiiResp{resp.StatusCode, resp.Header, b}
	// Every answer, errors included, is TAXII JSON (but a redirect).
	if resp.StatusCode != http.StatusPermanentRedirect && resp.Header.Get("Content-Type") != "application/taxii+json;version=2.1" {
		c.t.Errorf("%s %s: Content-Type %q", method, path, resp.Header.Get("Content-Type"))
	}
	if resp.StatusCode >= 400 && len(b) > 0 {
		var e map[string]any
		if json.Unmarshal(b, &e) != nil || e["title"] == nil || e["http_status"] != fmt.Sprint(resp.StatusCode) {
			c.t.Errorf("%s %s: error body is not a TAXII error message: %s", method, path, b)
		}
	}
	return r
}

func (c *taxiiClient) get(path string) *taxiiResp { return c.do("GET", path, nil, nil) }

func (c *taxiiClient) post(path, body string) *taxiiResp {
	return c.do("POST", path, strings.NewReader(body), map[string]string{"Content-Type": "application/taxii+json;version=2.1"})
}

func objectIDs(t *testing.T, r *taxiiResp) []string {
	t.Helper()
	var env struct {
		More    bool             `json:"more"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("envelope: %v: %s", err, r.body)
	}
	var out []string
	for _, o := range env.Objects {
		out = append(out, fmt.Sprint(o["id"]))
	}
	return out
}

const (
	greenMark = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	amberMark = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	redMark   = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

func indicatorJSON(n int, modified, marking string) string {
	m := ""
	if marking != "" {
		m = fmt.Sprintf(`,"object_marking_refs":[%q]`, marking)
	}
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"%s}`,
		n, modified, n, m)
}

func indID(n int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n) }

// TestTAXII walks every TAXII 2.1 endpoint and filter as partners and
// users, and checks that no partner sees what its clearance or rights
// forbid, also not through the manifest, versions or counts.
func TestTAXII(t *testing.T) {
	e := newEnv(t)
	adminTok, _ := e.user(vigil.RoleAdmin)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	shared := &vigil.Collection{Title: "Sector IOCs", Description: "Shared with the sector"}
	hidden := &vigil.Collection{Title: "Internal"}
	for _, c := range []*vigil.Collection{shared, hidden} {
		must(t, e.svc.Sharing.CreateCollection(sys, c))
	}
	mkPartner := func(name string, tlp vigil.TLP, read, write bool) *taxiiClient {
		tok, err := e.svc.Sharing.CreatePartner(sys, &vigil.Partner{Name: name, MaxTLP: tlp,
			Access: []vigil.CollectionAccess{{CollectionID: shared.ID, Read: read, Write: write}}})
		must(t, err)
		return &taxiiClient{t: t, base: e.ts.URL, user: name, pass: tok}
	}
	green := mkPartner("green-bank", vigil.TLPGreen, true, false)
	amber := mkPartner("amber-cert", vigil.TLPAmber, true, true)
	admin := &taxiiClient{t: t, base: e.ts.URL, bearer: adminTok}
	coll := "/taxii2/api/collections/" + shared.ID + "/"

	t.Run("Discovery", func(t *testing.T) {
		r := green.get("/taxii2/")
		d := r.json(t)
		if r.status != 200 || d["title"] == nil || d["default"] != "/taxii2/api/" || fmt.Sprint(d["api_roots"]) != "[/taxii2/api/]" {
			t.Errorf("discovery: %d %s", r.status, r.body)
		}
		r = green.get("/taxii2/api/")
		root := r.json(t)
		if r.status != 200 || fmt.Sprint(root["versions"]) != "[application/taxii+json;version=2.1]" || root["max_content_length"].(float64) <= 0 {
			t.Errorf("api root: %s", r.body)
		}
		// Content negotiation: the unversioned TAXII type is fine; others 406.
		for accept, want := range map[string]int{"application/taxii+json": 200, "application/json": 406,
			"application/taxii+json;version=2.0": 406, "*/*": 200} {
			c := *green
			c.accept = accept
			if r := c.get("/taxii2/api/"); r.status != want {
				t.Errorf("Accept %q: %d, want %d", accept, r.status, want)
			}
		}
		if r := green.get("/taxii2/api/collections"); r.status != http.StatusPermanentRedirect || r.header.Get("Location") != "/taxii2/api/collections/" {
			t.Errorf("no trailing slash: %d %s", r.status, r.header.Get("Location"))
		}
		anon := &taxiiClient{t: t, base: e.ts.URL}
		if r := anon.get("/taxii2/"); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("anonymous: %d %v", r.status, r.header)
		}
		wrong := *green
		wrong.user = "amber-cert" // green's token under another partner's name
		if r := wrong.get("/taxii2/"); r.status != 401 {
			t.Errorf("wrong name: %d", r.status)
		}
		if r := green.get("/taxii2/api/nope/"); r.status != 404 {
			t.Errorf("unknown endpoint: %d", r.status)
		}
	})

	t.Run("Collections", func(t *testing.T) {
		r := green.get("/taxii2/api/collections/")
		var cs struct {
			Collections []map[string]any `json:"collections"`
		}
		json.Unmarshal(r.body, &cs)
		if len(cs.Collections) != 1 || cs.Collections[0]["id"] != shared.ID || cs.Collections[0]["can_read"] != true ||
			cs.Collections[0]["can_write"] != false || fmt.Sprint(cs.Collections[0]["media_types"]) != "[application/stix+json;version=2.1]" {
			t.Errorf("green's collections: %s", r.body)
		}
		if r := admin.get("/taxii2/api/collections/"); !strings.Contains(string(r.body), hidden.ID) {
			t.Errorf("admin does not see every collection: %s", r.body)
		}
		if r := green.get("/taxii2/api/collections/" + hidden.ID + "/"); r.status != 404 || strings.Contains(string(r.body), "Internal") {
			t.Errorf("a collection not granted: %d %s", r.status, r.body)
		}
		if r := green.get(coll); r.status != 200 || r.json(t)["title"] != "Sector IOCs" {
			t.Errorf("collection: %s", r.body)
		}
	})

	var statusID string
	t.Run("AddObjects", func(t *testing.T) {
		env := `{"objects":[` + strings.Join([]string{
			indicatorJSON(1, "2026-01-01T00:00:00.000Z", greenMark),
			indicatorJSON(2, "2026-01-01T00:00:00.000Z", amberMark),
			indicatorJSON(3, "2026-01-01T00:00:00.000Z", redMark),
			indicatorJSON(4, "2026-01-01T00:00:00.000Z", greenMark),
			`{"type":"x-acme-note","spec_version":"2.1","id":"x-acme-note--00000000-0000-4000-8000-000000000005","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","object_marking_refs":["` + greenMark + `"]}`,
			`{"type":"indicator","spec_version":"2.0","id":"indicator--00000000-0000-4000-8000-000000000006","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}`,
		}, ",") + `]}`
		if r := green.post(coll+"objects/", env); r.status != 403 {
			t.Errorf("read-only partner posts: %d", r.status)
		}
		if r := amber.do("POST", coll+"objects/", strings.NewReader(env), map[string]string{"Content-Type": "application/json"}); r.status != 415 {
			t.Errorf("wrong Content-Type: %d", r.status)
		}
		if r := amber.post(coll+"objects/", `not json`); r.status != 422 {
			t.Errorf("malformed envelope: %d %s", r.status, r.body)
		}
		r := amber.post(coll+"objects/", env)
		st := r.json(t)
		if r.status != 202 || st["status"] != "complete" || st["total_count"] != 6.0 || st["success_count"] != 5.0 || st["failure_count"] != 1.0 ||
			st["pending_count"] != 0.0 || st["pendings"] != nil {
			t.Fatalf("status: %d %s", r.status, r.body)
		}
		fails := st["failures"].([]any)
		if f := fails[0].(map[string]any); f["id"] != indID(6) || !strings.Contains(fmt.Sprint(f["message"]), "spec_version") || f["version"] == "" {
			t.Errorf("failure: %v", f)
		}
		statusID = st["id"].(string)
		if r := amber.get("/taxii2/api/status/" + statusID + "/"); r.status != 200 || r.json(t)["success_count"] != 5.0 {
			t.Errorf("status endpoint: %d %s", r.status, r.body)
		}
		if r := green.get("/taxii2/api/status/" + statusID + "/"); r.status != 404 {
			t.Errorf("another partner's status: %d", r.status)
		}
		// A second version of indicator 1, and the same version again.
		r = amber.post(coll+"objects/", `{"objects":[`+indicatorJSON(1, "2026-02-01T00:00:00.000Z", greenMark)+`,`+indicatorJSON(1, "2026-01-01T00:00:00.000Z", greenMark)+`]}`)
		if st := r.json(t); st["success_count"] != 2.0 {
			t.Errorf("versions: %s", r.body)
		}
	})

	t.Run("GetObjects", func(t *testing.T) {
		// green sees GREEN objects only: 1, 4 and the custom object.
		r := green.get(coll + "objects/")
		got := objectIDs(t, r)
		want := []string{indID(4), "x-acme-note--00000000-0000-4000-8000-000000000005", indID(1)}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("green's objects: %v, want %v (oldest added first)", got, want)
		}
		if r.header.Get("X-TAXII-Date-Added-First") == "" || r.header.Get("X-TAXII-Date-Added-Last") <= r.header.Get("X-TAXII-Date-Added-First") {
			t.Errorf("date headers: %v", r.header)
		}
		for _, leak := range []string{indID(2), indID(3)} {
			for _, p := range []string{"objects/", "manifest/", "objects/" + leak + "/", "objects/" + leak + "/versions/"} {
				if r := green.get(coll + p); strings.Contains(string(r.body), leak) {
					t.Errorf("%s leaked through %s", leak, p)
				}
			}
			if r := green.get(coll + "objects/" + leak + "/"); r.status != 404 {
				t.Errorf("object above green's clearance: %d", r.status)
			}
		}
		if got := objectIDs(t, amber.get(coll+"objects/")); len(got) != 4 { // + AMBER, not RED
			t.Errorf("amber sees %v", got)
		}
		if got := objectIDs(t, admin.get(coll+"objects/")); len(got) != 5 { // admins see RED too
			t.Errorf("admin sees %v", got)
		}
		// Filters.
		if got := objectIDs(t, green.get(coll+"objects/?match[type]=x-acme-note")); len(got) != 1 || !strings.HasPrefix(got[0], "x-acme-note") {
			t.Errorf("match[type]: %v", got)
		}
		if got := objectIDs(t, green.get(coll+"objects/?match[id]="+indID(4)+","+indID(1))); len(got) != 2 {
			t.Errorf("match[id] list: %v", got)
		}
		if got := objectIDs(t, green.get(coll+"objects/?match[spec_version]=2.1")); len(got) != 3 {
			t.Errorf("match[spec_version]: %v", got)
		}
		if got := objectIDs(t, green.get(coll+"objects/?match[version]=all")); len(got) != 4 {
			t.Errorf("match[version]=all: %v", got)
		}
		if got := objectIDs(t, green.get(coll+"objects/?match[version]=2026-01-01T00:00:00.000Z&match[id]="+indID(1))); len(got) != 1 {
			t.Errorf("match[version]=timestamp: %v", got)
		}
		// Paging with limit and next, then added_after from the last header.
		var all []string
		next := ""
		for i := 0; i < 10; i++ {
			q := "objects/?limit=1"
			if next != "" {
				q += "&next=" + next
			}
			r := green.get(coll + q)
			m := r.json(t)
			all = append(all, objectIDs(t, r)...)
			if m["more"] != true {
				break
			}
			next = m["next"].(string)
		}
		if strings.Join(all, ",") != strings.Join(want, ",") {
			t.Errorf("paged: %v", all)
		}
		// A next value is sealed: it shows no position, and one changed
		// by a single bit, or made the old readable way, is refused.
		first := green.get(coll + "objects/?limit=1").json(t)["next"].(string)
		raw, _ := base64.RawURLEncoding.DecodeString(first)
		if len(raw) < 28 || bytes.Contains(raw, []byte("v1:")) {
			t.Errorf("next is not sealed: %q", raw)
		}
		raw[len(raw)-1] ^= 1
		for _, forged := range []string{base64.RawURLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString([]byte("v1:1"))} {
			if r := green.get(coll + "objects/?limit=1&next=" + forged); r.status != 400 {
				t.Errorf("forged next %q: %d", forged, r.status)
			}
		}
		last := r.header.Get("X-TAXII-Date-Added-Last")
		r2 := green.get(coll + "objects/?added_after=" + last)
		if r2.status != 200 || strings.TrimSpace(string(r2.body)) != "{}" || r2.header.Get("X-TAXII-Date-Added-First") != "" {
			t.Errorf("added_after the last: %s %v", r2.body, r2.header)
		}
		for _, bad := range []string{"?limit=0", "?limit=x", "?next=forged", "?added_after=yesterday", "?match[version]=all,last", "?limit=1&limit=2"} {
			if r := green.get(coll + "objects/" + bad); r.status != 400 {
				t.Errorf("%s: %d", bad, r.status)
			}
		}
	})

	t.Run("ManifestAndVersions", func(t *testing.T) {
		r := green.get(coll + "manifest/")
		var man struct {
			Objects []map[string]any `json:"objects"`
		}
		json.Unmarshal(r.body, &man)
		if len(man.Objects) != 3 || man.Objects[0]["media_type"] != "application/stix+json;version=2.1" || man.Objects[0]["date_added"] == nil ||
			man.Objects[0]["version"] == nil || r.header.Get("X-TAXII-Date-Added-Last") == "" {
			t.Errorf("manifest: %s", r.body)
		}
		r = green.get(coll + "objects/" + indID(1) + "/versions/")
		var vs struct {
			Versions []string `json:"versions"`
		}
		json.Unmarshal(r.body, &vs)
		if len(vs.Versions) != 2 || !strings.HasPrefix(vs.Versions[0], "2026-01-01T00:00:00") {
			t.Errorf("versions: %s", r.body)
		}
		r = green.get(coll + "objects/" + indID(1) + "/")
		if !strings.Contains(string(r.body), "2026-02-01") || strings.Contains(string(r.body), `"modified":"2026-01-01`) {
			t.Errorf("object (last version): %s", r.body)
		}
		if r := green.get(coll + "objects/" + indID(1) + "/?match[version]=first"); !strings.Contains(string(r.body), `"modified":"2026-01-01`) {
			t.Errorf("first version: %s", r.body)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if r := green.do("DELETE", coll+"objects/"+indID(4)+"/", nil, nil); r.status != 403 {
			t.Errorf("read-only partner deletes: %d", r.status)
		}
		if r := amber.do("DELETE", coll+"objects/"+indID(4)+"/", nil, nil); r.status != 200 || len(r.body) != 0 {
			t.Errorf("delete: %d %s", r.status, r.body)
		}
		if r := amber.get(coll + "objects/" + indID(4) + "/"); r.status != 404 {
			t.Errorf("deleted object: %d", r.status)
		}
		if r := amber.get(coll + "manifest/"); strings.Contains(string(r.body), indID(4)) {
			t.Error("deleted object in the manifest")
		}
	})

	t.Run("Revoked", func(t *testing.T) {
		ps, _ := e.svc.Sharing.FindPartners(sys)
		for _, p := range ps {
			if p.Name == "green-bank" {
				must(t, e.svc.Sharing.RevokePartner(sys, p.ID))
			}
		}
		if r := green.get(coll + "objects/"); r.status != 401 {
			t.Errorf("revoked partner: %d", r.status)
		}
	})
}

// TestTAXIITooLarge: a POST past max_content_length is 413, whether it
// says so in Content-Length or streams without one.
func TestTAXIITooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 100 MiB")
	}
	e := newEnv(t)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	c := &vigil.Collection{Title: "Inbox"}
	must(t, e.svc.Sharing.CreateCollection(sys, c))
	tok, err := e.svc.Sharing.CreatePartner(sys, &vigil.Partner{Name: "big", Access: []vigil.CollectionAccess{{CollectionID: c.ID, Read: true, Write: true}}})
	must(t, err)
	cl := &taxiiClient{t: t, base: e.ts.URL, user: "big", pass: tok}
	// Streamed (chunked): an envelope that never ends, made of spaces.
	body := io.MultiReader(strings.NewReader(`{"objects":[`), io.LimitReader(spaces{}, 101<<20))
	r := cl.do("POST", "/taxii2/api/collections/"+c.ID+"/objects/", body, map[string]string{"Content-Type": "application/taxii+json;version=2.1"})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed past the limit: %d %s", r.status, r.body)
	}
	objs, _ := e.svc.Sharing.FindObjects(sys, c.ID, vigil.ObjectFilter{})
	if len(objs.Objects) != 0 {
		t.Errorf("%d objects stored", len(objs.Objects))
	}
}

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
