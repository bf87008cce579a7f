package http

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// ExportSTIX builds an incident's STIX bundle from the services, as the
// actor in ctx sees it.
func ExportSTIX(ctx context.Context, svc vigil.Services, id int64, report bool, maxTLP vigil.TLP) (*stix.Bundle, error) {
	inc, err := svc.Incidents.FindIncidentByID(ctx, id)
	if err != nil {
		return nil, err
	}
	obs, err := svc.Observables.FindObservables(ctx, id)
	if err != nil {
		return nil, err
	}
	profile, err := svc.Duties.FindProfile(ctx)
	if err != nil {
		return nil, err
	}
	e := &stix.Export{Org: profile.Name, Incident: inc, Observables: obs, Report: report, MaxTLP: maxTLP}
	return e.Bundle()
}

func (s *Server) handleIncidentSTIX(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := newQuery(r, "report", "max_tlp")
	report := q.bool("report")
	var maxTLP vigil.TLP
	if v := q.str("max_tlp"); v != "" {
		t, ok := vigil.ParseTLP(v)
		if !ok {
			q.p.Add("max_tlp", "One of CLEAR, GREEN, AMBER, AMBER+STRICT, RED.")
		}
		maxTLP = t
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	b, err := ExportSTIX(r.Context(), s.Services, id, report != nil && *report, maxTLP)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", stix.MediaType)
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(b)
}
