package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
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
	profile, err := casework.Profile(ctx, svc.Duties, inc)
	if err != nil {
		return nil, err
	}
	e := &stix.Export{Org: profile.Name, Incident: inc, Observables: obs, Report: report, MaxTLP: maxTLP}
	return e.Bundle()
}

func (s *Server) handleIncidentSTIX(w http.ResponseWriter, r *http.Request, id int64) error {
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
		return err
	}
	b, err := ExportSTIX(r.Context(), s.Services, id, report != nil && *report, maxTLP)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", stix.MediaType)
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(b)
	return nil
}

// Publication asks to share an incident's indicators with a collection.
type Publication struct {
	CollectionID string `json:"collection_id"`
	// Preview returns exactly what would be shared, and shares nothing.
	Preview bool `json:"preview"`
}

// PublicationResult is what sharing sends (or, for a preview, would
// send), and the TAXII status of the addition.
type PublicationResult struct {
	Collection *vigil.Collection  `json:"collection"`
	Objects    []stix.Object      `json:"objects"`
	Status     *vigil.TAXIIStatus `json:"status"` // null for a preview
}

// shareTarget finds the collection a user shares with, once it has checked
// that the user may share at all (so a refusal does not tell whether the
// collection exists). A missing collection is the request's mistake.
func (s *Server) shareTarget(ctx context.Context, collectionID string) (*vigil.Collection, error) {
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermIncidentEdit); err != nil {
		return nil, err
	}
	coll, err := s.Services.Sharing.FindCollection(ctx, collectionID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, vigil.Invalid("collection_id", "No collection %q.", collectionID)
	}
	return coll, err
}

func (s *Server) handleIncidentPublish(w http.ResponseWriter, r *http.Request, id int64) error {
	var p Publication
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	ctx := r.Context()
	coll, err := s.shareTarget(ctx, p.CollectionID)
	if err != nil {
		return err
	}
	objs, err := s.indicatorsOf(ctx, id)
	if err != nil {
		return err
	}
	if objs == nil {
		objs = []stix.Object{}
	}
	if p.Preview {
		s.json(w, http.StatusOK, PublicationResult{Collection: coll, Objects: objs})
		return nil
	}
	if len(objs) == 0 {
		return vigil.Invalid("incident", "The incident has no observables marked IOC at TLP:AMBER or below to share.")
	}
	in := make([]*vigil.IncomingObject, 0, len(objs))
	for _, o := range objs {
		raw, _ := json.Marshal(o)
		info, err := stix.Check(raw)
		if err != nil {
			return fmt.Errorf("exported object %s: %w", o.ID(), err)
		}
		in = append(in, &vigil.IncomingObject{Raw: raw, ID: info.ID, Type: info.Type, SpecVersion: info.SpecVersion, Version: info.Version, TLP: info.TLP})
	}
	st, err := s.Services.Sharing.PublishIncident(ctx, id, p.CollectionID, in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, PublicationResult{Collection: coll, Objects: objs, Status: st})
	return nil
}

func (s *Server) indicatorsOf(ctx context.Context, id int64) ([]stix.Object, error) {
	inc, err := s.Services.Incidents.FindIncidentByID(ctx, id)
	if err != nil {
		return nil, err
	}
	obs, err := s.Services.Observables.FindObservables(ctx, id)
	if err != nil {
		return nil, err
	}
	profile, err := casework.Profile(ctx, s.Services.Duties, inc)
	if err != nil {
		return nil, err
	}
	return (&stix.Export{Org: profile.Name, Incident: inc, Observables: obs}).Indicators()
}

// CollectionList is the collections.
type CollectionList struct {
	Collections []*vigil.Collection `json:"collections"`
}

func (s *Server) handleCollectionList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Sharing.FindCollections(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, CollectionList{Collections: list})
	return nil
}

func (s *Server) handleCollectionCreate(w http.ResponseWriter, r *http.Request) error {
	var c vigil.Collection
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	if err := s.Services.Sharing.CreateCollection(r.Context(), &c); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &c)
	return nil
}
