package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// The alert triage queue: groups of alerts waiting for a human, each to
// acknowledge, dismiss with a reason, promote to an incident, attach to
// one, or merge; one at a time or many at once.

type queueData struct {
	Page     *vigil.AlertGroupPage
	Filter   vigil.AlertGroupFilter
	States   []vigil.GroupState
	Sorts    []string
	Types    []vigil.IncidentType
	Query    url.Values
	Prev     string
	Next     string
	AllState bool
	// Hits counts, by group, the threat intelligence matches on its alerts.
	Hits map[int64]int
}

func (h *Handler) alertQueue(w http.ResponseWriter, r *http.Request) error {
	if err := requirePerm(r, vigil.PermAlertRead); err != nil {
		return err
	}
	q := r.URL.Query()
	f := vigil.AlertGroupFilter{Sort: q.Get("sort"), Limit: 50}
	for _, s := range q["state"] {
		f.States = append(f.States, vigil.GroupState(s))
	}
	for _, s := range q["severity"] {
		f.Severities = append(f.Severities, vigil.Severity(s))
	}
	f.Offset, _ = strconv.Atoi(q.Get("offset"))
	f.Offset = max(0, f.Offset)
	page, err := h.Services.Alerts.FindAlertGroups(r.Context(), f)
	if err != nil {
		return err
	}
	d := &queueData{Page: page, Filter: f, States: vigil.GroupStates, Sorts: vigil.GroupSorts, Types: vigil.IncidentTypes, Query: q}
	ids := make([]int64, len(page.Groups))
	for i, g := range page.Groups {
		ids[i] = g.ID
	}
	d.Hits, _ = h.Services.IOC.CountHitsByGroup(r.Context(), ids) // none for those who may not see intelligence
	_ = f.Normalize()
	d.Filter = f
	if f.Offset > 0 {
		d.Prev = withOffset(q, max(0, f.Offset-f.Limit))
	}
	if f.Offset+len(page.Groups) < page.Total {
		d.Next = withOffset(q, f.Offset+f.Limit)
	}
	return h.render(w, r, http.StatusOK, "alerts.html", h.newPage(r, "Alerts", "alerts", d))
}

func withOffset(q url.Values, off int) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("offset", strconv.Itoa(off))
	return "/alerts?" + c.Encode()
}

// alertAction applies one decision to the groups ticked on the queue or
// the group page.
func (h *Handler) alertAction(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	a := vigil.GroupAction{Action: f.Get("action"), Reason: f.Get("reason"), Title: strings.TrimSpace(f.Get("title")),
		Severity: vigil.Severity(f.Get("severity")), Type: vigil.IncidentType(f.Get("type"))}
	for _, s := range f["group"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			a.GroupIDs = append(a.GroupIDs, id)
		}
	}
	back := "/alerts"
	if b := f.Get("back"); strings.HasPrefix(b, "/alerts") {
		back = b
	}
	switch a.Action {
	case "attach":
		ref := strings.TrimSpace(f.Get("incident"))
		inc, err := h.findIncidentRef(r, ref)
		if err != nil {
			h.redirect(w, r, back, "No incident "+ref+" that you can see; give its reference, such as INC-2026-000123.")
			return nil
		}
		a.IncidentID = inc.ID
	case "merge":
		// The first group ticked takes the others' alerts.
		if len(a.GroupIDs) > 0 {
			a.IntoID = a.GroupIDs[0]
			a.GroupIDs = a.GroupIDs[1:]
			if len(a.GroupIDs) == 0 {
				h.redirect(w, r, back, "Tick two or more groups to merge them.")
				return nil
			}
		}
	}
	incID, err := h.Services.Alerts.ActOnGroups(r.Context(), a)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			var msgs []string
			for _, fe := range vigil.ErrorFields(err) {
				msgs = append(msgs, fe.Message)
			}
			h.redirect(w, r, back, strings.Join(msgs, " "))
			return nil
		}
		return err
	}
	n := len(a.GroupIDs)
	switch a.Action {
	case "promote", "attach":
		h.redirect(w, r, fmt.Sprintf("/incidents/%d", incID), vigil.Plural(n, "alert group now feeds", "alert groups now feed")+" this incident.")
	case "merge":
		h.redirect(w, r, fmt.Sprintf("/alerts/groups/%d", a.IntoID), vigil.Plural(n, "group", "groups")+" merged into this one.")
	default:
		h.redirect(w, r, back, fmt.Sprintf("%s %s.", vigil.Plural(n, "alert group", "alert groups"), map[string]string{"acknowledge": "acknowledged", "dismiss": "dismissed", "reopen": "reopened"}[a.Action]))
	}
	return nil
}

// findIncidentRef finds an incident by reference or number.
func (h *Handler) findIncidentRef(r *http.Request, ref string) (*vigil.Incident, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return h.Services.Incidents.FindIncidentByID(r.Context(), id)
	}
	return h.Services.Incidents.FindIncidentByReference(r.Context(), strings.ToUpper(ref))
}

