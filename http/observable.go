package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// ObservableCreate is one observable to add. Type may be empty (detected
// from the value) or "hash" (typed by length).
type ObservableCreate struct {
	Type        vigil.ObservableType `json:"type"`
	Value       string               `json:"value"`
	IOC         bool                 `json:"ioc"`
	TLP         vigil.TLP            `json:"tlp"`
	Description string               `json:"description"`
}

// ObservablesCreate is the body of POST /api/v1/incidents/{id}/observables:
// a list of observables, or pasted text with one per line (see
// vigil.ParseObservableLines), or both.
type ObservablesCreate struct {
	Observables []ObservableCreate `json:"observables"`
	Text        string             `json:"text"`
	IOC         bool               `json:"ioc"` // for the lines of Text
	TLP         vigil.TLP          `json:"tlp"` // for the lines of Text
}

// ObservableList is a list of observables.
type ObservableList struct {
	Items []*vigil.Observable `json:"items"`
}

// SightingList lists incidents holding a value.
type SightingList struct {
	Type  vigil.ObservableType `json:"type"`
	Value string               `json:"value"`
	Items []vigil.IncidentRef  `json:"items"`
}

func (s *Server) handleObservableList(w http.ResponseWriter, r *http.Request, id int64) error {
	list, err := s.Services.Observables.FindObservables(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &ObservableList{Items: list})
	return nil
}

func (s *Server) handleObservableCreate(w http.ResponseWriter, r *http.Request, id int64) error {
	var req ObservablesCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	var obs []*vigil.Observable
	for _, o := range req.Observables {
		obs = append(obs, &vigil.Observable{Type: o.Type, Value: o.Value, IOC: o.IOC, TLP: o.TLP, Description: o.Description})
	}
	if req.Text != "" {
		inputs, errs := vigil.ParseObservableLines(req.Text)
		if len(errs) > 0 {
			for i := range errs {
				errs[i].Field = "text." + errs[i].Field
			}
			return vigil.Problems(errs).Err()
		}
		for _, in := range inputs {
			obs = append(obs, &vigil.Observable{Type: in.Type, Value: in.Value, IOC: req.IOC, TLP: req.TLP})
		}
	}
	list, err := s.Services.Observables.AddObservables(r.Context(), id, obs)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &ObservableList{Items: list})
	return nil
}

func (s *Server) handleObservableView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.Services.Observables.FindObservableByID(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(o.Version))
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleObservableUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var upd vigil.ObservableUpdate
	if err := s.decode(w, r, &upd); err != nil {
		return err
	}
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		return err
	}
	o, err := s.Services.Observables.UpdateObservable(r.Context(), id, upd)
	if vigil.ErrorCode(err) == vigil.ECONFLICT {
		return &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT, Detail: vigil.ErrorMessage(err)}
	} else if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(o.Version))
	s.json(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleObservableDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Observables.DeleteObservable(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleSightings(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "type", "value", "limit")
	typ, value, limit := vigil.ObservableType(q.str("type")), q.v.Get("value"), q.int("limit", 0)
	if value == "" {
		q.p.Add("value", "Give the value to look for.")
	}
	if err := q.err(); err != nil {
		return err
	}
	refs, err := s.Services.Observables.FindSightings(r.Context(), typ, value, limit)
	if err != nil {
		return err
	}
	ntyp, nval, _ := vigil.NormalizeObservable(typ, value)
	s.json(w, http.StatusOK, &SightingList{Type: ntyp, Value: nval, Items: refs})
	return nil
}
