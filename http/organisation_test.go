package http_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// TestOrganisationsContract follows the contract over HTTP: an
// admin creates a member organisation and gives a user a role in it; that
// user reports into it; the coordinator's own staff cannot tell that the
// incident exists.
func TestOrganisationsContract(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	coordResp, _ := e.user(vigil.RoleResponder)

	var org vigil.Organisation
	e.do(req{Method: "POST", Path: "/api/v1/organisations", Token: admin, Body: map[string]any{"slug": "north", "name": "North Water", "kind": "member"}}).
		want(t, http.StatusCreated).JSON(t, &org)
	if org.Slug != "north" || org.Kind != vigil.OrgMember {
		t.Fatalf("created %+v", org)
	}
	e.do(req{Method: "POST", Path: "/api/v1/organisations", Token: admin, Body: map[string]any{"slug": "north", "name": "Again"}}).want(t, http.StatusConflict)
	e.do(req{Method: "POST", Path: "/api/v1/organisations", Token: admin, Body: map[string]any{"slug": "North Water!", "name": "x"}}).want(t, http.StatusBadRequest)

	// A user of the member only: no role in the default organisation.
	var u vigil.User
	e.do(req{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{"username": "nadia", "password": "a long enough passphrase"}}).
		want(t, http.StatusCreated).JSON(t, &u)
	e.do(req{Method: "POST", Path: "/api/v1/organisations/north/members", Token: admin, Body: map[string]any{"username": "nadia", "role": "responder"}}).
		want(t, http.StatusCreated)
	e.do(req{Method: "POST", Path: "/api/v1/organisations/north/members", Token: admin, Body: map[string]any{"username": "nadia", "role": "viewer"}}).
		want(t, http.StatusConflict)
	e.do(req{Method: "POST", Path: "/api/v1/organisations/nowhere/members", Token: admin, Body: map[string]any{"username": "nadia", "role": "viewer"}}).
		want(t, http.StatusNotFound)

	e.ownPassword("nadia", "a long enough passphrase")
	r := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": "nadia", "password": "a long enough passphrase"}}).want(t, http.StatusOK)
	var lr vigilhttp.LoginResponse
	r.JSON(t, &lr)
	nadia := map[string]string{"Cookie": r.Header.Get("Set-Cookie"), "X-CSRF-Token": lr.CSRFToken}

	var me vigilhttp.MeResponse
	e.do(req{Method: "GET", Path: "/api/v1/me", Header: nadia}).want(t, http.StatusOK).JSON(t, &me)
	if len(me.Organisations) != 1 || me.Organisations[0].Slug != "north" || me.Organisations[0].Role != vigil.RoleResponder {
		t.Errorf("me: %+v", me.Organisations)
	}

	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Header: nadia, Body: map[string]any{"title": "Telemetry outage at a pumping station"}}).
		want(t, http.StatusCreated).JSON(t, &inc)
	if inc.Organisation != "north" {
		t.Errorf("organisation of the incident: %q", inc.Organisation)
	}
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Header: nadia, Body: map[string]any{"title": "x", "organisation": vigil.DefaultOrganisationSlug}}).
		want(t, http.StatusBadRequest)
	var own vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: coordResp, Body: map[string]any{"title": "CERT portal scan"}}).
		want(t, http.StatusCreated).JSON(t, &own)
	if own.Organisation != vigil.DefaultOrganisationSlug {
		t.Errorf("the coordinator's incident is in %q", own.Organisation)
	}

	// The coordinator's responder: 404, and absent from lists, counts and search.
	id := "/api/v1/incidents/" + itoa(int(inc.ID))
	e.do(req{Method: "GET", Path: id, Token: coordResp}).want(t, http.StatusNotFound)
	e.do(req{Method: "GET", Path: "/api/v1/incidents/" + inc.Reference, Token: coordResp}).want(t, http.StatusNotFound)
	e.do(req{Method: "GET", Path: id + "/timeline", Token: coordResp}).want(t, http.StatusNotFound)
	var list vigilhttp.IncidentList
	e.do(req{Method: "GET", Path: "/api/v1/incidents?count=true", Token: coordResp}).want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != own.ID || list.Total == nil || *list.Total != 1 {
		t.Errorf("the coordinator's responder lists %d incidents (total %v)", len(list.Items), list.Total)
	}
	var count vigilhttp.IncidentCount
	e.do(req{Method: "GET", Path: "/api/v1/incidents/count", Token: coordResp}).want(t, http.StatusOK).JSON(t, &count)
	if count.Count != 1 {
		t.Errorf("count %d, want 1", count.Count)
	}
	var hits vigilhttp.SearchResults
	e.do(req{Method: "GET", Path: "/api/v1/search?q=pumping", Token: coordResp}).want(t, http.StatusOK).JSON(t, &hits)
	if len(hits.Items) != 0 {
		t.Errorf("search found %d hits in another organisation", len(hits.Items))
	}
	// The member sees its own, filtered by organisation or not.
	e.do(req{Method: "GET", Path: "/api/v1/incidents?organisation=north", Header: nadia}).want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Organisation != "north" {
		t.Errorf("the member's list: %+v", list.Items)
	}
	e.do(req{Method: "GET", Path: "/api/v1/incidents?organisation=default", Header: nadia}).want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("a filter widened the member's list: %d", len(list.Items))
	}
	e.do(req{Method: "GET", Path: "/api/v1/incidents?organisation=Bad!", Header: nadia}).want(t, http.StatusBadRequest)
	// The install's organisations, as each sees them.
	var orgs vigilhttp.OrganisationList
	e.do(req{Method: "GET", Path: "/api/v1/organisations", Header: nadia}).want(t, http.StatusOK).JSON(t, &orgs)
	if len(orgs.Organisations) != 1 || orgs.Organisations[0].Slug != "north" {
		t.Errorf("the member's organisations: %+v", orgs.Organisations)
	}
	e.do(req{Method: "GET", Path: "/api/v1/organisations/north", Token: coordResp}).want(t, http.StatusNotFound)
	e.do(req{Method: "GET", Path: "/api/v1/organisations", Token: admin}).want(t, http.StatusOK).JSON(t, &orgs)
	if len(orgs.Organisations) != 2 {
		t.Errorf("the admin's organisations: %d", len(orgs.Organisations))
	}
	// The member reports it up; the coordinator's responder gets it in
	// triage, and both see the link.
	var rep vigil.UpwardReport
	e.do(req{Method: "POST", Path: id + "/report-up", Header: nadia, Body: map[string]any{"share": []string{"description"}, "message": "Pumps on manual."}}).
		want(t, http.StatusCreated).JSON(t, &rep)
	var coordInc vigil.Incident
	e.do(req{Method: "GET", Path: "/api/v1/incidents/" + rep.CoordinatorIncidentReference, Token: coordResp}).want(t, http.StatusOK).JSON(t, &coordInc)
	if coordInc.Source != vigil.SourceMember || coordInc.Status != vigil.StatusTriage || coordInc.Organisation != vigil.DefaultOrganisationSlug {
		t.Errorf("the coordinator's incident: %+v", coordInc)
	}
	var reps vigilhttp.UpwardReportList
	e.do(req{Method: "GET", Path: id + "/reports-up", Header: nadia}).want(t, http.StatusOK).JSON(t, &reps)
	if len(reps.Reports) != 1 || reps.Reports[0].CoordinatorIncidentReference != coordInc.Reference {
		t.Errorf("the member's view of its report: %+v", reps.Reports)
	}
	e.do(req{Method: "GET", Path: id, Token: coordResp}).want(t, http.StatusNotFound)
	// A summary grant, set by the member's admin only.
	var nAdmin vigil.User
	e.do(req{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{"username": "nora", "password": "a long enough passphrase"}}).
		want(t, http.StatusCreated).JSON(t, &nAdmin)
	e.do(req{Method: "POST", Path: "/api/v1/organisations/north/members", Token: admin, Body: map[string]any{"username": "nora", "role": "admin"}}).
		want(t, http.StatusCreated)
	e.ownPassword("nora", "a long enough passphrase")
	r = e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": "nora", "password": "a long enough passphrase"}}).want(t, http.StatusOK)
	r.JSON(t, &lr)
	nora := map[string]string{"Cookie": r.Header.Get("Set-Cookie"), "X-CSRF-Token": lr.CSRFToken}
	e.do(req{Method: "GET", Path: "/api/v1/organisations/north", Header: nora}).want(t, http.StatusOK).JSON(t, &org)
	e.do(req{Method: "PATCH", Path: "/api/v1/organisations/north", Token: admin, Body: map[string]any{"coordinator_grant": "summary", "version": org.Version}}).
		want(t, http.StatusForbidden)
	e.do(req{Method: "PATCH", Path: "/api/v1/organisations/north", Header: nora, Body: map[string]any{"coordinator_grant": "summary", "version": org.Version}}).
		want(t, http.StatusOK).JSON(t, &org)
	var seen vigil.Incident
	e.do(req{Method: "GET", Path: id, Token: coordResp}).want(t, http.StatusOK).JSON(t, &seen)
	if !seen.SummaryOnly || seen.Title != inc.Title {
		t.Errorf("a summary: %+v", seen)
	}
	e.do(req{Method: "GET", Path: id + "/timeline", Token: coordResp}).want(t, http.StatusNotFound)

	// Suspension: read-only.
	e.do(req{Method: "PATCH", Path: "/api/v1/organisations/north", Token: admin, Body: map[string]any{"suspended": true, "version": org.Version}}).
		want(t, http.StatusOK)
	e.do(req{Method: "GET", Path: id, Header: nadia}).want(t, http.StatusOK)
	e.do(req{Method: "PATCH", Path: id, Header: nadia, Body: map[string]any{"summary": "x", "version": inc.Version}}).want(t, http.StatusForbidden)
}

