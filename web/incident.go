package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// enums are the choices of the incident forms and filters.
type enums struct {
	Statuses   []vigil.Status
	Severities []vigil.Severity
	Types      []vigil.IncidentType
	TLPs       []vigil.TLP
	Sources    []vigil.Source
	Categories []int
	Phases     []vigil.Phase
	TaskStates []vigil.TaskStatus
	Roles      []vigil.IncidentRole
	LinkKinds  []vigil.LinkKind
	ObsTypes   []vigil.ObservableType
}

var choices = enums{
	Statuses: vigil.Statuses, Severities: vigil.Severities, Types: vigil.IncidentTypes, TLPs: vigil.TLPs,
	Sources: vigil.Sources, Categories: []int{1, 2, 3, 4, 5, 6}, Phases: vigil.Phases, TaskStates: vigil.TaskStatuses,
	Roles: vigil.IncidentRoles, LinkKinds: vigil.LinkKinds, ObsTypes: vigil.ObservableTypes,
}

// categoryNames are the NCSC incident categories.
var categoryNames = map[int]string{
	1: "Cat 1: national cyber emergency",
	2: "Cat 2: highly significant",
	3: "Cat 3: significant",
	4: "Cat 4: substantial",
	5: "Cat 5: moderate",
	6: "Cat 6: localised",
}

type listData struct {
	enums
	Query     url.Values
	Sel       map[string][]string
	Page      *vigil.IncidentPage
	Total     int
	Error     string
	Users     []*vigil.User
	UserNames map[int64]string
	Cats      map[int]string
	Sorts     []vigil.IncidentSort
	Filtered  bool
	First     bool
	Views     []*vigil.SavedView
	RawQuery  string
	ViewError string
	// OrgSel is the organisation the list is filtered to ("": all).
	// OrgColumn shows each incident's organisation, OrgFilter the filter
	// with OrgOptions, when the list can hold several organisations'
	// incidents (listOrgs).
	OrgSel     string
	OrgColumn  bool
	OrgFilter  bool
	OrgOptions []orgView
}

// users returns the people the pages offer as leads, assignees and
// members, and everyone's names by ID: the user directory, for those who
// may read it (the default organisation's staff). Someone who belongs
// only to other organisations gets the members of organisation org (0:
// of each of theirs) instead, those they may see (not as a reporter).
func (h *Handler) users(r *http.Request, org int64) ([]*vigil.User, map[int64]string) {
	names := map[int64]string{}
	a := vigil.ActorFromContext(r.Context())
	if !a.Can(vigil.PermUserRead) {
		return h.orgPeople(r, a, org, names)
	}
	users, _, err := h.Services.Users.FindUsers(r.Context(), vigil.UserFilter{Limit: 500})
	if err != nil {
		h.Logger.WarnContext(r.Context(), "list users", "err", err)
		return nil, names
	}
	for _, u := range users {
		names[u.ID] = cmp.Or(u.Name, u.Username)
	}
	return users, names
}

// orgPeople is users for an actor without the user directory.
func (h *Handler) orgPeople(r *http.Request, a *vigil.Actor, org int64, names map[int64]string) ([]*vigil.User, map[int64]string) {
	var users []*vigil.User
	for _, m := range a.Memberships() {
		if (org != 0 && m.ID != org) || m.Role == vigil.RoleReporter {
			continue
		}
		ms, err := h.Services.Orgs.FindMembers(r.Context(), m.Slug)
		if err != nil {
			h.Logger.WarnContext(r.Context(), "list members", "organisation", m.Slug, "err", err)
			continue
		}
		for _, mb := range ms {
			if _, ok := names[mb.UserID]; !ok {
				names[mb.UserID] = cmp.Or(mb.Name, mb.Username)
				users = append(users, &vigil.User{ID: mb.UserID, Username: mb.Username, Name: mb.Name})
			}
		}
	}
	return users, names
}

