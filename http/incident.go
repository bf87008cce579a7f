package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
)

// IncidentCreate is the body of POST /api/v1/incidents: the writable fields
// of an incident.
type IncidentCreate struct {
	// Organisation is the slug of the organisation the incident belongs
	// to; empty means the caller's only organisation, or the default one.
	Organisation           string              `json:"organisation"`
	Title                  string              `json:"title"`
	Summary                string              `json:"summary"`
	Type                   vigil.IncidentType  `json:"type"`
	Status                 vigil.Status        `json:"status"`
	Severity               vigil.Severity      `json:"severity"`
	Category               int                 `json:"category"`
	Significant            bool                `json:"significant"`
	TLP                    vigil.TLP           `json:"tlp"`
	PersonalData           bool                `json:"personal_data"`
	EssentialService       bool                `json:"essential_service"`
	DigitalServiceImpact   bool                `json:"digital_service_impact"`
	SignificantCyberThreat bool                `json:"significant_cyber_threat"`
	CrimeSuspected         bool                `json:"crime_suspected"`
	AffectedServices       []string            `json:"affected_services"`
	Source                 vigil.Source        `json:"source"`
	Exercise               bool                `json:"exercise"`
	LeadID                 *int64              `json:"lead_id"`
	Times                  vigil.IncidentTimes `json:"times"`
}

func (c *IncidentCreate) incident() *vigil.Incident {
	return &vigil.Incident{
		Organisation: c.Organisation, Title: c.Title, Summary: c.Summary, Type: c.Type, Status: c.Status, Severity: c.Severity,
		Category: c.Category, Significant: c.Significant, TLP: c.TLP, PersonalData: c.PersonalData,
		EssentialService: c.EssentialService, DigitalServiceImpact: c.DigitalServiceImpact, CrimeSuspected: c.CrimeSuspected,
		SignificantCyberThreat: c.SignificantCyberThreat, AffectedServices: c.AffectedServices,
		Source: c.Source, Exercise: c.Exercise, LeadID: c.LeadID, Times: c.Times,
	}
}

// IncidentList is a page of incidents.
type IncidentList struct {
	Items      []*vigil.Incident `json:"items"`
	Snippets   map[string]string `json:"snippets,omitempty"` // incident ID -> highlighted snippet, with q
	NextCursor string            `json:"next_cursor,omitempty"`
	Total      *int              `json:"total,omitempty"` // with count=true
}

// incidentHandler is an API handler of an incident or something of it:
// the routes under /api/v1/incidents/{id}. It gets the incident's ID.
type incidentHandler func(w http.ResponseWriter, r *http.Request, id int64) error

// incident resolves the {id} path value for h, the same way on every
// incident route: a numeric ID, or a reference such as INC-2026-000123.
func (s *Server) incident(h incidentHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := casework.IncidentID(r.Context(), s.Services.Incidents, r.PathValue("id"))
		if err != nil {
			return err
		}
		return h(w, r, id)
	}
}

// incidentFilter parses the list filters from the query string.
func incidentFilter(r *http.Request, extra ...string) (vigil.IncidentFilter, *query, error) {
	q := newQuery(r, append([]string{"status", "severity", "type", "category", "tlp", "source", "lead", "unassigned",
		"member", "significant", "exercise", "open", "q", "created_after", "created_before", "updated_after",
		"updated_before", "occurred_after", "occurred_before", "sort", "cursor", "limit", "organisation"}, extra...)...)
	f := vigil.IncidentFilter{
		Status: enumList[vigil.Status](q, "status"), Severity: enumList[vigil.Severity](q, "severity"),
		Type: enumList[vigil.IncidentType](q, "type"), Source: enumList[vigil.Source](q, "source"),
		LeadID: q.user("lead"), MemberID: q.user("member"), Significant: q.bool("significant"),
		Exercise: q.bool("exercise"), Open: q.bool("open"), Query: q.str("q"),
		CreatedAfter: q.time("created_after"), CreatedBefore: q.time("created_before"),
		UpdatedAfter: q.time("updated_after"), UpdatedBefore: q.time("updated_before"),
		OccurredAfter: q.time("occurred_after"), OccurredBefore: q.time("occurred_before"),
		Sort: vigil.IncidentSort(q.str("sort")), Cursor: q.str("cursor"), Limit: q.int("limit", 0),
		Organisation: q.list("organisation"),
	}
	if b := q.bool("unassigned"); b != nil {
		f.Unassigned = *b
	}
	for _, c := range q.list("category") {
		n, err := strconv.Atoi(c)
		if err != nil {
			q.p.Add("category", "Must be a number from 1 to 6.")
		}
		f.Category = append(f.Category, n)
	}
	for _, t := range q.list("tlp") {
		if v, ok := vigil.ParseTLP(t); ok {
			f.TLP = append(f.TLP, v)
		} else {
			f.TLP = append(f.TLP, vigil.TLP(t)) // Normalize names it
		}
	}
	if err := q.err(); err != nil {
		return f, q, err
	}
	return f, q, f.Normalize()
}

