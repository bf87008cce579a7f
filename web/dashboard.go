package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/vigil-ir/vigil"
)

// dashboard shows the numbers a responder starts the day with; each is a
// link to the list filtered to those incidents.
type dashData struct {
	BySeverity []countLink
	ByStatus   []countLink
	Triage     []*vigil.Incident
	TriageN    int
	MyTasks    []*vigil.Task
	Overdue    []*vigil.Task
	OverdueN   int
	Open       int
	Views      []*vigil.SavedView
	Duties     []*vigil.Obligation
	// AllOrgs is added to the links to the incident list when the user
	// chose a current organisation: the dashboard counts all of theirs,
	// and its links list what it counted.
	AllOrgs            string
	OpenURL, TriageURL string
}

type countLink struct {
	Label string
	Class string
	N     int
	URL   string
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := vigil.ActorFromContext(ctx)
	d := &dashData{}
	p := h.newPage(r, "Dashboard", "dashboard", d)
	if p.OrgCurrent != "" {
		d.AllOrgs = "&organisation="
	}
	d.OpenURL, d.TriageURL = "/incidents?open=true"+d.AllOrgs, "/incidents?status=triage"+d.AllOrgs
	d.Views, _ = h.Services.Views.FindViews(ctx)
	d.Duties, _ = h.Services.Duties.FindDueObligations(ctx, h.Now().Add(72*time.Hour), 10)
	open := true
	count := func(f vigil.IncidentFilter) int {
		n, err := h.Services.Incidents.CountIncidents(ctx, f)
		if err != nil {
			h.Logger.WarnContext(ctx, "dashboard count", "err", err)
		}
		return n
	}
	d.Open = count(vigil.IncidentFilter{Open: &open})
	for _, s := range slices.Backward(vigil.Severities) {
		d.BySeverity = append(d.BySeverity, countLink{Label: label(s), Class: "sev-" + string(s),
			N: count(vigil.IncidentFilter{Open: &open, Severity: []vigil.Severity{s}}), URL: "/incidents?open=true&severity=" + string(s) + d.AllOrgs})
	}
	for _, s := range vigil.OpenStatuses {
		d.ByStatus = append(d.ByStatus, countLink{Label: label(vigil.StatusLabel(s)), Class: "st-" + string(s),
			N: count(vigil.IncidentFilter{Status: []vigil.Status{s}}), URL: "/incidents?status=" + string(s) + d.AllOrgs})
	}
	d.TriageN = d.ByStatus[0].N
	page, err := h.Services.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Status: []vigil.Status{vigil.StatusTriage}, Limit: 8})
	if err != nil {
		return err
	}
	d.Triage = page.Items
	if a.UserID != 0 {
		me := a.UserID
		d.MyTasks, _, err = h.Services.Tasks.FindTasks(ctx, vigil.TaskFilter{AssigneeID: &me,
			Status: []vigil.TaskStatus{vigil.TaskOpen, vigil.TaskInProgress}, Live: true, Limit: 10})
		if err != nil {
			return err
		}
	}
	if d.Overdue, d.OverdueN, err = h.Services.Tasks.FindTasks(ctx, vigil.TaskFilter{Overdue: true, Live: true, Limit: 10}); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "dashboard.html", p)
}