func (h *Handler) incidentList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	_, orgGiven := q["organisation"]
	// Forms send every field; empty ones mean "any".
	for k, vs := range q {
		vs = slices.DeleteFunc(vs, func(s string) bool { return strings.TrimSpace(s) == "" })
		if len(vs) == 0 {
			q.Del(k)
		} else {
			q[k] = vs
		}
	}
	d := &listData{enums: choices, Query: q, Sel: map[string][]string(q), Cats: categoryNames, Sorts: vigil.IncidentSorts,
		First: q.Get("cursor") == ""}
	p := h.newPage(r, "Incidents", "incidents", d)
	p.LiveURL = "/incidents/live"
	// The organisation filter: the one the query names; else, for a
	// member of several, the current organisation, or all of theirs
	// ("organisation=" kept in the query, so that the next page keeps it).
	d.OrgSel = q.Get("organisation")
	if p.MultiOrg() && d.OrgSel == "" {
		switch {
		case orgGiven:
			q["organisation"] = []string{""}
		case p.OrgCurrent != "":
			q.Set("organisation", p.OrgCurrent)
			d.OrgSel = p.OrgCurrent
		}
	}
	render := func(status int) error {
		h.listOrgs(r, p, d)
		return h.render(w, r, status, "incidents.html", p)
	}
	r.URL.RawQuery = q.Encode()
	d.Users, d.UserNames = h.users(r, 0)
	d.Views, _ = h.Services.Views.FindViews(r.Context())
	vq := url.Values{}
	for k, vs := range q {
		if k != "cursor" {
			vq[k] = vs
		}
	}
	d.RawQuery = vq.Encode()
	for k := range q {
		if k != "sort" && k != "cursor" && k != "limit" && (k != "organisation" || d.OrgSel != p.OrgCurrent) {
			d.Filtered = true
		}
	}
	f, err := vigilhttp.IncidentFilterFromRequest(r)
	if err != nil {
		d.Error = errorSentence(err)
		d.Page = &vigil.IncidentPage{}
		return render(statusInvalid)
	}
	if f.Limit == vigil.DefaultPageSize && q.Get("limit") == "" {
		f.Limit = 25
	}
	if d.Page, err = h.Services.Incidents.FindIncidents(r.Context(), f); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			d.Error = errorSentence(err)
			d.Page = &vigil.IncidentPage{}
			return render(statusInvalid)
		}
		return err
	}
	// A search lists the best matches among the newest; counting every
	// match of a common word would cost more than the page and say little.
	d.Total = -1
	if f.Query == "" {
		if d.Total, err = h.Services.Incidents.CountIncidents(r.Context(), f); err != nil {
			return err
		}
	}
	p.LiveMark = h.listMark(r.Context())
	return render(http.StatusOK)
}

// errorSentence joins an error's field messages into one line.
func errorSentence(err error) string {
	fields := vigil.ErrorFields(err)
	if len(fields) == 0 {
		return vigil.ErrorMessage(err)
	}
	var parts []string
	for _, f := range fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(parts, " ")
}

type incidentForm struct {
	Title, Summary, Type, Severity, Category, TLP, Affected     string
	Significant, PersonalData, EssentialService, Crime          bool
	DigitalService, Threat                                      bool
	Exercise                                                    bool
	Occurred, Detected, Aware, Classified, Contained, Recovered string
	Version                                                     int
	Organisation                                                string // a new incident's, when the user chooses
}

func (h *Handler) formOf(inc *vigil.Incident) *incidentForm {
	return &incidentForm{
		Title: inc.Title, Summary: inc.Summary, Type: string(inc.Type), Severity: string(inc.Severity),
		Category: strconv.Itoa(inc.Category), TLP: string(inc.TLP), Affected: strings.Join(inc.AffectedServices, "\n"),
		Significant: inc.Significant, PersonalData: inc.PersonalData, EssentialService: inc.EssentialService,
		DigitalService: inc.DigitalServiceImpact, Crime: inc.CrimeSuspected, Threat: inc.SignificantCyberThreat, Exercise: inc.Exercise,
		Occurred: h.inputTime(inc.Times.OccurredAt), Detected: h.inputTime(inc.Times.DetectedAt),
		Aware: h.inputTime(inc.Times.AwareAt), Classified: h.inputTime(inc.Times.ClassifiedAt), Contained: h.inputTime(inc.Times.ContainedAt),
		Recovered: h.inputTime(inc.Times.RecoveredAt), Version: inc.Version,
	}
}

// text reads a form field, with the CRLF line ends browsers send turned
// into LF, so that an untouched textarea is not a change.
func text(r *http.Request, name string) string {
	return strings.ReplaceAll(r.PostFormValue(name), "\r\n", "\n")
}

