package web

import (
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil"
)

type contactsData struct {
	Contacts []*vigil.Contact
	Public   []*vigil.Contact
	Roles    []vigil.ContactRole
	Form     *vigil.Contact
	Errors   map[string]string
}

func (h *Handler) adminContacts(w http.ResponseWriter, r *http.Request) error {
	return h.renderContacts(w, r, http.StatusOK, &contactsData{Form: &vigil.Contact{}})
}

func (h *Handler) renderContacts(w http.ResponseWriter, r *http.Request, status int, d *contactsData) error {
	if err := requirePerm(r, vigil.PermContactAdmin); err != nil {
		return err
	}
	var err error
	if d.Contacts, err = h.Services.Contacts.FindContacts(r.Context()); err != nil {
		return err
	}
	d.Public, d.Roles = vigil.PublicContacts, vigil.ContactRoles
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "admin_contacts.html", h.newPage(r, "Key contacts", "admin", d))
}

func (h *Handler) adminContactCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	c := &vigil.Contact{Name: f.Get("name"), Organisation: f.Get("organisation"), Phone: f.Get("phone"), Email: f.Get("email"),
		OutOfHours: f.Get("out_of_hours"), Notes: strings.ReplaceAll(f.Get("notes"), "\r\n", "\n")}
	for _, role := range f["roles"] {
		c.Roles = append(c.Roles, vigil.ContactRole(role))
	}
	if err := h.Services.Contacts.CreateContact(r.Context(), c); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return h.renderContacts(w, r, statusInvalid, &contactsData{Form: c, Errors: fieldErrors(err)})
		}
		return err
	}
	h.redirect(w, r, "/admin/contacts", "Contact added. It shows on the incidents that need it.")
	return nil
}

func (h *Handler) adminContactDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("cid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		err = h.Services.Contacts.DeleteContact(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/admin/contacts", "Contact removed.")
	return nil
}
