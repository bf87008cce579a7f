package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// MailboxList is the polled mailboxes.
type MailboxList struct {
	Mailboxes []*vigil.Mailbox `json:"mailboxes"`
}

func (s *Server) handleMailboxList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Mailboxes.FindMailboxes(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, MailboxList{Mailboxes: list})
	return nil
}

func (s *Server) handleMailboxCreate(w http.ResponseWriter, r *http.Request) error {
	var m vigil.Mailbox
	if err := s.decode(w, r, &m); err != nil {
		return err
	}
	// The poll's state is the poller's to keep.
	m.ID, m.UIDValidity, m.LastUID, m.Health, m.LastError, m.LastPolledAt, m.Failures = 0, 0, 0, "", "", nil, nil
	if err := s.Services.Mailboxes.CreateMailbox(r.Context(), &m); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &m)
	return nil
}

func (s *Server) handleMailboxView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.Services.Mailboxes.FindMailboxByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, m)
	return nil
}

func (s *Server) handleMailboxDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Mailboxes.DeleteMailbox(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