func readIncidentForm(r *http.Request) *incidentForm {
	f := r.PostForm
	v, _ := strconv.Atoi(f.Get("version"))
	return &incidentForm{
		Title: f.Get("title"), Summary: text(r, "summary"), Type: f.Get("type"), Severity: f.Get("severity"),
		Category: f.Get("category"), TLP: f.Get("tlp"), Affected: text(r, "affected_services"),
		Significant: f.Get("significant") != "", PersonalData: f.Get("personal_data") != "",
		EssentialService: f.Get("essential_service") != "", Crime: f.Get("crime_suspected") != "",
		DigitalService: f.Get("digital_service_impact") != "", Threat: f.Get("significant_cyber_threat") != "",
		Exercise: f.Get("exercise") != "", Occurred: f.Get("occurred_at"), Detected: f.Get("detected_at"),
		Aware: f.Get("aware_at"), Classified: f.Get("classified_at"), Contained: f.Get("contained_at"), Recovered: f.Get("recovered_at"), Version: v,
		Organisation: strings.TrimSpace(f.Get("organisation")),
	}
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' })
}

type newData struct {
	enums
	Form   *incidentForm
	Errors map[string]string
	Cats   map[int]string
	// Orgs are the organisations to choose from, when there are several.
	Orgs []orgView
}

// newIncidentOrgs returns the organisations where the actor may create
// incidents, for the new-incident form: nil for someone who belongs to
// the default organisation alone (the store puts it there, as before);
// EFORBIDDEN when there is none.
func newIncidentOrgs(p *page) ([]orgView, error) {
	if p.Orgs == nil {
		return nil, nil
	}
	c := p.creatableOrgs()
	if len(c) == 0 {
		return nil, vigil.Errorf(vigil.EFORBIDDEN, "None of your organisations takes new incidents from you: your role does not allow it, or the organisation is suspended.")
	}
	return c, nil
}

func (h *Handler) incidentNew(w http.ResponseWriter, r *http.Request) error {
	form := &incidentForm{Type: string(vigil.TypeOther), Severity: string(vigil.SeverityMedium), TLP: string(vigil.TLPAmber), Category: "0"}
	d := &newData{enums: choices, Form: form, Errors: map[string]string{}, Cats: categoryNames}
	p := h.newPage(r, "New incident", "new", d)
	orgs, err := newIncidentOrgs(p)
	if err != nil {
		return err
	}
	if len(orgs) > 1 {
		d.Orgs = orgs
		if o := p.org(p.OrgCurrent); o != nil && slices.ContainsFunc(orgs, func(c orgView) bool { return c.Slug == o.Slug }) {
			form.Organisation = o.Slug
		}
	}
	return h.render(w, r, http.StatusOK, "incident_new.html", p)
}

func (h *Handler) incidentCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	form := readIncidentForm(r)
	d := &newData{enums: choices, Form: form, Cats: categoryNames}
	p := h.newPage(r, "New incident", "new", d)
	orgs, err := newIncidentOrgs(p)
	if err != nil {
		return err
	}
	errs := map[string]string{}
	switch {
	case len(orgs) == 1:
		form.Organisation = orgs[0].Slug
	case len(orgs) > 1:
		d.Orgs = orgs
		if form.Organisation == "" {
			errs["organisation"] = "Choose the organisation the incident belongs to."
		}
	}
	cat, err := strconv.Atoi(strings.TrimSpace(cmp.Or(form.Category, "0")))
	if err != nil {
		errs["category"] = "Choose a category."
	}
	inc := &vigil.Incident{
		Title: form.Title, Summary: form.Summary, Type: vigil.IncidentType(form.Type), Severity: vigil.Severity(form.Severity),
		Category: cat, TLP: vigil.TLP(form.TLP), Significant: form.Significant, PersonalData: form.PersonalData,
		EssentialService: form.EssentialService, DigitalServiceImpact: form.DigitalService, CrimeSuspected: form.Crime,
		SignificantCyberThreat: form.Threat, Exercise: form.Exercise,
		AffectedServices: splitList(form.Affected), Status: vigil.StatusTriage, Organisation: form.Organisation,
	}
	if r.PostFormValue("confirmed") != "" {
		inc.Status = vigil.StatusConfirmed
	}
	for name, dst := range map[string]**time.Time{"occurred_at": &inc.Times.OccurredAt, "detected_at": &inc.Times.DetectedAt} {
		t, err := h.formTime(r.PostFormValue(name))
		if err != nil {
			errs["times."+name] = "Give a date and time."
		}
		*dst = t
	}
	if len(errs) == 0 {
		err = h.Services.Incidents.CreateIncident(r.Context(), inc)
		if err == nil {
			h.redirect(w, r, fmt.Sprintf("/incidents/%d", inc.ID), "Incident "+inc.Reference+" created.")
			return nil
		}
		if vigil.ErrorCode(err) != vigil.EINVALID {
			return err
		}
		errs = fieldErrors(err)
	}
	d.Errors = errs
	return h.render(w, r, statusInvalid, "incident_new.html", p)
}

