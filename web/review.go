package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

type reviewData struct {
	Inc      *vigil.Incident
	Review   *vigil.Review
	Timeline string // the timeline as editable lines
	Form     map[string]string
	Errors   map[string]string
	Users    []*vigil.User
	Names    map[int64]string
	Plans    []*vigil.Plan
	Required bool // the incident needs a closed review before "reviewed"
	Open     string
}

const reviewLineLayout = "2006-01-02 15:04"

// timelineText writes a review timeline as lines "2006-01-02 15:04 | what".
func (h *Handler) timelineText(tl []vigil.ReviewEvent) string {
	var b strings.Builder
	for _, e := range tl {
		fmt.Fprintf(&b, "%s | %s\n", e.At.In(h.Location).Format(reviewLineLayout), strings.ReplaceAll(e.What, "\n", " "))
	}
	return b.String()
}

// parseTimelineText reads the lines back; mistakes name their line.
func (h *Handler) parseTimelineText(s string) ([]vigil.ReviewEvent, error) {
	out := []vigil.ReviewEvent{}
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		when, what, ok := strings.Cut(line, "|")
		t, err := time.ParseInLocation(reviewLineLayout, strings.TrimSpace(when), h.Location)
		if !ok || err != nil {
			return nil, vigil.Invalid("timeline", "Line %d: write each event as \"2026-11-30 14:05 | what happened\".", i+1)
		}
		out = append(out, vigil.ReviewEvent{At: t, What: strings.TrimSpace(what)})
	}
	return out, nil
}

func (h *Handler) reviewView(w http.ResponseWriter, r *http.Request) error {
	return h.showReview(w, r, http.StatusOK, &reviewData{})
}

func (h *Handler) showReview(w http.ResponseWriter, r *http.Request, status int, d *reviewData) error {
	id, err := h.incidentID(r)
	if err == nil {
		d.Inc, err = h.Services.Incidents.FindIncidentByID(r.Context(), id)
	}
	if err == nil {
		d.Review, err = h.Services.Reviews.FindReview(r.Context(), id)
	}
	if err != nil {
		return err
	}
	if d.Form == nil {
		d.Form = map[string]string{"timeline": h.timelineText(d.Review.Timeline), "root_cause": d.Review.RootCause,
			"contributing": d.Review.Contributing, "went_well": d.Review.WentWell, "to_improve": d.Review.ToImprove}
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	d.Required = vigil.ReviewRequired(d.Inc)
	d.Users, d.Names = h.users(r, d.Inc.OrganisationID)
	d.Plans, _ = h.Services.Plans.FindPlans(r.Context())
	p := h.newPage(r, "Review of "+d.Inc.Reference, "incidents", d)
	p.restrictTo(d.Inc.OrganisationID)
	return h.render(w, r, status, "review.html", p)
}

func (h *Handler) reviewStart(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	if _, err := h.Services.Reviews.StartReview(r.Context(), id); err != nil {
		return err
	}
	h.redirect(w, r, fmt.Sprintf("/incidents/%d/review", id), "Review started: its timeline is drafted from the incident's. Correct it and add what is missing.")
	return nil
}

func (h *Handler) reviewSave(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	f := r.PostForm
	d := &reviewData{Form: map[string]string{}}
	for _, k := range []string{"timeline", "root_cause", "contributing", "went_well", "to_improve"} {
		d.Form[k] = strings.ReplaceAll(f.Get(k), "\r\n", "\n")
	}
	version, _ := strconv.Atoi(f.Get("version"))
	tl, err := h.parseTimelineText(d.Form["timeline"])
	if err == nil {
		rc, con, well, imp := d.Form["root_cause"], d.Form["contributing"], d.Form["went_well"], d.Form["to_improve"]
		_, err = h.Services.Reviews.UpdateReview(r.Context(), id, vigil.ReviewUpdate{Timeline: &tl, RootCause: &rc, Contributing: &con,
			WentWell: &well, ToImprove: &imp, Version: version})
	}
	return h.reviewResult(w, r, id, err, d, "Review saved.")
}

func (h *Handler) reviewResult(w http.ResponseWriter, r *http.Request, id int64, err error, d *reviewData, flash string) error {
	switch vigil.ErrorCode(err) {
	case "":
		h.redirect(w, r, fmt.Sprintf("/incidents/%d/review", id), flash)
	case vigil.EINVALID, vigil.ECONFLICT:
		d.Errors = fieldErrors(err)
		for k, v := range d.Errors {
			if strings.HasPrefix(k, "timeline[") {
				d.Errors["timeline"] = v
			}
		}
		if len(d.Errors) == 0 {
			d.Errors["form"] = vigil.ErrorMessage(err)
		}
		return h.showReview(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), d)
	default:
		return err
	}
	return nil
}

func (h *Handler) reviewAction(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	f := r.PostForm
	in := vigil.ActionInput{Title: f.Get("title"), Description: f.Get("description"), AssigneeID: formInt(r, "assignee_id"),
		PlanID: formInt(r, "plan_id"), PlanChange: f.Get("plan_change")}
	if v := f.Get("due_at"); v != "" {
		in.DueAt, err = h.formTime(v + "T17:00")
		if err != nil {
			err = vigil.Invalid("due_at", "Give a date.")
		}
	}
	if err == nil {
		_, err = h.Services.Reviews.AddAction(r.Context(), id, in)
	}
	return h.reviewResult(w, r, id, err, &reviewData{Open: "action"}, "Action item added.")
}

// reviewActionDone marks an action item done or cancelled.
func (h *Handler) reviewActionDone(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	tid, err := vigil.ParseID(r.PathValue("tid"))
	var t *vigil.Task
	if err == nil {
		t, err = h.Services.Tasks.FindTaskByID(r.Context(), tid)
	}
	if err == nil && t.IncidentID != id {
		err = vigil.Errorf(vigil.ENOTFOUND, "Not found.")
	}
	if err == nil {
		st := vigil.TaskDone
		if r.PathValue("to") == "cancel" {
			st = vigil.TaskCancelled
		}
		_, err = h.Services.Tasks.UpdateTask(r.Context(), tid, vigil.TaskUpdate{Status: &st, Version: t.Version})
	}
	return h.reviewResult(w, r, id, err, &reviewData{}, "Action item updated.")
}

func (h *Handler) reviewClose(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	_, err = h.Services.Reviews.CloseReview(r.Context(), id, version)
	return h.reviewResult(w, r, id, err, &reviewData{}, "Review closed. The incident can now be marked reviewed.")
}
