package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/duty"
)

// The incident page is the incident itself, which must load (or the page
// is an error: 404 for one the actor may not see), and sections that each
// load their own data. A section that fails to load is logged and shows a
// notice with the request ID in its place; the rest of the page is shown
// as usual. Each section is a {{define "incident/<name>"}} in
// templates/_incident.html.

// incidentSection is one section of the incident page.
type incidentSection struct {
	name string // as in ErrorsOf and Failed; its template is "incident/" + name
	load func(h *Handler, r *http.Request, d *incidentData) error
}

// incidentSections are the incident page's sections that load data, in the
// order they load: the duties' drafts quote the observables, and the
// contacts follow from the duties. The head, summary and key facts show
// the incident alone.
var incidentSections = []incidentSection{
	{"members", (*Handler).loadMembers},
	{"duplicate", (*Handler).loadDuplicate},
	{"plans", (*Handler).loadPlans},
	{"tasks", (*Handler).loadTasks},
	{"timeline", (*Handler).loadTimeline},
	{"observables", (*Handler).loadObservables},
	{"intel", (*Handler).loadIntel},
	{"duties", (*Handler).loadDuties},
	{"contacts", (*Handler).loadContacts},
	{"review", (*Handler).loadReview},
	{"evidence", (*Handler).loadEvidence},
	{"links", (*Handler).loadLinks},
	{"comments", (*Handler).loadComments},
	{"reportsup", (*Handler).loadUpwardReports},
}

type incidentData struct {
	enums
	Inc       *vigil.Incident
	Users     []*vigil.User
	UserNames map[int64]string
	Next      []vigil.Status
	Cats      map[int]string
	Report    bool // came from the staff report page

	// A failed form: the section it is in, the <details> to open, and its
	// input with the errors by field (ErrorsOf); a stale edit of the
	// incident keeps the user's input in Form and says so in Conflict.
	Section  string
	Open     string
	Errors   map[string]string
	Form     *incidentForm
	Conflict string
	ObsText  string
	NoteText string
	// OpenWork is what is still open, for the close action.
	OpenWork vigil.OpenWork

	// What the sections loaded.
	Members     []*vigil.Member
	Duplicate   *vigil.Incident
	Timeline    *vigil.TimelinePage
	Kind        string
	Tasks       []*vigil.Task
	Observables []*vigil.Observable
	Hits        []*vigil.IOCHit
	Duties      []*dutyView
	Contacts    []*vigil.Contact
	Evidence    []*vigil.Evidence
	Links       []*vigil.Link
	Comments    []*vigil.Comment
	CommentText string
	// Response plans: applied, written for this incident, and all.
	AppliedPlans   []*vigil.AppliedPlan
	SuggestedPlans []*vigil.Plan
	AllPlans       []*vigil.Plan
	Review         *vigil.Review
	ReviewRequired bool
	// Reports up to the coordinator, of a member's incident or of the
	// coordinator's incident made from one; ReportsUp says the section
	// is shown.
	UpwardReports []*vigil.UpwardReport
	ReportsUp     bool

	RequestID string          // for the notice of a section that failed
	failed    map[string]bool // by section name
}

// ErrorsOf returns the field errors of the failed form if it is in the
// named section, so that one form's errors show at that form only.
func (d *incidentData) ErrorsOf(section string) map[string]string {
	if d.Section != section {
		return nil
	}
	return d.Errors
}

// Failed reports whether the named section failed to load.
func (d *incidentData) Failed(section string) bool { return d.failed[section] }

// dutyView is an obligation with its drafted report, for the incident page.
type dutyView struct {
	*vigil.Obligation
	Draft string
}

func (h *Handler) incidentView(w http.ResponseWriter, r *http.Request) error {
	return h.showIncident(w, r, http.StatusOK, nil)
}