// incidentID reads the {id} path value: a number or a reference.
func (h *Handler) incidentID(r *http.Request) (int64, error) {
	return casework.IncidentID(r.Context(), h.Services.Incidents, r.PathValue("id"))
}

// incidentPart reads the {id} of an incident's route and the numeric path
// value name of one of its parts (a task, an observable, a link).
func (h *Handler) incidentPart(r *http.Request, name string) (id, part int64, err error) {
	if id, err = h.incidentID(r); err == nil {
		part, err = vigil.ParseID(r.PathValue(name))
	}
	return id, part, err
}

// incidentForm reads the {id} of a form post on an incident and parses the
// form.
func (h *Handler) incidentForm(w http.ResponseWriter, r *http.Request) (int64, error) {
	id, err := h.incidentID(r)
	if err == nil {
		err = parseForm(w, r)
	}
	return id, err
}

func (h *Handler) back(w http.ResponseWriter, r *http.Request, id int64, anchor, flash string) {
	h.redirect(w, r, fmt.Sprintf("/incidents/%d#%s", id, anchor), flash)
}

func (h *Handler) incidentUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	form := readIncidentForm(r)
	d := &incidentData{Section: "summary", Open: "edit", Form: form, Errors: map[string]string{}}
	upd := vigil.IncidentUpdate{Title: &form.Title, Summary: &form.Summary, Version: form.Version,
		Significant: &form.Significant, PersonalData: &form.PersonalData, EssentialService: &form.EssentialService,
		DigitalServiceImpact: &form.DigitalService, CrimeSuspected: &form.Crime, SignificantCyberThreat: &form.Threat}
	typ, sev, tlp := vigil.IncidentType(form.Type), vigil.Severity(form.Severity), vigil.TLP(form.TLP)
	upd.Type, upd.Severity, upd.TLP = &typ, &sev, &tlp
	cat, cerr := strconv.Atoi(cmp.Or(strings.TrimSpace(form.Category), "0"))
	if cerr != nil {
		d.Errors["category"] = "Choose a category."
	}
	upd.Category = &cat
	affected := splitList(form.Affected)
	upd.AffectedServices = &affected
	times := []struct {
		name string
		dst  *vigil.Nullable[time.Time]
	}{
		{"occurred_at", &upd.Times.OccurredAt}, {"detected_at", &upd.Times.DetectedAt}, {"aware_at", &upd.Times.AwareAt},
		{"classified_at", &upd.Times.ClassifiedAt},
		{"contained_at", &upd.Times.ContainedAt}, {"recovered_at", &upd.Times.RecoveredAt},
	}
	for _, t := range times {
		// datetime-local keeps minutes only: a time the user did not touch
		// is left alone rather than rounded down.
		if r.PostFormValue(t.name) == r.PostFormValue("orig_"+t.name) {
			continue
		}
		v, err := h.formTime(r.PostFormValue(t.name))
		switch {
		case err != nil:
			d.Errors["times."+t.name] = "Give a date and time."
		case v == nil:
			*t.dst = vigil.Null[time.Time]()
		default:
			*t.dst = vigil.NullableOf(*v)
		}
	}
	if len(d.Errors) > 0 {
		return h.showIncident(w, r, statusInvalid, d)
	}
	if _, err := h.Services.Incidents.UpdateIncident(r.Context(), id, upd); err != nil {
		d.Errors = nil
		return h.formError(w, r, err, d)
	}
	h.back(w, r, id, "top", "Saved.")
	return nil
}

