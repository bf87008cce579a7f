package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/stix"
)

// TestIncidentSTIX: an incident with observables comes out as a STIX 2.1
// bundle with the STIX media type; max_tlp keeps what is above it out.
func TestIncidentSTIX(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Invoice phishing", "status": "confirmed",
		"type": "phishing", "tlp": "AMBER"}}).want(t, http.StatusCreated).JSON(t, &inc)
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	e.do(req{Method: "POST", Path: path + "/observables", Token: tok, Body: map[string]any{"observables": []map[string]any{
		{"type": "domain-name", "value": "examp1e-login.com", "ioc": true, "tlp": "GREEN"},
		{"type": "user-account", "value": "j.smith", "tlp": "RED"},
	}}}).want(t, http.StatusCreated)
	r := e.do(req{Method: "GET", Path: path + "/stix?report=true", Token: tok}).want(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != stix.MediaType {
		t.Errorf("Content-Type %q", ct)
	}
	var b stix.Bundle
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, o := range b.Objects {
		types[o.Type()]++
	}
	for _, want := range []string{"identity", "incident", "domain-name", "indicator", "sighting", "report", "user-account", "marking-definition"} {
		if types[want] == 0 {
			t.Errorf("no %s in %v", want, types)
		}
	}
	if !strings.Contains(string(r.Body), `"pattern":"[domain-name:value = 'examp1e-login.com']"`) {
		t.Errorf("indicator pattern missing:\n%s", r.Body)
	}
	r = e.do(req{Method: "GET", Path: path + "/stix?max_tlp=GREEN", Token: tok}).want(t, http.StatusOK)
	if strings.Contains(string(r.Body), "j.smith") || !strings.Contains(string(r.Body), "examp1e-login.com") {
		t.Errorf("max_tlp=green:\n%s", r.Body)
	}
	e.do(req{Method: "GET", Path: path + "/stix?max_tlp=purple", Token: tok, Raw: true}).want(t, http.StatusBadRequest)
}

// TestPublishIndicators: a responder previews what leaves, shares it,
// the timeline says so, and a partner reads the indicators over TAXII;
// nothing above TLP:AMBER and not the incident itself.
func TestPublishIndicators(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	c := &vigil.Collection{Title: "Sector IOCs"}
	must(t, e.svc.Sharing.CreateCollection(sys, c))
	ptok, err := e.svc.Sharing.CreatePartner(sys, &vigil.Partner{Name: "cert", MaxTLP: vigil.TLPAmber,
		Access: []vigil.CollectionAccess{{CollectionID: c.ID, Read: true}}})
	must(t, err)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Secret merger phishing", "status": "confirmed",
		"tlp": "AMBER"}}).want(t, http.StatusCreated).JSON(t, &inc)
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	e.do(req{Method: "POST", Path: path + "/observables", Token: tok, Body: map[string]any{"observables": []map[string]any{
		{"type": "domain-name", "value": "examp1e-login.com", "ioc": true, "tlp": "GREEN"},
		{"type": "ipv4-addr", "value": "203.0.113.66", "ioc": true, "tlp": "AMBER+STRICT"},
		{"type": "ipv4-addr", "value": "198.51.100.7", "ioc": false, "tlp": "GREEN"},
	}}}).want(t, http.StatusCreated)
	var res vigilhttp.PublicationResult
	e.do(req{Method: "POST", Path: path + "/publish", Token: tok, Body: map[string]any{"collection_id": c.ID, "preview": true}}).
		want(t, http.StatusOK).JSON(t, &res)
	preview, _ := json.Marshal(res.Objects)
	if res.Status != nil || !strings.Contains(string(preview), "examp1e-login.com") || strings.Contains(string(preview), "203.0.113.66") ||
		strings.Contains(string(preview), "198.51.100.7") || strings.Contains(string(preview), "Secret merger") {
		t.Errorf("preview: %s", preview)
	}
	if page, _ := e.svc.Sharing.FindObjects(sys, c.ID, vigil.ObjectFilter{}); len(page.Objects) != 0 {
		t.Error("the preview shared something")
	}
	e.do(req{Method: "POST", Path: path + "/publish", Token: tok, Body: map[string]any{"collection_id": c.ID}}).want(t, http.StatusOK).JSON(t, &res)
	if res.Status == nil || res.Status.SuccessCount != len(res.Objects) || res.Status.FailureCount != 0 {
		t.Fatalf("publish: %+v", res.Status)
	}
	var tl vigil.TimelinePage
	e.do(req{Method: "GET", Path: path + "/timeline?kind=sharing", Token: tok}).want(t, http.StatusOK).JSON(t, &tl)
	if len(tl.Items) != 1 || !strings.Contains(tl.Items[0].Message, "Shared 1 indicators") {
		t.Errorf("timeline: %+v", tl.Items)
	}
	cl := &taxiiClient{t: t, base: e.ts.URL, user: "cert", pass: ptok}
	r := cl.get("/taxii2/api/collections/" + c.ID + "/objects/?match[type]=indicator")
	if ids := objectIDs(t, r); len(ids) != 1 || !strings.Contains(string(r.body), "[domain-name:value = 'examp1e-login.com']") {
		t.Errorf("partner reads: %s", r.body)
	}
	e.do(req{Method: "POST", Path: path + "/publish", Token: tok, Body: map[string]any{"collection_id": "nope"}}).want(t, http.StatusBadRequest)
}

