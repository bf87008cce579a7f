package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/plan"
)

type plansData struct {
	Plans []*vigil.Plan
}

func (h *Handler) plans(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Services.Plans.FindPlans(r.Context())
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "plans.html", h.newPage(r, "Response plans", "prepare", &plansData{Plans: list}))
}

// planTemplate is what a new plan's form starts with.
const planTemplate = `---
key: my-plan
title: My plan
types: other
---
What this plan is for, in a few lines.

## Guidance
- [NCSC: Incident management](https://www.ncsc.gov.uk/collection/incident-management)

## Detect
### Establish what happened {#establish}
Owner: technical
- [ ] First thing to check

## Contain
### Stop it spreading {#contain}
Owner: technical

## Recover
### Return to normal {#recover}
Owner: lead

## Learn
### Hold the post-incident review {#review}
Owner: lead
`

type planEditData struct {
	Plan   *vigil.Plan // nil for a new plan
	Source string
	Note   string
	Errors []string
	// Proposed are review actions proposing changes not yet adopted.
	Proposed []*vigil.Action
	Adopts   map[int64]bool
}

// proposed returns the review actions whose change to plan id waits.
func (h *Handler) proposed(r *http.Request, id int64) []*vigil.Action {
	acts, _ := h.Services.Reviews.FindPlanActions(r.Context(), id)
	var out []*vigil.Action
	for _, a := range acts {
		if a.AdoptedVersion == 0 {
			out = append(out, a)
		}
	}
	return out
}

func (h *Handler) planNew(w http.ResponseWriter, r *http.Request) error {
	if err := requirePerm(r, vigil.PermPlanAdmin); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "plan_edit.html", h.newPage(r, "New response plan", "prepare", &planEditData{Source: planTemplate}))
}

func (h *Handler) planCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseLargeForm(w, r); err != nil {
		return err
	}
	in := vigil.PlanInput{Source: strings.ReplaceAll(r.PostFormValue("source"), "\r\n", "\n"), Note: r.PostFormValue("note")}
	p, err := h.Services.Plans.CreatePlan(r.Context(), in)
	if err != nil {
		return h.planFormError(w, r, err, &planEditData{Source: in.Source, Note: in.Note})
	}
	h.redirect(w, r, fmt.Sprintf("/plans/%d", p.ID), "Plan saved as version 1. Approve it when it is ready.")
	return nil
}

func (h *Handler) planFormError(w http.ResponseWriter, r *http.Request, err error, d *planEditData) error {
	if vigil.ErrorCode(err) != vigil.EINVALID && vigil.ErrorCode(err) != vigil.ECONFLICT {
		return err
	}
	for _, f := range vigil.ErrorFields(err) {
		d.Errors = append(d.Errors, f.Message)
	}
	if len(d.Errors) == 0 {
		d.Errors = []string{vigil.ErrorMessage(err)}
	}
	title := "New response plan"
	if d.Plan != nil {
		title = "Edit " + d.Plan.Title
	}
	return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "plan_edit.html", h.newPage(r, title, "prepare", d))
}

type planData struct {
	Actions  []*vigil.Action // review actions proposing changes to it
	Plan     *vigil.Plan
	Versions []*vigil.PlanVersion
	Users    []*vigil.User
	Overdue  bool
	// Compare is an older version's text compared with the one after it.
	Compare *vigil.PlanVersion
	Diff    []plan.DiffLine
	Errors  map[string]string
}

func (h *Handler) planView(w http.ResponseWriter, r *http.Request) error {
	return h.showPlan(w, r, http.StatusOK, &planData{})
}

func (h *Handler) showPlan(w http.ResponseWriter, r *http.Request, status int, d *planData) error {
	id, err := vigil.ParseID(r.PathValue("pid"))
	if err == nil {
		d.Plan, err = h.Services.Plans.FindPlanByID(r.Context(), id)
	}
	if err == nil {
		d.Versions, err = h.Services.Plans.FindPlanVersions(r.Context(), id)
	}
	if err != nil {
		return err
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("compare")); err == nil {
		// Versions are newest first: the one after v is just before it.
		for i, pv := range d.Versions {
			if pv.Version == v && i > 0 {
				d.Compare = d.Versions[i-1]
				d.Diff = plan.Diff(pv.Source, d.Compare.Source)
			}
		}
	}
	d.Overdue = d.Plan.ReviewOverdue(h.Now())
	d.Actions, _ = h.Services.Reviews.FindPlanActions(r.Context(), id)
	d.Users, _ = h.users(r, 0)
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "plan.html", h.newPage(r, d.Plan.Title, "prepare", d))
}

func (h *Handler) planEdit(w http.ResponseWriter, r *http.Request) error {
	if err := requirePerm(r, vigil.PermPlanAdmin); err != nil {
		return err
	}
	id, err := vigil.ParseID(r.PathValue("pid"))
	var p *vigil.Plan
	if err == nil {
		p, err = h.Services.Plans.FindPlanByID(r.Context(), id)
	}
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "plan_edit.html", h.newPage(r, "Edit "+p.Title, "prepare", &planEditData{Plan: p, Source: p.Source, Proposed: h.proposed(r, id)}))
}