func (h *Handler) incidentTransition(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	t := vigil.Transition{To: vigil.Status(r.PostFormValue("to")), Reason: text(r, "reason"), Version: v}
	d := &incidentData{Section: "head", Open: "status-" + string(t.To)}
	if t.To == vigil.StatusDuplicate {
		ref := strings.TrimSpace(r.PostFormValue("duplicate_of"))
		orig, err := h.Services.Incidents.FindIncidentByReference(r.Context(), ref)
		if err != nil || ref == "" {
			d.Errors = map[string]string{"duplicate_of": "Give the reference of the original incident, such as INC-2026-000123."}
			return h.showIncident(w, r, statusInvalid, d)
		}
		t.DuplicateOf = orig.ID
	}
	if t.To == vigil.StatusClosed {
		// What becomes of the open work, as the close form lists it.
		for _, v := range r.PostForm["task_ids"] {
			tid, _ := strconv.ParseInt(v, 10, 64)
			t.Tasks = append(t.Tasks, vigil.TaskCloseOut{TaskID: tid, Action: vigil.CloseAction(r.PostFormValue("task_" + v))})
		}
		for _, v := range r.PostForm["duty_ids"] {
			oid, _ := strconv.ParseInt(v, 10, 64)
			t.Duties = append(t.Duties, vigil.DutyCloseOut{ObligationID: oid, Action: vigil.CloseAction(r.PostFormValue("duty_" + v)),
				Reference: text(r, "duty_"+v+"_reference"), Reason: text(r, "duty_"+v+"_reason")})
		}
		t.OpenWorkReason = text(r, "open_work_reason")
	}
	inc, err := h.Services.Incidents.TransitionIncident(r.Context(), id, t)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			d.Errors = closeErrors(err, t)
		}
		return h.formError(w, r, err, d)
	}
	h.back(w, r, id, "top", "The incident is now "+vigil.StatusLabel(inc.Status)+".")
	return nil
}

// closeErrors keys a transition's field errors for the page: a close-out's
// by the task or duty it names (task-<id>, duty-<id>), as the close form
// shows them beside each.
func closeErrors(err error, t vigil.Transition) map[string]string {
	out := map[string]string{}
	for _, f := range vigil.ErrorFields(err) {
		key := f.Field
		var i int
		var rest string
		if n, _ := fmt.Sscanf(f.Field, "tasks[%d].%s", &i, &rest); n == 2 && i >= 0 && i < len(t.Tasks) {
			key = fmt.Sprintf("task-%d", t.Tasks[i].TaskID)
		} else if n, _ := fmt.Sscanf(f.Field, "duties[%d].%s", &i, &rest); n == 2 && i >= 0 && i < len(t.Duties) {
			key = fmt.Sprintf("duty-%d", t.Duties[i].ObligationID)
		}
		if _, ok := out[key]; !ok {
			out[key] = f.Message
		}
	}
	return out
}

func (h *Handler) noteCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	d := &incidentData{Section: "timeline", Open: "note", NoteText: text(r, "message")}
	n := vigil.Note{Message: d.NoteText}
	at, err := h.formTime(r.PostFormValue("at"))
	if err != nil {
		d.Errors = map[string]string{"at": "Give a date and time, or leave it empty for now."}
		return h.showIncident(w, r, statusInvalid, d)
	}
	n.At = at
	if _, err := h.Services.Timeline.AddNote(r.Context(), id, n); err != nil {
		return h.formError(w, r, err, d)
	}
	h.back(w, r, id, "timeline", "Note added.")
	return nil
}

func formInt(r *http.Request, name string) *int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(name)), 10, 64)
	if err != nil || n <= 0 {
		return nil
	}
	return &n
}

func (h *Handler) taskCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	d := &incidentData{Section: "tasks", Open: "task"}
	t := &vigil.Task{IncidentID: id, Title: r.PostFormValue("title"), Description: text(r, "description"),
		Phase: vigil.Phase(r.PostFormValue("phase")), AssigneeID: formInt(r, "assignee_id")}
	due, err := h.formTime(r.PostFormValue("due_at"))
	if err != nil {
		d.Errors = map[string]string{"due_at": "Give a date and time, or leave it empty."}
		return h.showIncident(w, r, statusInvalid, d)
	}
	t.DueAt = due
	if err := h.Services.Tasks.CreateTask(r.Context(), t); err != nil {
		return h.formError(w, r, err, d)
	}
	h.back(w, r, id, "tasks", "Task added.")
	return nil
}

