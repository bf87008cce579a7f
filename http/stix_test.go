package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
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
