package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
)

func (s *Server) handleHitList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "incident_id", "alert_id", "before", "limit")
	f := vigil.HitFilter{
		IncidentID: int64(q.int("incident_id", 0)),
		AlertID:    int64(q.int("alert_id", 0)),
		Before:     int64(q.int("before", 0)),
		Limit:      q.int("limit", 50),
	}
	if f.Limit < 1 || f.Limit > 200 {
		q.p.Add("limit", "Between 1 and 200.")
	}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.Services.IOC.FindHits(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, page)
	return nil
}

func (s *Server) handleHitView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	h, err := s.Services.IOC.FindHit(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, h)
	return nil
}

// SightingShare asks to share a hit's sighting with a collection.
type SightingShare struct {
	CollectionID string `json:"collection_id"`
	// Preview returns exactly what would be shared, and shares nothing.
	Preview bool `json:"preview"`
}

func (s *Server) handleHitShare(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var p SightingShare
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	ctx := r.Context()
	coll, err := s.shareTarget(ctx, p.CollectionID)
	if err != nil {
		return err
	}
	objs, in, err := casework.PrepareSighting(ctx, s.Services, id)
	if err != nil {
		return err
	}
	if p.Preview {
		s.json(w, http.StatusOK, PublicationResult{Collection: coll, Objects: objs})
		return nil
	}
	st, err := s.Services.IOC.ShareHit(ctx, id, p.CollectionID, in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, PublicationResult{Collection: coll, Objects: objs, Status: st})
	return nil
}