func (h *Handler) taskUpdate(w http.ResponseWriter, r *http.Request) error {
	id, tid, err := h.incidentPart(r, "tid")
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	upd := vigil.TaskUpdate{Version: v}
	if s := r.PostFormValue("status"); s != "" {
		st := vigil.TaskStatus(s)
		upd.Status = &st
	}
	if _, ok := r.PostForm["assignee_id"]; ok {
		if a := formInt(r, "assignee_id"); a != nil {
			upd.AssigneeID = vigil.NullableOf(*a)
		} else {
			upd.AssigneeID = vigil.Null[int64]()
		}
	}
	t, err := h.Services.Tasks.FindTaskByID(r.Context(), tid)
	if err == nil && t.IncidentID != id {
		err = vigil.Errorf(vigil.ENOTFOUND, "No such task on this incident.")
	}
	if err == nil {
		_, err = h.Services.Tasks.UpdateTask(r.Context(), tid, upd)
	}
	if err != nil {
		return h.formError(w, r, err, &incidentData{Section: "tasks", Open: "tasks"})
	}
	h.back(w, r, id, fmt.Sprintf("task-%d", tid), "")
	return nil
}

func (h *Handler) taskMove(w http.ResponseWriter, r *http.Request) error {
	id, tid, err := h.incidentPart(r, "tid")
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	tasks, _, err := h.Services.Tasks.FindTasks(r.Context(), vigil.TaskFilter{IncidentID: &id, Limit: vigil.MaxPageSize})
	if err != nil {
		return err
	}
	ids := make([]int64, len(tasks))
	at := -1
	for i, t := range tasks {
		ids[i] = t.ID
		if t.ID == tid {
			at = i
		}
	}
	to := at - 1
	if r.PostFormValue("dir") == "down" {
		to = at + 1
	}
	if at < 0 || to < 0 || to >= len(ids) {
		h.back(w, r, id, "tasks", "")
		return nil
	}
	ids[at], ids[to] = ids[to], ids[at]
	if _, err := h.Services.Tasks.ReorderTasks(r.Context(), id, ids); err != nil {
		return h.formError(w, r, err, &incidentData{Section: "tasks", Open: "tasks"})
	}
	h.back(w, r, id, fmt.Sprintf("task-%d", tid), "")
	return nil
}

func (h *Handler) observableCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	pasted := text(r, "text")
	d := &incidentData{Section: "observables", Open: "observables", ObsText: pasted}
	inputs, errs := vigil.ParseObservableLines(pasted)
	// The good lines are added; the bad ones stay in the box, each named
	// with what is wrong, to be fixed and added again.
	var msgs, bad []string
	lines := strings.Split(pasted, "\n")
	for _, e := range errs {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(e.Field, "lines["), "]"))
		msgs = append(msgs, fmt.Sprintf("Line %d: %s", n, e.Message))
		if n >= 1 && n <= len(lines) {
			bad = append(bad, strings.TrimSpace(lines[n-1]))
		}
	}
	if len(errs) > 0 && len(inputs) == 0 {
		d.Errors = map[string]string{"text": strings.Join(msgs, " ")}
		return h.showIncident(w, r, statusInvalid, d)
	}
	if len(inputs) == 0 {
		d.Errors = map[string]string{"text": "Paste at least one value, one per line."}
		return h.showIncident(w, r, statusInvalid, d)
	}
	ioc := r.PostFormValue("ioc") != ""
	tlp := vigil.TLP(r.PostFormValue("tlp"))
	obs := make([]*vigil.Observable, len(inputs))
	for i, in := range inputs {
		obs[i] = &vigil.Observable{Type: in.Type, Value: in.Value, IOC: ioc, TLP: tlp}
	}
	added, err := h.Services.Observables.AddObservables(r.Context(), id, obs)
	if err != nil {
		return h.formError(w, r, err, d)
	}
	done := vigil.Plural(len(added), "observable", "observables") + " added."
	if len(errs) > 0 {
		d.ObsText = strings.Join(bad, "\n")
		d.Errors = map[string]string{"text": done + " " + vigil.Plural(len(errs), "line was", "lines were") +
			" not read, and stay in the box to fix: " + strings.Join(msgs, " ")}
		return h.showIncident(w, r, statusInvalid, d)
	}
	h.back(w, r, id, "observables", done)
	return nil
}

