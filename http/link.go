package http

import (
	"net/http"
	"strconv"

	"github.com/vigil-ir/vigil"
)

// LinkCreate is the body of POST /api/v1/incidents/{id}/links. The target
// is an incident ID or reference.
type LinkCreate struct {
	Target string         `json:"target"`
	Kind   vigil.LinkKind `json:"kind"`
	Note   string         `json:"note"`
}

// LinkList is a list of links.
type LinkList struct {
	Items []*vigil.Link `json:"items"`
}

func (s *Server) handleLinkList(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	links, err := s.Services.Links.FindLinks(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, &LinkList{Items: links})
}

func (s *Server) handleLinkCreate(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var req LinkCreate
	if !s.decode(w, r, &req) {
		return
	}
	// Refuse before looking the target up, so the answer to a caller who
	// may not link says that, not whether the target exists.
	if err := vigil.Require(vigil.ActorFromContext(r.Context()), vigil.PermIncidentEdit); err != nil {
		s.error(w, r, err)
		return
	}
	var target int64
	if vigil.IsReference(req.Target) {
		inc, err := s.Services.Incidents.FindIncidentByReference(r.Context(), req.Target)
		if err != nil {
			s.error(w, r, vigil.Invalid("target", "No incident %s that you can see.", req.Target))
			return
		}
		target = inc.ID
	} else if target, err = strconv.ParseInt(req.Target, 10, 64); err != nil || target <= 0 {
		s.error(w, r, vigil.Invalid("target", "Give the other incident's ID or reference (INC-2026-000123)."))
		return
	}
	l := &vigil.Link{IncidentID: id, TargetID: target, Kind: req.Kind, Note: req.Note}
	if err := s.Services.Links.CreateLink(r.Context(), l); err != nil {
		if fe := vigil.ErrorFields(err); len(fe) == 1 && fe[0].Field == "target_id" {
			err = vigil.Invalid("target", "%s", fe[0].Message)
		}
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, l)
}

func (s *Server) handleLinkDelete(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.Services.Links.DeleteLink(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// MemberCreate is the body of POST /api/v1/incidents/{id}/members.
type MemberCreate struct {
	UserID int64              `json:"user_id"`
	Role   vigil.IncidentRole `json:"role"`
}

// MemberList is a list of incident members.
type MemberList struct {
	Items []*vigil.Member `json:"items"`
}

func (s *Server) handleMemberList(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.Services.Members.FindMembers(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, &MemberList{Items: list})
}

func (s *Server) handleMemberCreate(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var req MemberCreate
	if !s.decode(w, r, &req) {
		return
	}
	m, err := s.Services.Members.AddMember(r.Context(), id, req.UserID, req.Role)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, m)
}

func (s *Server) handleMemberDelete(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	userID, err := vigil.ParseID(r.PathValue("user"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.Services.Members.RemoveMember(r.Context(), id, userID, vigil.IncidentRole(r.PathValue("role"))); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
