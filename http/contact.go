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

func (s *Server) handleContactList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Contacts.FindContacts(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ContactList{Contacts: list, Public: vigil.PublicContacts})
	return nil
}

func (s *Server) handleContactCreate(w http.ResponseWriter, r *http.Request) error {
	var c vigil.Contact
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	c.ID = 0
	if err := s.Services.Contacts.CreateContact(r.Context(), &c); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &c)
	return nil
}

func (s *Server) handleContactUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var c vigil.Contact
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	c.ID = id
	if err := s.Services.Contacts.UpdateContact(r.Context(), &c); err != nil {
		return err
	}
	s.json(w, http.StatusOK, &c)
	return nil
}

func (s *Server) handleContactDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Contacts.DeleteContact(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