// TestHitSighting: a feed's indicator matches an incident's observable;
// the hit is listed, and its sighting shared to a collection a partner
// reads, after a preview; the partner sees the sighting, not the value.
func TestHitSighting(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	feed := &vigil.Collection{Title: "Sector feed"}
	out := &vigil.Collection{Title: "Our sightings"}
	must(t, e.svc.Sharing.CreateCollection(sys, feed))
	must(t, e.svc.Sharing.CreateCollection(sys, out))
	ptok, err := e.svc.Sharing.CreatePartner(sys, &vigil.Partner{Name: "cert", MaxTLP: vigil.TLPAmber,
		Access: []vigil.CollectionAccess{{CollectionID: out.ID, Read: true}}})
	must(t, err)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Beaconing", "tlp": "GREEN"}}).
		want(t, http.StatusCreated).JSON(t, &inc)
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	e.do(req{Method: "POST", Path: path + "/observables", Token: tok, Body: map[string]any{"observables": []map[string]any{
		{"type": "ipv4-addr", "value": "10.20.30.40"}}}}).want(t, http.StatusCreated)
	const indID = "indicator--0c6e3d4a-1f2b-4c5d-8e9f-a0b1c2d3e4f5"
	ind := `{"type":"indicator","spec_version":"2.1","id":"` + indID + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"C2 range","confidence":90,"pattern":"[ipv4-addr:value ISSUBSET '10.20.0.0/16']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`
	info, err := stix.Check([]byte(ind))
	must(t, err)
	_, err = e.svc.Sharing.AddObjects(sys, feed.ID, []*vigil.IncomingObject{{Raw: []byte(ind), ID: info.ID, Type: info.Type,
		SpecVersion: info.SpecVersion, Version: info.Version, TLP: info.TLP}}, nil)
	must(t, err)
	if _, err := e.svc.IOC.MatchIOCs(sys, 1000); err != nil {
		t.Fatal(err)
	}
	var page vigil.HitPage
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/hits?incident_id=%d", inc.ID), Token: tok}).want(t, http.StatusOK).JSON(t, &page)
	if len(page.Hits) != 1 || page.Hits[0].IndicatorName != "C2 range" || page.Hits[0].Match != vigil.MatchCIDR || !page.Hits[0].Retro ||
		page.Hits[0].SeenTLP != vigil.TLPGreen || page.Hits[0].Source != "Sector feed" {
		t.Fatalf("hits: %+v", page.Hits)
	}
	hit := page.Hits[0].ID
	var res vigilhttp.PublicationResult
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/hits/%d/share", hit), Token: tok, Body: map[string]any{"collection_id": out.ID, "preview": true}}).
		want(t, http.StatusOK).JSON(t, &res)
	if res.Status != nil || len(res.Objects) != 3 || res.Objects[2].Type() != "sighting" {
		t.Fatalf("preview: %+v", res)
	}
	if p, _ := e.svc.Sharing.FindObjects(sys, out.ID, vigil.ObjectFilter{}); len(p.Objects) != 0 {
		t.Error("the preview shared something")
	}
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/hits/%d/share", hit), Token: tok, Body: map[string]any{"collection_id": out.ID}}).
		want(t, http.StatusOK).JSON(t, &res)
	if res.Status == nil || res.Status.SuccessCount != 3 {
		t.Fatalf("share: %+v", res.Status)
	}
	var h vigil.IOCHit
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/hits/%d", hit), Token: tok}).want(t, http.StatusOK).JSON(t, &h)
	if h.SharedAt == nil {
		t.Error("the hit does not say it was shared")
	}
	var tl vigil.TimelinePage
	e.do(req{Method: "GET", Path: path + "/timeline?kind=sharing", Token: tok}).want(t, http.StatusOK).JSON(t, &tl)
	if len(tl.Items) != 1 || !strings.Contains(tl.Items[0].Message, "Shared a sighting of indicator "+indID) {
		t.Errorf("timeline: %+v", tl.Items)
	}
	cl := &taxiiClient{t: t, base: e.ts.URL, user: "cert", pass: ptok}
	r := cl.get("/taxii2/api/collections/" + out.ID + "/objects/?match[type]=sighting")
	if ids := objectIDs(t, r); len(ids) != 1 || !strings.Contains(string(r.body), `"sighting_of_ref":"`+indID+`"`) || strings.Contains(string(r.body), "10.20.30.40") {
		t.Errorf("partner reads: %s", r.body)
	}
	// Bad input: no such collection, no such hit.
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/hits/%d/share", hit), Token: tok, Body: map[string]any{"collection_id": "nope"}}).want(t, http.StatusBadRequest)
	e.do(req{Method: "POST", Path: "/api/v1/hits/999999/share", Token: tok, Body: map[string]any{"collection_id": out.ID}}).want(t, http.StatusNotFound)
	e.do(req{Method: "GET", Path: "/api/v1/hits?limit=0", Token: tok, Raw: true}).want(t, http.StatusBadRequest)
}
