package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// ExerciseList is the exercises, the latest first.
type ExerciseList struct {
	Exercises []*vigil.Exercise `json:"exercises"`
}

// ExerciseStart starts an exercise at the version seen.
type ExerciseStart struct {
	Version int `json:"version"`
}

func (s *Server) handleExerciseList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Exercises.FindExercises(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ExerciseList{Exercises: list})
	return nil
}

func (s *Server) handleExerciseCreate(w http.ResponseWriter, r *http.Request) error {
	var in vigil.ExerciseInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	x, err := s.Services.Exercises.CreateExercise(r.Context(), in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, x)
	return nil
}

func (s *Server) handleExerciseView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	x, err := s.Services.Exercises.FindExerciseByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, x)
	return nil
}

func (s *Server) handleExerciseStart(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var in ExerciseStart
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	x, err := s.Services.Exercises.StartExercise(r.Context(), id, in.Version)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, x)
	return nil
}

func (s *Server) handleInjectRelease(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	inject, err := vigil.ParseID(r.PathValue("inject"))
	if err != nil {
		return err
	}
	x, err := s.Services.Exercises.ReleaseInject(r.Context(), id, inject)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, x)
	return nil
}

func (s *Server) handleExerciseEnd(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var in vigil.ExerciseEnd
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	x, err := s.Services.Exercises.EndExercise(r.Context(), id, in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, x)
	return nil
}

func (s *Server) handleContactVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := s.Services.Contacts.VerifyContact(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, c)
	return nil
}
