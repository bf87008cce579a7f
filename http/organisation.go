package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// OrganisationList is the organisations the caller belongs to (all of
// them, for the install's administrators).
type OrganisationList struct {
	Organisations []*vigil.Organisation `json:"organisations"`
}

// MemberAdd gives a user a role in an organisation.
type MemberAdd struct {
	Username string     `json:"username"`
	Role     vigil.Role `json:"role"`
}

// MemberRole changes a member's role.
type MemberRole struct {
	Role vigil.Role `json:"role"`
}

// MembershipList is an organisation's members.
type MembershipList struct {
	Members []*vigil.Membership `json:"members"`
}

func (s *Server) handleOrgList(w http.ResponseWriter, r *http.Request) error {
	orgs, err := s.Services.Orgs.FindOrganisations(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, OrganisationList{Organisations: orgs})
	return nil
}

func (s *Server) handleOrgCreate(w http.ResponseWriter, r *http.Request) error {
	var o vigil.Organisation
	if err := s.decode(w, r, &o); err != nil {
		return err
	}
	if err := s.Services.Orgs.CreateOrganisation(r.Context(), &o); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/organisations/"+o.Slug)
	w.Header().Set("ETag", etag(o.Version))
	s.json(w, http.StatusCreated, &o)
	return nil
}

func (s *Server) handleOrgView(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Services.Orgs.FindOrganisation(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(o.Version))
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleOrgUpdate(w http.ResponseWriter, r *http.Request) error {
	var upd vigil.OrganisationUpdate
	if err := s.decode(w, r, &upd); err != nil {
		return err
	}
	var err error
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		return err
	}
	o, err := s.Services.Orgs.UpdateOrganisation(r.Context(), r.PathValue("slug"), upd)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(o.Version))
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleOrgMemberList(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.Services.Orgs.FindMembers(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, MembershipList{Members: ms})
	return nil
}

func (s *Server) handleOrgMemberAdd(w http.ResponseWriter, r *http.Request) error {
	var req MemberAdd
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.Services.Orgs.AddMember(r.Context(), r.PathValue("slug"), req.Username, req.Role)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, m)
	return nil
}

func (s *Server) handleOrgMemberRole(w http.ResponseWriter, r *http.Request) error {
	var req MemberRole
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.Services.Orgs.SetMemberRole(r.Context(), r.PathValue("slug"), r.PathValue("username"), req.Role)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, m)
	return nil
}

func (s *Server) handleOrgMemberRemove(w http.ResponseWriter, r *http.Request) error {
	if err := s.Services.Orgs.RemoveMember(r.Context(), r.PathValue("slug"), r.PathValue("username")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// UpwardReportList is an incident's reports to the coordinator.
type UpwardReportList struct {
	Reports []*vigil.UpwardReport `json:"reports"`
}

func (s *Server) handleReportUp(w http.ResponseWriter, r *http.Request, id int64) error {
	var req vigil.ReportUp
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	rep, err := s.Services.Orgs.ReportUp(r.Context(), id, req)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, rep)
	return nil
}

func (s *Server) handleUpwardReportList(w http.ResponseWriter, r *http.Request, id int64) error {
	reps, err := s.Services.Orgs.FindUpwardReports(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, UpwardReportList{Reports: reps})
	return nil
}

func (s *Server) handleOrgProfileView(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Services.Duties.FindOrgProfile(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleOrgProfileUpdate(w http.ResponseWriter, r *http.Request) error {
	var p vigil.OrgProfile
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	if err := s.Services.Duties.UpdateOrgProfile(r.Context(), r.PathValue("slug"), &p); err != nil {
		return err
	}
	s.json(w, http.StatusOK, &p)
	return nil
}
