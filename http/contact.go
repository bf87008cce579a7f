package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// ContactList is the key contacts.
type ContactList struct {
	Contacts []*vigil.Contact `json:"contacts"`
	// Public are the authorities' published routes, used for a role
	// until the organisation records its own contact for it.
	Public []*vigil.Contact `json:"public"`
}

func (s *Server) handleContactList(w http.ResponseWriter, r *http.Request) {
	list, err := s.Services.Contacts.FindContacts(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, ContactList{Contacts: list, Public: vigil.PublicContacts})
}

func (s *Server) handleContactCreate(w http.ResponseWriter, r *http.Request) {
	var c vigil.Contact
	if !s.decode(w, r, &c) {
		return
	}
	c.ID = 0
	if err := s.Services.Contacts.CreateContact(r.Context(), &c); err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusCreated, &c)
}

func (s *Server) handleContactUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var c vigil.Contact
	if !s.decode(w, r, &c) {
		return
	}
	c.ID = id
	if err := s.Services.Contacts.UpdateContact(r.Context(), &c); err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, &c)
}

func (s *Server) handleContactDelete(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.Services.Contacts.DeleteContact(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