// showIncident renders the incident page; d carries a failed form's input
// and errors (nil for a plain view).
func (h *Handler) showIncident(w http.ResponseWriter, r *http.Request, status int, d *incidentData) error {
	id, err := h.incidentID(r)
	if err != nil {
		return err
	}
	if d == nil {
		d = &incidentData{}
	}
	d.enums, d.Cats = choices, categoryNames
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	ctx := r.Context()
	if d.Inc, err = h.Services.Incidents.FindIncidentByID(ctx, id); err != nil {
		return err
	}
	if d.Form == nil {
		d.Form = h.formOf(d.Inc)
	}
	d.Next = d.Inc.Status.NextStatuses()
	d.Report = d.Inc.Source == vigil.SourceStaffReport
	d.ReviewRequired = vigil.ReviewRequired(d.Inc)
	d.Users, d.UserNames = h.users(r, d.Inc.OrganisationID)
	d.RequestID = vigil.RequestIDFromContext(ctx)
	d.failed = map[string]bool{}
	// A member's incident the coordinator's staff see by a summary grant
	// has nothing under it to load: the page shows the summary alone.
	for _, s := range incidentSections {
		if d.Inc.SummaryOnly {
			break
		}
		if err := s.load(h, r, d); err != nil {
			h.Logger.ErrorContext(ctx, "incident page section", "section", s.name, "incident_id", id, "err", err,
				"request_id", d.RequestID)
			d.failed[s.name] = true
		}
	}
	if slices.Contains(d.Next, vigil.StatusClosed) {
		var obs []*vigil.Obligation
		for _, dv := range d.Duties {
			obs = append(obs, dv.Obligation)
		}
		d.OpenWork = vigil.OpenWorkOf(d.Tasks, obs)
	}
	p := h.newPage(r, d.Inc.Reference+" "+d.Inc.Title, "incidents", d)
	p.restrictTo(d.Inc.OrganisationID)
	h.incidentOrg(r, p, d.Inc)
	p.LiveURL = fmt.Sprintf("/incidents/%d/live", d.Inc.ID)
	p.LiveMark = strconv.Itoa(d.Inc.Version)
	return h.render(w, r, status, "incident.html", p)
}

// formError re-shows the incident page after a failed form, with the
// errors in the form's section (d.Section): EINVALID keeps the input with
// field messages; ECONFLICT is a stale edit of the incident, kept in its
// form, or for another section's form a message; anything else is an
// error page.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, err error, d *incidentData) error {
	switch vigil.ErrorCode(err) {
	case vigil.EINVALID:
		if d.Errors == nil {
			d.Errors = fieldErrors(err)
		}
		if len(d.Errors) == 0 {
			d.Errors["form"] = vigil.ErrorMessage(err)
		}
		return h.showIncident(w, r, statusInvalid, d)
	case vigil.ECONFLICT:
		if d.Section == "summary" {
			d.Errors = map[string]string{}
			d.Conflict = vigil.ErrorMessage(err)
		} else {
			d.Errors = map[string]string{"form": vigil.ErrorMessage(err)}
		}
		return h.showIncident(w, r, http.StatusConflict, d)
	}
	return err
}

func (h *Handler) loadMembers(r *http.Request, d *incidentData) (err error) {
	d.Members, err = h.Services.Members.FindMembers(r.Context(), d.Inc.ID)
	return err
}

// loadDuplicate finds the incident this one duplicates; one the actor may
// not see is left out.
func (h *Handler) loadDuplicate(r *http.Request, d *incidentData) error {
	if d.Inc.DuplicateOf == nil {
		return nil
	}
	orig, err := h.Services.Incidents.FindIncidentByID(r.Context(), *d.Inc.DuplicateOf)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	d.Duplicate = orig
	return nil
}

func (h *Handler) loadTasks(r *http.Request, d *incidentData) (err error) {
	d.Tasks, _, err = h.Services.Tasks.FindTasks(r.Context(), vigil.TaskFilter{IncidentID: &d.Inc.ID, Limit: vigil.MaxPageSize})
	return err
}

// loadTimeline reads the page of the timeline the query asks for (?kind,
// ?cursor); a cursor that no longer reads starts from the newest again.
func (h *Handler) loadTimeline(r *http.Request, d *incidentData) (err error) {
	q := r.URL.Query()
	tf := vigil.TimelineFilter{Limit: 100, Cursor: q.Get("cursor")}
	if k := q.Get("kind"); k != "" && slices.Contains(vigil.TimelineKinds, vigil.TimelineKind(k)) {
		tf.Kinds, d.Kind = []vigil.TimelineKind{vigil.TimelineKind(k)}, k
	}
	d.Timeline, err = h.Services.Timeline.FindTimeline(r.Context(), d.Inc.ID, tf)
	if vigil.ErrorCode(err) == vigil.EINVALID {
		tf.Cursor = ""
		d.Timeline, err = h.Services.Timeline.FindTimeline(r.Context(), d.Inc.ID, tf)
	}
	return err
}

