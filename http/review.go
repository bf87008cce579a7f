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

func (s *Server) handleReviewView(w http.ResponseWriter, r *http.Request, id int64) error {
	rv, err := s.Services.Reviews.FindReview(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, rv)
	return nil
}

func (s *Server) handleReviewStart(w http.ResponseWriter, r *http.Request, id int64) error {
	rv, err := s.Services.Reviews.StartReview(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, rv)
	return nil
}

func (s *Server) handleReviewUpdate(w http.ResponseWriter, r *http.Request, id int64) error {
	var u vigil.ReviewUpdate
	if err := s.decode(w, r, &u); err != nil {
		return err
	}
	rv, err := s.Services.Reviews.UpdateReview(r.Context(), id, u)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, rv)
	return nil
}

func (s *Server) handleReviewAction(w http.ResponseWriter, r *http.Request, id int64) error {
	var in vigil.ActionInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.Services.Reviews.AddAction(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, a)
	return nil
}

func (s *Server) handleReviewClose(w http.ResponseWriter, r *http.Request, id int64) error {
	var c ReviewClose
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	rv, err := s.Services.Reviews.CloseReview(r.Context(), id, c.Version)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, rv)
	return nil
}

func (s *Server) handleOpenActions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Reviews.FindOpenActions(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ActionList{Actions: list})
	return nil
}
