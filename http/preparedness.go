package http

import (
	"net/http"

	"github.com/vigil-ir/vigil/casework"
)

func (s *Server) handlePreparedness(w http.ResponseWriter, r *http.Request) error {
	p, err := casework.AssessPreparedness(r.Context(), s.Services, s.Now())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}