func (h *Handler) loadObservables(r *http.Request, d *incidentData) (err error) {
	d.Observables, err = h.Services.Observables.FindObservables(r.Context(), d.Inc.ID)
	return err
}

// loadIntel finds the threat intelligence that matched the incident.
// Reporters are not shown threat intelligence (EFORBIDDEN): for them the
// section is left out.
func (h *Handler) loadIntel(r *http.Request, d *incidentData) error {
	hits, err := h.Services.IOC.FindHits(r.Context(), vigil.HitFilter{IncidentID: d.Inc.ID, Limit: 200})
	if vigil.ErrorCode(err) == vigil.EFORBIDDEN {
		return nil
	} else if err != nil {
		return err
	}
	d.Hits = hits.Hits
	return nil
}

// loadDuties lists the incident's reporting duties, a pending report with
// its draft. A draft quotes the observables: when they did not load, a
// draft would leave them out without saying so, and none is offered.
func (h *Handler) loadDuties(r *http.Request, d *incidentData) error {
	obs, err := h.Services.Duties.FindObligations(r.Context(), d.Inc.ID)
	if err != nil || len(obs) == 0 {
		return err
	}
	// The draft is written from the incident's own organisation's
	// profile. The coordinator's staff reading a member's incident by
	// grant do not see the member's profile, and draft nothing: the
	// duties are the member's.
	var profile *vigil.OrgProfile
	if d.Inc.OrganisationID == vigil.DefaultOrganisationID {
		profile, err = h.Services.Duties.FindProfile(r.Context())
	} else {
		profile, err = h.Services.Duties.FindOrgProfile(r.Context(), d.Inc.Organisation)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			profile, err = nil, nil
		}
	}
	if err != nil {
		return err
	}
	for _, o := range obs {
		dv := &dutyView{Obligation: o}
		if profile != nil && (o.Status == vigil.ObligationPending || o.Status == vigil.ObligationOptional) && !o.Register && !d.Failed("observables") {
			dv.Draft = duty.Draft(o, d.Inc, profile, d.Observables)
		}
		d.Duties = append(d.Duties, dv)
	}
	return nil
}

// loadContacts picks the contacts the incident needs at hand, the
// authorities its duties name among them.
func (h *Handler) loadContacts(r *http.Request, d *incidentData) error {
	contacts, err := h.Services.Contacts.FindContacts(r.Context())
	if err != nil {
		return err
	}
	var obs []*vigil.Obligation
	for _, dv := range d.Duties {
		obs = append(obs, dv.Obligation)
	}
	d.Contacts = vigil.ContactsFor(contacts, obs)
	return nil
}

// loadReview finds the post-incident review; ENOTFOUND is none yet.
func (h *Handler) loadReview(r *http.Request, d *incidentData) error {
	rv, err := h.Services.Reviews.FindReview(r.Context(), d.Inc.ID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	d.Review = rv
	return nil
}

func (h *Handler) loadEvidence(r *http.Request, d *incidentData) (err error) {
	d.Evidence, err = h.Services.Evidence.FindEvidence(r.Context(), d.Inc.ID)
	return err
}

func (h *Handler) loadComments(r *http.Request, d *incidentData) (err error) {
	d.Comments, err = h.Services.Comments.FindComments(r.Context(), d.Inc.ID, nil)
	return err
}

func (h *Handler) loadLinks(r *http.Request, d *incidentData) (err error) {
	d.Links, err = h.Services.Links.FindLinks(r.Context(), d.Inc.ID)
	return err
}

// loadUpwardReports loads a member's incident's reports to the
// coordinator, or where the coordinator's incident came from: the
// section is for those two kinds of incident only, so never in a
// single-organisation install.
func (h *Handler) loadUpwardReports(r *http.Request, d *incidentData) (err error) {
	d.ReportsUp = d.Inc.OrganisationID != vigil.DefaultOrganisationID || d.Inc.Source == vigil.SourceMember
	if !d.ReportsUp {
		return nil
	}
	d.UpwardReports, err = h.Services.Orgs.FindUpwardReports(r.Context(), d.Inc.ID)
	return err
}