func (h *Handler) observableDelete(w http.ResponseWriter, r *http.Request) error {
	id, oid, err := h.incidentPart(r, "oid")
	var o *vigil.Observable
	if err == nil {
		o, err = h.Services.Observables.FindObservableByID(r.Context(), oid)
	}
	if err == nil && o.IncidentID != id {
		err = vigil.Errorf(vigil.ENOTFOUND, "No such observable on this incident.")
	}
	if err == nil {
		err = h.Services.Observables.DeleteObservable(r.Context(), oid)
	}
	if err != nil {
		return err
	}
	h.back(w, r, id, "observables", "Observable removed.")
	return nil
}

func (h *Handler) linkCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	d := &incidentData{Section: "links", Open: "links"}
	target, err := h.Services.Incidents.FindIncidentByReference(r.Context(), r.PostFormValue("target"))
	if err != nil {
		d.Errors = map[string]string{"target_id": "No incident with that reference that you can see."}
		return h.showIncident(w, r, statusInvalid, d)
	}
	l := &vigil.Link{IncidentID: id, Kind: vigil.LinkKind(r.PostFormValue("kind")), TargetID: target.ID, Note: r.PostFormValue("note")}
	if err := h.Services.Links.CreateLink(r.Context(), l); err != nil {
		if vigil.ErrorCode(err) == vigil.ECONFLICT {
			err = vigil.Invalid("target_id", "%s", vigil.ErrorMessage(err))
		}
		return h.formError(w, r, err, d)
	}
	h.back(w, r, id, "links", "Linked to "+target.Reference+".")
	return nil
}

func (h *Handler) linkDelete(w http.ResponseWriter, r *http.Request) error {
	id, lid, err := h.incidentPart(r, "lid")
	if err == nil {
		err = h.Services.Links.DeleteLink(r.Context(), lid)
	}
	if err != nil {
		return err
	}
	h.back(w, r, id, "links", "Link removed.")
	return nil
}

func (h *Handler) memberAdd(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	uid := formInt(r, "user_id")
	if uid == nil {
		return h.formError(w, r, vigil.Invalid("user_id", "Choose a person."), &incidentData{Section: "members", Open: "members"})
	}
	if _, err := h.Services.Members.AddMember(r.Context(), id, *uid, vigil.IncidentRole(r.PostFormValue("role"))); err != nil {
		if vigil.ErrorCode(err) == vigil.ECONFLICT {
			err = vigil.Invalid("user_id", "%s", vigil.ErrorMessage(err))
		}
		return h.formError(w, r, err, &incidentData{Section: "members", Open: "members"})
	}
	h.back(w, r, id, "members", "Role given.")
	return nil
}

func (h *Handler) memberRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentID(r)
	if err == nil {
		err = parseForm(w, r)
	}
	uid := formInt(r, "user_id")
	if err == nil && uid == nil {
		err = vigil.Errorf(vigil.ENOTFOUND, "No such member.")
	}
	if err == nil {
		err = h.Services.Members.RemoveMember(r.Context(), id, *uid, vigil.IncidentRole(r.PostFormValue("role")))
	}
	if err != nil {
		return err
	}
	h.back(w, r, id, "members", "Role removed.")
	return nil
}

// reportUp reports a member's incident to the coordinator (the NCSC's
// "report a significant incident"), or sends an update on an earlier
// report.
func (h *Handler) reportUp(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	d := &incidentData{Section: "reportsup", Open: "report-up"}
	out, err := h.Services.Orgs.ReportUp(r.Context(), id, vigil.ReportUp{Share: r.PostForm["share"], Message: text(r, "message")})
	if err != nil {
		return h.formError(w, r, err, d)
	}
	flash := "Reported to the coordinator, whose reference is " + out.CoordinatorIncidentReference + "."
	if out.Update {
		flash = "Update sent to the coordinator's " + out.CoordinatorIncidentReference + "."
	}
	h.back(w, r, id, "reported", flash)
	return nil
}
