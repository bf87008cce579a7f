package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// ReviewClose closes a review at the version seen.
type ReviewClose struct {
	Version int `json:"version"`
}

// ActionList is review action items.
type ActionList struct {
	Actions []*vigil.Action `json:"actions"`
}

func (s *Server) handleReviewView(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	rv, err := s.Services.Reviews.FindReview(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, rv)
}

func (s *Server) handleReviewStart(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	rv, err := s.Services.Reviews.StartReview(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, rv)
}

func (s *Server) handleReviewUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var u vigil.ReviewUpdate
	if !s.decode(w, r, &u) {
		return
	}
	rv, err := s.Services.Reviews.UpdateReview(r.Context(), id, u)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, rv)
}

func (s *Server) handleReviewAction(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in vigil.ActionInput
	if !s.decode(w, r, &in) {
		return
	}
	a, err := s.Services.Reviews.AddAction(r.Context(), id, in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, a)
}

func (s *Server) handleReviewClose(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var c ReviewClose
	if !s.decode(w, r, &c) {
		return
	}
	rv, err := s.Services.Reviews.CloseReview(r.Context(), id, c.Version)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, rv)
}

func (s *Server) handleOpenActions(w http.ResponseWriter, r *http.Request) {
	list, err := s.Services.Reviews.FindOpenActions(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, ActionList{Actions: list})
}