type groupData struct {
	Group *vigil.AlertGroup
	Types []vigil.IncidentType
}

func (h *Handler) alertGroupView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("gid"))
	if err != nil {
		return err
	}
	g, err := h.Services.Alerts.FindAlertGroupByID(r.Context(), id)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "alert_group.html", h.newPage(r, fmt.Sprintf("Alert group #%d", g.ID), "alerts",
		&groupData{Group: g, Types: vigil.IncidentTypes}))
}

type alertData struct {
	Alert  *vigil.Alert
	Labels []labelPair
	Raw    string
	Hits   []*vigil.IOCHit
	Edit   bool
}

type labelPair struct{ Key, Value string }

func (h *Handler) alertView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("aid"))
	if err != nil {
		return err
	}
	a, err := h.Services.Alerts.FindAlertByID(r.Context(), id)
	if err != nil {
		return err
	}
	d := &alertData{Alert: a, Edit: vigil.ActorFromContext(r.Context()).Can(vigil.PermIncidentEdit)}
	if hits, err := h.Services.IOC.FindHits(r.Context(), vigil.HitFilter{AlertID: id, Limit: 200}); err == nil {
		d.Hits = hits.Hits
	}
	for k, v := range a.Labels {
		d.Labels = append(d.Labels, labelPair{k, v})
	}
	slices.SortFunc(d.Labels, func(x, y labelPair) int { return strings.Compare(x.Key, y.Key) })
	if len(a.Raw) > 0 {
		var v any
		if json.Unmarshal(a.Raw, &v) == nil {
			if b, err := json.MarshalIndent(v, "", "  "); err == nil {
				d.Raw = string(b)
			}
		}
	}
	return h.render(w, r, http.StatusOK, "alert.html", h.newPage(r, "Alert: "+a.Title, "alerts", d))
}

// --- integrations (admins) ---

type integrationsData struct {
	Integrations []*vigil.Integration
	Kinds        []vigil.IntegrationKind
	Severities   []vigil.Severity
	Form         *vigil.Integration
	Errors       map[string]string
	Created      *vigilhttp.IntegrationCreated
}

func (h *Handler) adminIntegrations(w http.ResponseWriter, r *http.Request) error {
	return h.renderIntegrations(w, r, http.StatusOK, &integrationsData{Form: &vigil.Integration{Kind: vigil.IntegrationAlertmanager}})
}

func (h *Handler) renderIntegrations(w http.ResponseWriter, r *http.Request, status int, d *integrationsData) error {
	if err := requirePerm(r, vigil.PermIntegrationAdmin); err != nil {
		return err
	}
	var err error
	if d.Integrations, err = h.Services.Integrations.FindIntegrations(r.Context()); err != nil {
		return err
	}
	d.Kinds, d.Severities = vigil.IntegrationKinds, vigil.Severities
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "admin_integrations.html", h.newPage(r, "Integrations", "admin", d))
}

func (h *Handler) adminIntegrationCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	in := &vigil.Integration{Name: f.Get("name"), Kind: vigil.IntegrationKind(f.Get("kind")),
		DefaultSeverity: vigil.Severity(f.Get("default_severity")), Promotion: vigil.PromotionRule{MinSeverity: vigil.Severity(f.Get("promote_severity"))}}
	if by := strings.TrimSpace(f.Get("group_by")); by != "" {
		in.Grouping.By = []string{by}
	}
	if m := strings.TrimSpace(f.Get("mapping")); m != "" {
		if err := json.Unmarshal([]byte(m), &in.Mapping); err != nil {
			return h.renderIntegrations(w, r, statusInvalid, &integrationsData{Form: in,
				Errors: map[string]string{"mapping": "The mapping must be a JSON object: " + err.Error()}})
		}
	}
	token, err := h.Services.Integrations.CreateIntegration(r.Context(), in)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return h.renderIntegrations(w, r, statusInvalid, &integrationsData{Form: in, Errors: fieldErrors(err)})
		}
		return err
	}
	base := "http://" + r.Host
	if r.TLS != nil || h.SecureCookies {
		base = "https://" + r.Host
	}
	u, withToken := vigilhttp.IntakeURLs(base, in.Kind, token)
	// The token is shown on this answer only; it is not kept anywhere.
	return h.renderIntegrations(w, r, http.StatusCreated, &integrationsData{Form: &vigil.Integration{Kind: in.Kind},
		Created: &vigilhttp.IntegrationCreated{Integration: in, Token: token, URL: u, URLWithKey: withToken}})
}

func (h *Handler) adminIntegrationUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("iid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	disabled := r.PostFormValue("disabled") == "true"
	if _, err := h.Services.Integrations.UpdateIntegration(r.Context(), id, vigil.IntegrationUpdate{Disabled: &disabled}); err != nil {
		return err
	}
	msg := "Integration enabled."
	if disabled {
		msg = "Integration disabled: its posts are refused."
	}
	h.redirect(w, r, "/admin/integrations", msg)
	return nil
}
