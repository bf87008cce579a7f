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

func (s *Server) handleLinkList(w http.ResponseWriter, r *http.Request, id int64) error {
	links, err := s.Services.Links.FindLinks(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &LinkList{Items: links})
	return nil
}

func (s *Server) handleLinkCreate(w http.ResponseWriter, r *http.Request, id int64) error {
	var req LinkCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	// Refuse before looking the target up, so the answer to a caller who
	// may not link says that, not whether the target exists.
	if err := vigil.Require(vigil.ActorFromContext(r.Context()), vigil.PermIncidentEdit); err != nil {
		return err
	}
	var target int64
	var err error
	if vigil.IsReference(req.Target) {
		inc, err := s.Services.Incidents.FindIncidentByReference(r.Context(), req.Target)
		if err != nil {
			return vigil.Invalid("target", "No incident %s that you can see.", req.Target)
		}
		target = inc.ID
	} else if target, err = strconv.ParseInt(req.Target, 10, 64); err != nil || target <= 0 {
		return vigil.Invalid("target", "Give the other incident's ID or reference (INC-2026-000123).")
	}
	l := &vigil.Link{IncidentID: id, TargetID: target, Kind: req.Kind, Note: req.Note}
	if err := s.Services.Links.CreateLink(r.Context(), l); err != nil {
		if fe := vigil.ErrorFields(err); len(fe) == 1 && fe[0].Field == "target_id" {
			err = vigil.Invalid("target", "%s", fe[0].Message)
		}
		return err
	}
	s.json(w, http.StatusCreated, l)
	return nil
}

func (s *Server) handleLinkDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Links.DeleteLink(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
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

func (s *Server) handleMemberList(w http.ResponseWriter, r *http.Request, id int64) error {
	list, err := s.Services.Members.FindMembers(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &MemberList{Items: list})
	return nil
}

func (s *Server) handleMemberCreate(w http.ResponseWriter, r *http.Request, id int64) error {
	var req MemberCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.Services.Members.AddMember(r.Context(), id, req.UserID, req.Role)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, m)
	return nil
}

func (s *Server) handleMemberDelete(w http.ResponseWriter, r *http.Request, id int64) error {
	userID, err := vigil.ParseID(r.PathValue("user"))
	if err != nil {
		return err
	}
	if err := s.Services.Members.RemoveMember(r.Context(), id, userID, vigil.IncidentRole(r.PathValue("role"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
