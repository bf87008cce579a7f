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

func (s *Server) handleExerciseList(w http.ResponseWriter, r *http.Request) {
	list, err := s.Services.Exercises.FindExercises(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, ExerciseList{Exercises: list})
}

func (s *Server) handleExerciseCreate(w http.ResponseWriter, r *http.Request) {
	var in vigil.ExerciseInput
	if !s.decode(w, r, &in) {
		return
	}
	x, err := s.Services.Exercises.CreateExercise(r.Context(), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, x)
}

func (s *Server) handleExerciseView(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	x, err := s.Services.Exercises.FindExerciseByID(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, x)
}

func (s *Server) handleExerciseStart(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in ExerciseStart
	if !s.decode(w, r, &in) {
		return
	}
	x, err := s.Services.Exercises.StartExercise(r.Context(), id, in.Version)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, x)
}

func (s *Server) handleInjectRelease(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	inject, err := vigil.ParseID(r.PathValue("inject"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	x, err := s.Services.Exercises.ReleaseInject(r.Context(), id, inject)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, x)
}

func (s *Server) handleExerciseEnd(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in vigil.ExerciseEnd
	if !s.decode(w, r, &in) {
		return
	}
	x, err := s.Services.Exercises.EndExercise(r.Context(), id, in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, x)
}

func (s *Server) handleContactVerify(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := s.Services.Contacts.VerifyContact(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, c)
}
