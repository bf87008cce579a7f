package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// OIDCProviderList is the single sign-on providers, without secrets.
type OIDCProviderList struct {
	Providers []*vigil.OIDCProvider `json:"providers"`
}

// oidcRoutes: the administration of the single sign-on providers
// (docs/identity.md), for admins (user:admin; a token needs the admin
// scope). The sign-in itself is a browser's (package web).
func (s *Server) oidcRoutes() {
	s.api("GET /api/v1/oidc/providers", s.handleOIDCList, op{ID: "listOIDCProviders", Tag: "Single sign-on",
		Summary: "The OpenID Connect providers people may sign in with (admins; client secrets never)", Resp: OIDCProviderList{}})
	s.api("POST /api/v1/oidc/providers", s.handleOIDCCreate, op{ID: "createOIDCProvider", Tag: "Single sign-on",
		Summary: "Add an OpenID Connect provider (admins); the client secret is stored sealed", Body: vigil.OIDCProvider{}, Resp: vigil.OIDCProvider{}, Status: http.StatusCreated})
	s.api("GET /api/v1/oidc/providers/{id}", s.handleOIDCView, op{ID: "getOIDCProvider", Tag: "Single sign-on",
		Summary: "One provider, with its group mappings, without its secret (admins)", Resp: vigil.OIDCProvider{}})
	s.api("PUT /api/v1/oidc/providers/{id}", s.handleOIDCUpdate, op{ID: "updateOIDCProvider", Tag: "Single sign-on",
		Summary: "Replace a provider's settings and mappings (send its version; an empty client secret keeps the stored one; the slug stays)", Body: vigil.OIDCProvider{}, Resp: vigil.OIDCProvider{}})
	s.api("DELETE /api/v1/oidc/providers/{id}", s.handleOIDCDelete, op{ID: "deleteOIDCProvider", Tag: "Single sign-on",
		Summary: "Remove a provider (the users it created stay)", Status: http.StatusNoContent})
}

func (s *Server) handleOIDCList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.OIDC.FindProviders(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, OIDCProviderList{Providers: list})
	return nil
}

func (s *Server) handleOIDCCreate(w http.ResponseWriter, r *http.Request) error {
	var p vigil.OIDCProvider
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	p.ID = 0
	if err := s.Services.OIDC.CreateProvider(r.Context(), &p); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &p)
	return nil
}

func (s *Server) handleOIDCView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.Services.OIDC.FindProvider(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleOIDCUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var p vigil.OIDCProvider
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	p.ID = id
	if err := s.Services.OIDC.UpdateProvider(r.Context(), &p); err != nil {
		return err
	}
	s.json(w, http.StatusOK, &p)
	return nil
}

func (s *Server) handleOIDCDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.OIDC.DeleteProvider(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