func (s *Server) handleIncidentList(w http.ResponseWriter, r *http.Request) error {
	f, q, err := incidentFilter(r, "count")
	if err != nil {
		return err
	}
	page, err := s.Services.Incidents.FindIncidents(r.Context(), f)
	if err != nil {
		return err
	}
	out := &IncidentList{Items: page.Items, NextCursor: page.NextCursor}
	if len(page.Snippets) > 0 {
		out.Snippets = make(map[string]string, len(page.Snippets))
		for id, snip := range page.Snippets {
			out.Snippets[strconv.FormatInt(id, 10)] = snip
		}
	}
	if c := q.bool("count"); c != nil && *c {
		n, err := s.Services.Incidents.CountIncidents(r.Context(), f)
		if err != nil {
			return err
		}
		out.Total = &n
	}
	s.json(w, http.StatusOK, out)
	return nil
}

// IncidentCount is the answer of GET /api/v1/incidents/count.
type IncidentCount struct {
	Count int `json:"count"`
}

func (s *Server) handleIncidentCount(w http.ResponseWriter, r *http.Request) error {
	f, _, err := incidentFilter(r)
	if err != nil {
		return err
	}
	n, err := s.Services.Incidents.CountIncidents(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &IncidentCount{Count: n})
	return nil
}

func (s *Server) handleIncidentCreate(w http.ResponseWriter, r *http.Request) error {
	var req IncidentCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	inc := req.incident()
	if err := s.Services.Incidents.CreateIncident(r.Context(), inc); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10))
	w.Header().Set("ETag", etag(inc.Version))
	s.json(w, http.StatusCreated, inc)
	return nil
}

func (s *Server) handleIncidentView(w http.ResponseWriter, r *http.Request, id int64) error {
	inc, err := s.Services.Incidents.FindIncidentByID(r.Context(), id)
	if err != nil {
		return err
	}
	tag := etag(inc.Version)
	w.Header().Set("ETag", tag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Trim(strings.TrimPrefix(match, "W/"), " ") == tag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	s.json(w, http.StatusOK, inc)
	return nil
}

// versioned reads the version a write is based on: If-Match wins over the
// body's version; with neither, the write is refused (428), because a
// write without a version is how updates get lost.
func versioned(r *http.Request, bodyVersion int) (int, error) {
	v, ok, err := ifMatchVersion(r)
	if err != nil {
		return 0, err
	}
	if ok {
		return v, nil
	}
	if bodyVersion > 0 {
		return bodyVersion, nil
	}
	return 0, vigil.Errorf(vigil.EPRECONDITION, "Say which version you are changing: send If-Match with the ETag you read, or \"version\" in the body.")
}

// incidentWritten answers a write to incident id: the incident as it now
// is, with its ETag; or, when the write lost the race, 412 with the
// current incident, so the client can show the difference and keep its
// input.
func (s *Server) incidentWritten(w http.ResponseWriter, r *http.Request, id int64, inc *vigil.Incident, err error) error {
	if vigil.ErrorCode(err) == vigil.ECONFLICT {
		cur, ferr := s.Services.Incidents.FindIncidentByID(r.Context(), id)
		if ferr != nil {
			return err
		}
		w.Header().Set("ETag", etag(cur.Version))
		return &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT, Detail: vigil.ErrorMessage(err), Current: cur}
	} else if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(inc.Version))
	s.json(w, http.StatusOK, inc)
	return nil
}

func (s *Server) handleIncidentUpdate(w http.ResponseWriter, r *http.Request, id int64) error {
	var upd vigil.IncidentUpdate
	if err := s.decode(w, r, &upd); err != nil {
		return err
	}
	var err error
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		return err
	}
	inc, err := s.Services.Incidents.UpdateIncident(r.Context(), id, upd)
	return s.incidentWritten(w, r, id, inc, err)
}

func (s *Server) handleIncidentTransition(w http.ResponseWriter, r *http.Request, id int64) error {
	var t vigil.Transition
	if err := s.decode(w, r, &t); err != nil {
		return err
	}
	var err error
	if t.Version, err = versioned(r, t.Version); err != nil {
		return err
	}
	inc, err := s.Services.Incidents.TransitionIncident(r.Context(), id, t)
	return s.incidentWritten(w, r, id, inc, err)
}

// Lifecycle describes the statuses and the moves between them, for clients
// that offer only the allowed transitions.
type Lifecycle struct {
	Statuses []LifecycleStatus `json:"statuses"`
}

// LifecycleStatus is one status with its label, next statuses and advice.
type LifecycleStatus struct {
	Status vigil.Status   `json:"status"`
	Label  string         `json:"label"`
	Open   bool           `json:"open"`
	Next   []vigil.Status `json:"next"`
	Advice string         `json:"advice,omitempty"`
}

func (s *Server) handleLifecycle(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireActor(r); err != nil {
		return err
	}
	var lc Lifecycle
	for _, st := range vigil.Statuses {
		lc.Statuses = append(lc.Statuses, LifecycleStatus{Status: st, Label: vigil.StatusLabel(st), Open: st.Open(),
			Next: st.NextStatuses(), Advice: vigil.TriageAdvice(st)})
	}
	s.json(w, http.StatusOK, &lc)
	return nil
}

// IncidentFilterFromRequest reads the incident list filters from a
// request's query string, as GET /api/v1/incidents does; the web pages'
// list takes the same parameters, so a filtered view's URL works in both.
func IncidentFilterFromRequest(r *http.Request) (vigil.IncidentFilter, error) {
	f, _, err := incidentFilter(r)
	return f, err
}
