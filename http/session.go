package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// SessionList is a user's live sessions.
type SessionList struct {
	Items []*vigil.Session `json:"items"`
}

// SessionsEnded says how many sessions ended.
type SessionsEnded struct {
	Ended int `json:"ended"`
}

func (s *Server) handleMySessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Auth.FindSessions(r.Context(), 0)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &SessionList{Items: list})
	return nil
}

func (s *Server) handleMySessionRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Auth.RevokeSession(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserSessions(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.Services.Auth.FindSessions(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &SessionList{Items: list})
	return nil
}

func (s *Server) handleUserSessionsEnd(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := s.Services.Auth.EndSessions(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &SessionsEnded{Ended: n})
	return nil
}
