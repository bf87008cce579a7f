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