// TestOrganisationMemberOwnThings checks, over HTTP, that a member's user
// (no role in the default organisation) reaches none of the default
// organisation's own things (its profile, key contacts, plans and TAXII
// collections), while what concerns their own incidents (the STIX export,
// a duty's draft) works from their own organisation's profile.
func TestOrganisationMemberOwnThings(t *testing.T) {
	e := newEnv(t)
	admin, _ := e.user(vigil.RoleAdmin)
	e.do(req{Method: "POST", Path: "/api/v1/organisations", Token: admin, Body: map[string]any{"slug": "north", "name": "North Water", "kind": "member"}}).
		want(t, http.StatusCreated)
	e.do(req{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{"username": "nadia", "password": "a long enough passphrase"}}).
		want(t, http.StatusCreated)
	e.do(req{Method: "POST", Path: "/api/v1/organisations/north/members", Token: admin, Body: map[string]any{"username": "nadia", "role": "admin"}}).
		want(t, http.StatusCreated)
	e.ownPassword("nadia", "a long enough passphrase")
	r := e.do(req{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]any{"username": "nadia", "password": "a long enough passphrase"}}).want(t, http.StatusOK)
	var lr vigilhttp.LoginResponse
	r.JSON(t, &lr)
	nadia := map[string]string{"Cookie": r.Header.Get("Set-Cookie"), "X-CSRF-Token": lr.CSRFToken}

	var p vigil.OrgProfile
	e.do(req{Method: "GET", Path: "/api/v1/settings/profile", Token: admin}).want(t, http.StatusOK).JSON(t, &p)
	p.Name, p.DPO = "The CERT", "Robin Crane, dpo@cert.example"
	e.do(req{Method: "PUT", Path: "/api/v1/settings/profile", Token: admin, Body: p}).want(t, http.StatusOK)
	e.do(req{Method: "POST", Path: "/api/v1/contacts", Token: admin, Body: map[string]any{"name": "Robin Crane", "roles": []string{"dpo"},
		"email": "dpo@cert.example"}}).want(t, http.StatusCreated)
	e.do(req{Method: "POST", Path: "/api/v1/collections", Token: admin, Body: map[string]any{"title": "CERT feed"}}).want(t, http.StatusCreated)

	e.do(req{Method: "GET", Path: "/api/v1/settings/profile", Header: nadia}).want(t, http.StatusForbidden)
	e.do(req{Method: "GET", Path: "/api/v1/plans", Header: nadia}).want(t, http.StatusForbidden)
	var contacts vigilhttp.ContactList
	e.do(req{Method: "GET", Path: "/api/v1/contacts", Header: nadia}).want(t, http.StatusOK).JSON(t, &contacts)
	if len(contacts.Contacts) != 0 || len(contacts.Public) == 0 {
		t.Errorf("the member's contacts: %d own, %d public", len(contacts.Contacts), len(contacts.Public))
	}
	var colls vigilhttp.CollectionList
	e.do(req{Method: "GET", Path: "/api/v1/collections", Header: nadia}).want(t, http.StatusOK).JSON(t, &colls)
	if len(colls.Collections) != 0 {
		t.Errorf("the member sees %d of the coordinator's collections", len(colls.Collections))
	}

	// Their own incident, under their own profile.
	var own vigil.OrgProfile
	e.do(req{Method: "GET", Path: "/api/v1/organisations/north/profile", Header: nadia}).want(t, http.StatusOK).JSON(t, &own)
	own.Name = "North Water plc"
	e.do(req{Method: "PUT", Path: "/api/v1/organisations/north/profile", Header: nadia, Body: own}).want(t, http.StatusOK)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Header: nadia, Body: map[string]any{"title": "Customer records emailed out",
		"status": "confirmed", "personal_data": true}}).want(t, http.StatusCreated).JSON(t, &inc)
	id := "/api/v1/incidents/" + itoa(int(inc.ID))
	r = e.do(req{Method: "GET", Path: id + "/stix", Header: nadia}).want(t, http.StatusOK)
	if body := string(r.Body); !strings.Contains(body, "North Water plc") || strings.Contains(body, "The CERT") {
		t.Errorf("the export does not name the member as its source: %.300s", body)
	}
	var obs vigilhttp.ObligationList
	e.do(req{Method: "GET", Path: id + "/obligations", Header: nadia}).want(t, http.StatusOK).JSON(t, &obs)
	if len(obs.Obligations) == 0 {
		t.Fatal("no duties")
	}
	var draft vigilhttp.ObligationDraft
	e.do(req{Method: "GET", Path: "/api/v1/obligations/" + itoa(int(obs.Obligations[0].ID)) + "/draft", Header: nadia}).
		want(t, http.StatusOK).JSON(t, &draft)
	if strings.Contains(draft.Draft, "Robin Crane") || strings.Contains(draft.Draft, "The CERT") {
		t.Errorf("the member's draft names the coordinator: %s", draft.Draft)
	}
}
