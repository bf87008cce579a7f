package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// PlanList is the response plans.
type PlanList struct {
	Plans []*vigil.Plan `json:"plans"`
}

// PlanVersionList is a plan's change history, newest first.
type PlanVersionList struct {
	Versions []*vigil.PlanVersion `json:"versions"`
}

// PlanApproval approves a version of a plan.
type PlanApproval struct {
	Version int `json:"version"`
}

// PlanApply applies a plan to an incident.
type PlanApply struct {
	PlanID  int64 `json:"plan_id"`
	Preview bool  `json:"preview"` // only say what it would do
}

// IncidentPlans are the plans applied to an incident and those that fit it.
type IncidentPlans struct {
	Applied []*vigil.AppliedPlan `json:"applied"`
	// Suggested are the plans written for the incident's type and severity.
	Suggested []*vigil.Plan `json:"suggested"`
}

func (s *Server) handlePlanList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Plans.FindPlans(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, PlanList{Plans: list})
	return nil
}

func (s *Server) handlePlanCreate(w http.ResponseWriter, r *http.Request) error {
	var in vigil.PlanInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.Services.Plans.CreatePlan(r.Context(), in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, p)
	return nil
}

func (s *Server) handlePlanView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.Services.Plans.FindPlanByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handlePlanUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var in vigil.PlanInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.Services.Plans.UpdatePlan(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handlePlanMeta(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var m vigil.PlanMeta
	if err := s.decode(w, r, &m); err != nil {
		return err
	}
	p, err := s.Services.Plans.SetPlanMeta(r.Context(), id, m)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handlePlanApprove(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var a PlanApproval
	if err := s.decode(w, r, &a); err != nil {
		return err
	}
	p, err := s.Services.Plans.ApprovePlan(r.Context(), id, a.Version)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handlePlanVersions(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.Services.Plans.FindPlanVersions(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, PlanVersionList{Versions: list})
	return nil
}

func (s *Server) handleIncidentPlans(w http.ResponseWriter, r *http.Request, id int64) error {
	applied, err := s.Services.Plans.FindAppliedPlans(r.Context(), id)
	if err != nil {
		return err
	}
	out := IncidentPlans{Applied: applied, Suggested: []*vigil.Plan{}}
	if plans, err := s.Services.Plans.FindPlans(r.Context()); err == nil {
		inc, err := s.Services.Incidents.FindIncidentByID(r.Context(), id)
		if err != nil {
			return err
		}
		out.Suggested = vigil.SuggestPlans(plans, inc)
	} else if vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		return err
	}
	s.json(w, http.StatusOK, out)
	return nil
}

func (s *Server) handlePlanApply(w http.ResponseWriter, r *http.Request, id int64) error {
	var in PlanApply
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.Services.Plans.ApplyPlan(r.Context(), id, in.PlanID, in.Preview)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, a)
	return nil
}
