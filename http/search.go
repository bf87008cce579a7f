package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// SearchResults is the answer of GET /api/v1/search.
type SearchResults struct {
	Items      []*vigil.SearchHit `json:"items"`
	NextOffset int                `json:"next_offset,omitempty"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "q", "kind", "offset", "limit")
	sq := vigil.SearchQuery{Query: q.str("q"), Kinds: enumList[vigil.SearchKind](q, "kind"), Offset: q.int("offset", 0), Limit: q.int("limit", 0)}
	if sq.Query == "" {
		q.p.Add("q", "Give something to search for.")
	}
	if sq.Limit < 0 || sq.Limit > vigil.MaxPageSize {
		q.p.Add("limit", "Limit must be between 1 and %d.", vigil.MaxPageSize)
	}
	if err := q.err(); err != nil {
		return err
	}
	if sq.Limit == 0 {
		sq.Limit = vigil.DefaultPageSize
	}
	hits, err := s.Services.Search.Search(r.Context(), sq)
	if err != nil {
		return err
	}
	out := &SearchResults{Items: hits}
	if len(hits) == sq.Limit {
		out.NextOffset = sq.Offset + sq.Limit
	}
	s.json(w, http.StatusOK, out)
	return nil
}
