package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
	"github.com/vigil-ir/vigil/duty"
)

// ObligationList is a list of reporting duties.
type ObligationList struct {
	Obligations []*vigil.Obligation `json:"obligations"`
}

// ObligationDraft is the report a duty asks for, drafted from the incident.
type ObligationDraft struct {
	Draft string `json:"draft"` // Markdown
}

// Waiver records that a duty does not apply.
type Waiver struct {
	Justification string `json:"justification"`
	Version       int    `json:"version"`
}

// StageRequest opens a duty owed on request, with the deadline the
// request set.
type StageRequest struct {
	DueAt   time.Time `json:"due_at"`
	Version int       `json:"version"`
}

// DelayReasons gives the reasons a submitted duty was late.
type DelayReasons struct {
	LateReason string `json:"late_reason"`
	Version    int    `json:"version"`
}

func (s *Server) handleObligationList(w http.ResponseWriter, r *http.Request, id int64) error {
	list, err := s.Services.Duties.FindObligations(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ObligationList{Obligations: list})
	return nil
}

func (s *Server) handleObligationsDue(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "within", "limit")
	within := 72 * time.Hour
	if v := q.str("within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 90*24*time.Hour {
			return vigil.Invalid("within", "A duration such as 24h or 168h, at most 2160h.")
		}
		within = d
	}
	limit := q.int("limit", 50)
	if err := q.err(); err != nil {
		return err
	}
	list, err := s.Services.Duties.FindDueObligations(r.Context(), s.Now().Add(within), limit)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ObligationList{Obligations: list})
	return nil
}

func (s *Server) handleObligationDraft(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	draft, err := DraftObligation(r, s.Services, id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ObligationDraft{Draft: draft})
	return nil
}

// DraftObligation drafts the report for obligation id, for the API and
// the web pages.
func DraftObligation(r *http.Request, svc vigil.Services, id int64) (string, error) {
	ctx := r.Context()
	o, err := svc.Duties.FindObligationByID(ctx, id)
	if err != nil {
		return "", err
	}
	inc, err := svc.Incidents.FindIncidentByID(ctx, o.IncidentID)
	if err != nil {
		return "", err
	}
	profile, err := casework.Profile(ctx, svc.Duties, inc)
	if err != nil {
		return "", err
	}
	obs, err := svc.Observables.FindObservables(ctx, o.IncidentID)
	if err != nil {
		return "", err
	}
	return duty.Draft(o, inc, profile, obs), nil
}

func (s *Server) handleObligationSubmit(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var sub vigil.Submission
	if err := s.decode(w, r, &sub); err != nil {
		return err
	}
	o, err := s.Services.Duties.SubmitObligation(r.Context(), id, sub)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleObligationWaive(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var wv Waiver
	if err := s.decode(w, r, &wv); err != nil {
		return err
	}
	o, err := s.Services.Duties.WaiveObligation(r.Context(), id, wv.Justification, wv.Version)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleObligationExplainDelay(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var dr DelayReasons
	if err := s.decode(w, r, &dr); err != nil {
		return err
	}
	o, err := s.Services.Duties.ExplainDelay(r.Context(), id, dr.LateReason, dr.Version)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleObligationRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var sr StageRequest
	if err := s.decode(w, r, &sr); err != nil {
		return err
	}
	o, err := s.Services.Duties.RequestObligation(r.Context(), id, sr.DueAt, sr.Version)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleProfileView(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Services.Duties.FindProfile(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleProfileUpdate(w http.ResponseWriter, r *http.Request) error {
	var p vigil.OrgProfile
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	if err := s.Services.Duties.UpdateProfile(r.Context(), &p); err != nil {
		return err
	}
	s.json(w, http.StatusOK, &p)
	return nil
}

// PackList is the duty packs in force.
type PackList struct {
	Packs []*vigil.PackInfo `json:"packs"`
}

func (s *Server) handlePackList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Duties.FindPacks(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, PackList{Packs: list})
	return nil
}

// handlePackSave stores an admin's pack: PUT /api/v1/duty-packs/{pack}
// with the pack as the body.
func (s *Server) handlePackSave(w http.ResponseWriter, r *http.Request) error {
	var body json.RawMessage
	if err := s.decode(w, r, &body); err != nil {
		return err
	}
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ID != r.PathValue("pack") {
		return vigil.Invalid("id", "The pack's id must be the one in the URL (%q).", r.PathValue("pack"))
	}
	info, err := s.Services.Duties.SavePack(r.Context(), body)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, info)
	return nil
}

func (s *Server) handlePackDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Services.Duties.DeletePack(r.Context(), r.PathValue("pack")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
