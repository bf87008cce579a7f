package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestBadInput sends every kind of bad input and checks that each gets a
// 4xx problem naming the field, and that nothing is half-written.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Baseline"}}).want(t, http.StatusCreated).JSON(t, &inc)
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)

	tests := []struct {
		name    string
		method  string
		path    string
		body    any
		header  map[string]string
		status  int
		field   string // "" when the problem names no field
		noToken bool
	}{
		{"MalformedJSON", "POST", "/api/v1/incidents", `{"title": "x",`, nil, 400, "body", false},
		{"SyntaxError", "POST", "/api/v1/incidents", `{"title": x}`, nil, 400, "body", false},
		{"EmptyBody", "POST", "/api/v1/incidents", ``, nil, 400, "body", false},
		{"TwoObjects", "POST", "/api/v1/incidents", `{"title":"a"}{"title":"b"}`, nil, 400, "body", false},
		{"NotAnObject", "POST", "/api/v1/incidents", `["title"]`, nil, 400, "body", false},
		{"UnknownField", "POST", "/api/v1/incidents", map[string]any{"title": "x", "titel": "y"}, nil, 400, "titel", false},
		{"WrongType", "POST", "/api/v1/incidents", map[string]any{"title": 42}, nil, 400, "title", false},
		{"WrongNestedType", "POST", "/api/v1/incidents", map[string]any{"title": "x", "times": map[string]any{"occurred_at": 5}}, nil, 400, "times.occurred_at", false},
		{"BadTime", "POST", "/api/v1/incidents", map[string]any{"title": "x", "times": map[string]any{"aware_at": "last Tuesday"}}, nil, 400, "times.aware_at", false},
		{"TitleTooLong", "POST", "/api/v1/incidents", map[string]any{"title": strings.Repeat("x", vigil.MaxTitleLen+1)}, nil, 400, "title", false},
		{"UnknownEnum", "POST", "/api/v1/incidents", map[string]any{"title": "x", "severity": "apocalyptic"}, nil, 400, "severity", false},
		{"UnknownTLP", "POST", "/api/v1/incidents", map[string]any{"title": "x", "tlp": "PURPLE"}, nil, 400, "tlp", false},
		{"CategoryOutOfRange", "POST", "/api/v1/incidents", map[string]any{"title": "x", "category": 7}, nil, 400, "category", false},
		{"NULInTitle", "POST", "/api/v1/incidents", map[string]any{"title": "a\x00b"}, nil, 400, "title", false},
		{"NULInNested", "POST", "/api/v1/incidents", map[string]any{"title": "x", "affected_services": []string{"mail", "file\x00server"}}, nil, 400, "affected_services[1]", false},
		{"ControlInTitle", "POST", "/api/v1/incidents", map[string]any{"title": "a\x1bb"}, nil, 400, "title", false},
		{"NULInNote", "POST", path + "/timeline", map[string]any{"message": "seen\x00"}, nil, 400, "message", false},
		{"NotUTF8", "POST", "/api/v1/incidents", []byte("{\"title\": \"\xff\xfe\"}"), nil, 400, "body", false},
		{"TooLarge", "POST", "/api/v1/incidents", `{"title": "` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, "", false},
		{"WrongContentType", "POST", "/api/v1/incidents", `{"title":"x"}`, map[string]string{"Content-Type": "text/plain"}, 415, "", false},
		{"InvalidTransition", "POST", path + "/transitions", map[string]any{"to": "closed", "version": 1}, nil, 400, "to", false},
		{"TransitionUnknownStatus", "POST", path + "/transitions", map[string]any{"to": "vanished", "version": 1}, nil, 400, "to", false},
		{"DuplicateWithoutOriginal", "POST", path + "/transitions", map[string]any{"to": "duplicate", "version": 1}, nil, 400, "duplicate_of", false},
		{"StaleIfMatch", "PATCH", path, map[string]any{"title": "y"}, map[string]string{"If-Match": `"7"`}, 412, "", false},
		{"BadIfMatch", "PATCH", path, map[string]any{"title": "y"}, map[string]string{"If-Match": `banana`}, 400, "If-Match", false},
		{"InvalidObservable", "POST", path + "/observables", map[string]any{"observables": []map[string]any{{"type": "ipv4-addr", "value": "1.2.3.4"}, {"type": "ipv4-addr", "value": "999.1.1.1"}}}, nil, 400, "observables[1].value", false},
		{"UnknownObservableType", "POST", path + "/observables", map[string]any{"observables": []map[string]any{{"type": "ip", "value": "1.2.3.4"}}}, nil, 400, "observables[0].type", false},
		{"InvalidPastedLine", "POST", path + "/observables", map[string]any{"text": "1.2.3.4\nnot a thing at all\n"}, nil, 400, "text.lines[2]", false},
		{"UnknownQueryParam", "GET", "/api/v1/incidents?stauts=triage", nil, nil, 400, "stauts", false},
		{"BadQueryEnum", "GET", "/api/v1/incidents?severity=mild", nil, nil, 400, "severity", false},
		{"BadQueryTime", "GET", "/api/v1/incidents?created_after=soon", nil, nil, 400, "created_after", false},
		{"BadLimit", "GET", "/api/v1/incidents?limit=100000", nil, nil, 400, "limit", false},
		{"BadCursor", "GET", "/api/v1/incidents?cursor=not-a-cursor", nil, nil, 400, "cursor", false},
		{"NoSuchIncident", "GET", "/api/v1/incidents/999999", nil, nil, 404, "", false},
		{"BadIncidentID", "GET", "/api/v1/incidents/abc", nil, nil, 404, "", false},
		{"NoSuchEndpoint", "GET", "/api/v1/nothing", nil, nil, 404, "", false},
		{"WrongMethod", "DELETE", path, nil, nil, 405, "", false},
		{"NoAuth", "GET", "/api/v1/incidents", nil, nil, 401, "", true},
		{"BadToken", "GET", "/api/v1/incidents", nil, map[string]string{"Authorization": "Bearer vgl_wrong"}, 401, "", true},
		{"BadAuthScheme", "GET", "/api/v1/incidents", nil, map[string]string{"Authorization": "Basic YTpi"}, 401, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req{Method: tt.method, Path: tt.path, Body: tt.body, Header: tt.header, Raw: true}
			if !tt.noToken {
				r.Token = tok
			}
			resp := e.do(r).want(t, tt.status)
			p := resp.Problem(t)
			if p.Status != tt.status || p.Detail == "" || p.Type != "about:blank" || p.Title == "" || p.RequestID == "" {
				t.Errorf("problem = %+v", p)
			}
			if tt.field != "" {
				var fields []string
				for _, f := range p.Errors {
					fields = append(fields, f.Field)
				}
				if !contains(fields, tt.field) {
					t.Errorf("problem names %v, want %q (%s)", fields, tt.field, p.Detail)
				}
			}
		})
	}

	// Nothing was half-written: one incident, untouched.
	var got vigil.Incident
	e.do(req{Method: "GET", Path: path, Token: tok}).want(t, http.StatusOK).JSON(t, &got)
	if got.Version != 1 || got.Title != "Baseline" || got.Status != vigil.StatusTriage {
		t.Errorf("incident after bad input = %+v", got)
	}
	var count struct{ Count int }
	e.do(req{Method: "GET", Path: "/api/v1/incidents/count", Token: tok}).want(t, http.StatusOK).JSON(t, &count)
	if count.Count != 1 {
		t.Errorf("incidents = %d, want 1", count.Count)
	}
	var obs struct{ Items []any }
	e.do(req{Method: "GET", Path: path + "/observables", Token: tok}).want(t, http.StatusOK).JSON(t, &obs)
	if len(obs.Items) != 0 {
		t.Errorf("observables = %d after refused batches, want 0", len(obs.Items))
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
