package http

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/vigil-ir/vigil"
)

func (s *Server) handleTimelineList(w http.ResponseWriter, r *http.Request, id int64) error {
	q := newQuery(r, "kind", "order", "cursor", "limit")
	f := vigil.TimelineFilter{Kinds: enumList[vigil.TimelineKind](q, "kind"), Cursor: q.str("cursor"), Limit: q.int("limit", 0)}
	switch q.str("order") {
	case "", "desc":
	case "asc":
		f.Asc = true
	default:
		q.p.Add("order", "Order must be asc or desc.")
	}
	for _, k := range f.Kinds {
		if !slices.Contains(vigil.TimelineKinds, k) {
			q.p.Add("kind", "Unknown timeline kind %q.", k)
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.Services.Timeline.FindTimeline(r.Context(), id, f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, page)
	return nil
}

func (s *Server) handleNoteCreate(w http.ResponseWriter, r *http.Request, id int64) error {
	var n vigil.Note
	if err := s.decode(w, r, &n); err != nil {
		return err
	}
	e, err := s.Services.Timeline.AddNote(r.Context(), id, n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(id, 10)+"/timeline")
	s.json(w, http.StatusCreated, e)
	return nil
}