func (h *Handler) planUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("pid"))
	if err == nil {
		err = parseLargeForm(w, r)
	}
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	in := vigil.PlanInput{Source: strings.ReplaceAll(r.PostFormValue("source"), "\r\n", "\n"), Note: r.PostFormValue("note"), Version: version}
	adopts := map[int64]bool{}
	for _, v := range r.PostForm["adopts"] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.Adopts = append(in.Adopts, n)
			adopts[n] = true
		}
	}
	p, err := h.Services.Plans.UpdatePlan(r.Context(), id, in)
	if err != nil {
		cur, ferr := h.Services.Plans.FindPlanByID(r.Context(), id)
		if ferr != nil {
			return ferr
		}
		cur.Version = version // keep the version the user edited, so a conflict stays one
		return h.planFormError(w, r, err, &planEditData{Plan: cur, Source: in.Source, Note: in.Note, Proposed: h.proposed(r, id), Adopts: adopts})
	}
	h.redirect(w, r, fmt.Sprintf("/plans/%d", p.ID), fmt.Sprintf("Saved as version %d. It needs approving before it replaces version %d as the approved plan.", p.Version, p.ApprovedVersion))
	return nil
}

func (h *Handler) planAction(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("pid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	var flash string
	switch r.PathValue("action") {
	case "approve":
		v, _ := strconv.Atoi(r.PostFormValue("version"))
		var p *vigil.Plan
		if p, err = h.Services.Plans.ApprovePlan(r.Context(), id, v); err == nil {
			flash = fmt.Sprintf("Version %d approved. Next review due %s.", v, p.ReviewDue.In(h.Location).Format("2 January 2006"))
		}
	case "meta":
		var m vigil.PlanMeta
		if o := formInt(r, "owner_id"); o != nil {
			m.OwnerID = o
		}
		if v := r.PostFormValue("review_due"); v != "" {
			m.ReviewDue, err = h.formTime(v + "T09:00")
		}
		if err == nil {
			if _, err = h.Services.Plans.SetPlanMeta(r.Context(), id, m); err == nil {
				flash = "Owner and review date saved."
			}
		}
	default:
		err = vigil.Errorf(vigil.ENOTFOUND, "Not found.")
	}
	switch vigil.ErrorCode(err) {
	case "":
		h.redirect(w, r, fmt.Sprintf("/plans/%d", id), flash)
	case vigil.EINVALID, vigil.ECONFLICT:
		errs := fieldErrors(err)
		if len(errs) == 0 {
			errs = map[string]string{"form": vigil.ErrorMessage(err)}
		}
		return h.showPlan(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), &planData{Errors: errs})
	default:
		return err
	}
	return nil
}

// parseLargeForm reads a form that may hold a whole plan.
func parseLargeForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, plan.MaxSource*4)
	if err := r.ParseForm(); err != nil {
		return vigil.Errorf(vigil.EINVALID, "The form could not be read (a plan may be at most %d KB).", plan.MaxSource>>10)
	}
	return nil
}

type planApplyData struct {
	Inc *vigil.Incident
	A   *vigil.PlanApplication
}

// planApply shows what applying a plan to an incident would do (GET) and
// does it (POST).
func (h *Handler) planApply(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentID(r)
	var pid int64
	if err == nil {
		if pid, err = vigil.ParseID(r.PathValue("pid")); err != nil {
			// The incident page's "any plan" form names it in the query.
			pid, err = strconv.ParseInt(r.URL.Query().Get("plan"), 10, 64)
			if err != nil {
				err = vigil.Errorf(vigil.ENOTFOUND, "Response plan not found.")
			}
		}
	}
	if err == nil && r.Method == http.MethodPost {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	a, err := h.Services.Plans.ApplyPlan(r.Context(), id, pid, r.Method != http.MethodPost)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		h.back(w, r, id, "tasks", fmt.Sprintf("Plan %q applied: %d tasks added.", a.PlanTitle, len(a.TaskIDs)))
		return nil
	}
	inc, err := h.Services.Incidents.FindIncidentByID(r.Context(), id)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "plan_apply.html", h.newPage(r, "Apply "+a.PlanTitle, "incidents", &planApplyData{Inc: inc, A: a}))
}

// loadPlans loads the incident page's plans section. Reporters may
// not read plans (EFORBIDDEN): they see only those applied.
func (h *Handler) loadPlans(r *http.Request, d *incidentData) (err error) {
	if d.AppliedPlans, err = h.Services.Plans.FindAppliedPlans(r.Context(), d.Inc.ID); err != nil {
		return err
	}
	if list, err := h.Services.Plans.FindPlans(r.Context()); err == nil {
		applied := map[int64]bool{}
		for _, a := range d.AppliedPlans {
			applied[a.PlanID] = true
		}
		for _, p := range vigil.SuggestPlans(list, d.Inc) {
			if !applied[p.ID] {
				d.SuggestedPlans = append(d.SuggestedPlans, p)
			}
		}
		d.AllPlans = list
	} else if vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		return err
	}
	return nil
}
