package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// TestIntelPage: an admin adds a collection, invites a partner (its token
// shown once) and a feed, each after a refused attempt; an indicator in
// the collection matches an incident's observable; the hit shows on the
// intel page and the incident, and a responder shares its sighting after
// seeing exactly what leaves.
func TestIntelPage(t *testing.T) {
	e := newEnv(t)
	e.user("ada", vigil.RoleAdmin)
	rita := e.user("rita", vigil.RoleResponder)
	a := e.login("ada")
	_, body := a.get("/intel")
	if !strings.Contains(body, "No hits yet") || !strings.Contains(body, "No collections yet") || !strings.Contains(body, "No partners yet") {
		t.Errorf("empty page:\n%s", excerpt(body))
	}
	resp, body := a.post("/intel/collections", url.Values{"title": {""}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Give the collection a title") {
		t.Errorf("collection errors:\n%s", excerpt(body))
	}
	resp, body = a.post("/intel/collections", url.Values{"title": {"Sector feed"}, "description": {"Water sector indicators"}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	colls, _ := e.svc.Sharing.FindCollections(system())
	if len(colls) != 1 {
		t.Fatalf("collections: %v", colls)
	}
	coll := colls[0]
	resp, body = a.post("/intel/partners", url.Values{"name": {"bad name!"}, "max_tlp": {"GREEN"}, "read": {coll.ID}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "HTTP Basic username") || !strings.Contains(body, `value="bad name!"`) {
		t.Errorf("partner errors:\n%s", excerpt(body))
	}
	resp, body = a.post("/intel/partners", url.Values{"name": {"water-isac"}, "max_tlp": {"AMBER"}, "read": {coll.ID}, "write": {coll.ID}})
	wantStatus(t, resp, body, http.StatusCreated)
	if !strings.Contains(body, `id="partner-token">vgp_`) || !strings.Contains(body, "/taxii2/api/") {
		t.Errorf("partner token not shown:\n%s", excerpt(body))
	}
	_, body = a.get("/intel")
	if strings.Contains(body, `id="partner-token"`) || !strings.Contains(body, "water-isac") || !strings.Contains(body, "Sector feed: read, write") {
		t.Errorf("partners table:\n%s", excerpt(body))
	}
	resp, body = a.post("/intel/feeds", url.Values{"name": {"MISP"}, "url": {"ftp://x"}, "collection_id": {coll.ID}, "poll_interval": {"30"}})
	wantStatus(t, resp, body, http.StatusBadRequest)
	if !strings.Contains(body, `value="30"`) || !strings.Contains(body, `id="f-url"`) {
		t.Errorf("feed errors:\n%s", excerpt(body))
	}
	resp, body = a.post("/intel/feeds", url.Values{"name": {"MISP"}, "url": {"https://misp.example.org/taxii2/api/collections/1/"}, "collection_id": {coll.ID}, "poll_interval": {"30"}})
	wantStatus(t, resp, body, http.StatusSeeOther)

	// An incident's observable, then intelligence that matches it.
	inc := &vigil.Incident{Title: "Beaconing from the file server", TLP: vigil.TLPGreen}
	rctx := as(rita)
	if err := e.svc.Incidents.CreateIncident(rctx, inc); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Observables.AddObservables(rctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsDomain, Value: "cdn.evil.example"}}); err != nil {
		t.Fatal(err)
	}
	ind := `{"type":"indicator","spec_version":"2.1","id":"indicator--0c6e3d4a-1f2b-4c5d-8e9f-a0b1c2d3e4f5","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Evil CDN","confidence":75,"pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	if _, err := e.svc.Sharing.AddObjects(system(), coll.ID, []*vigil.IncomingObject{{Raw: []byte(ind), ID: "indicator--0c6e3d4a-1f2b-4c5d-8e9f-a0b1c2d3e4f5",
		Type: "indicator", SpecVersion: "2.1", Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), TLP: vigil.TLPGreen}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.IOC.MatchIOCs(system(), 1000); err != nil {
		t.Fatal(err)
	}
	r := e.login("rita")
	_, body = r.get("/intel")
	if !strings.Contains(body, "cdn.evil.example") || !strings.Contains(body, "Evil CDN") || !strings.Contains(body, "confidence 75") ||
		!strings.Contains(body, "Sector feed (feed MISP)") || !strings.Contains(body, "seen before it arrived") || strings.Contains(body, "water-isac") {
		t.Errorf("responder's intel page:\n%s", excerpt(body))
	}
	_, body = r.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, `id="intel"`) || !strings.Contains(body, "under domain") || !strings.Contains(body, "/share") {
		t.Errorf("incident page:\n%s", excerpt(body))
	}
	hits, _ := e.svc.IOC.FindHits(rctx, vigil.HitFilter{IncidentID: inc.ID})
	if len(hits.Hits) != 1 {
		t.Fatalf("hits: %+v", hits.Hits)
	}
	share := fmt.Sprintf("/intel/hits/%d/share", hits.Hits[0].ID)
	_, body = r.get(share)
	preview := html.UnescapeString(body)
	if !strings.Contains(preview, `"sighting_of_ref": "indicator--0c6e3d4a-1f2b-4c5d-8e9f-a0b1c2d3e4f5"`) || strings.Contains(preview[strings.Index(preview, "sighting-preview"):], "cdn.evil.example") {
		t.Errorf("share preview:\n%s", excerpt(body))
	}
	resp, body = r.post(share, url.Values{"collection_id": {coll.ID}})
	wantStatus(t, resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/incidents/%d#intel", inc.ID) {
		t.Errorf("after sharing: %s", loc)
	}
	_, body = r.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(body, "sighting shared") {
		t.Errorf("incident page after sharing:\n%s", excerpt(body))
	}
	page, _ := e.svc.Sharing.FindObjects(system(), coll.ID, vigil.ObjectFilter{Types: []string{"sighting"}})
	if len(page.Objects) != 1 {
		t.Errorf("sightings in the collection: %d", len(page.Objects))
	}
	// A viewer reads hits but may not share.
	e.user("vic", vigil.RoleViewer)
	v := e.login("vic")
	if resp, _ := v.get(share); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer opens the share page: %d", resp.StatusCode)
	}
	if resp, _ := v.post(fmt.Sprintf("/intel/partners/%d/revoke", 1), url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer revokes a partner: %d", resp.StatusCode)
	}
}
