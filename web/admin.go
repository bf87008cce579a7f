package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

type usersData struct {
	Users  []*vigil.User
	Total  int
	Roles  []vigil.Role
	Form   *vigil.User
	Errors map[string]string
	Query  string
	// Orgs are the install's organisations, when there are several: a new
	// user then joins one of them (Org, a slug) with the role chosen, and
	// a user may have no role in the default organisation.
	Orgs []*vigil.Organisation
	Org  string
	// The two-factor policy, and the choices.
	MFAPolicy   vigil.MFAPolicy
	MFAPolicies []vigil.MFAPolicy
}

// requirePerm is EFORBIDDEN (a 403 page) unless the actor holds p. The
// services check again; this keeps admins' pages from half-rendering for
// others.
func requirePerm(r *http.Request, p vigil.Permission) error {
	return vigil.Require(vigil.ActorFromContext(r.Context()), p)
}

func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) error {
	return h.renderUsers(w, r, http.StatusOK, &usersData{Form: &vigil.User{Role: vigil.RoleResponder}})
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, status int, d *usersData) error {
	if err := requirePerm(r, vigil.PermUserAdmin); err != nil {
		return err
	}
	d.Roles = vigil.Roles
	d.MFAPolicies = vigil.MFAPolicies
	if st, err := h.Services.MFA.MFAStatus(r.Context(), 0); err == nil {
		d.MFAPolicy = st.Policy
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	d.Query = strings.TrimSpace(r.URL.Query().Get("q"))
	var err error
	if d.Users, d.Total, err = h.Services.Users.FindUsers(r.Context(), vigil.UserFilter{Query: d.Query, Limit: 500}); err != nil {
		return err
	}
	if orgs, err := h.Services.Orgs.FindOrganisations(r.Context()); err != nil {
		return err
	} else if len(orgs) > 1 {
		d.Orgs = orgs
	}
	return h.render(w, r, status, "admin_users.html", h.newPage(r, "Users", "admin", d))
}

func (h *Handler) adminUserCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	role := vigil.Role(r.PostFormValue("role"))
	u := &vigil.User{Username: r.PostFormValue("username"), Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), Role: role}
	form := *u
	// A user of another organisation has no role in the default one: they
	// are created without, then given their role there (as "vigil user add
	// -org" does).
	org := strings.TrimSpace(r.PostFormValue("organisation"))
	if org != "" && org != vigil.DefaultOrganisationSlug {
		if !role.Valid() {
			return h.renderUsers(w, r, statusInvalid, &usersData{Form: &form, Org: org, Errors: map[string]string{"role": "Choose a role."}})
		}
		if _, err := h.Services.Orgs.FindOrganisation(r.Context(), org); err != nil {
			if vigil.ErrorCode(err) != vigil.ENOTFOUND {
				return err
			}
			return h.renderUsers(w, r, statusInvalid, &usersData{Form: &form, Org: org, Errors: map[string]string{"organisation": "Choose an organisation."}})
		}
		u.Role = ""
	}
	err := h.Services.Users.CreateUser(r.Context(), u, r.PostFormValue("password"))
	if err != nil {
		switch vigil.ErrorCode(err) {
		case vigil.EINVALID:
			return h.renderUsers(w, r, statusInvalid, &usersData{Form: &form, Org: org, Errors: fieldErrors(err)})
		case vigil.ECONFLICT:
			return h.renderUsers(w, r, http.StatusConflict, &usersData{Form: &form, Org: org, Errors: map[string]string{"username": "That username is taken."}})
		}
		return err
	}
	where := ""
	if u.Role == "" {
		m, err := h.Services.Orgs.AddMember(r.Context(), org, u.Username, role)
		if err != nil {
			return fmt.Errorf("user %s was created, but not added to %s: %w", u.Username, org, err)
		}
		where = " (" + string(m.Role) + " in " + m.Organisation + ")"
	}
	h.redirect(w, r, "/admin/users", "User "+u.Username+where+" created. Give them the password by a separate channel.")
	return nil
}

func (h *Handler) adminUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("uid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	upd := vigil.UserUpdate{Version: v}
	if role := r.PostFormValue("role"); role != "" {
		rl := vigil.Role(role)
		if role == "none" {
			rl = "" // no role in the default organisation: a user of others only
		}
		upd.Role = &rl
	}
	if d := r.PostFormValue("disabled"); d != "" {
		b := d == "true"
		upd.Disabled = &b
	}
	u, err := h.Services.Users.UpdateUser(r.Context(), id, upd)
	if err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.ECONFLICT {
			return h.renderUsers(w, r, vigil.HTTPStatus(c), &usersData{Form: &vigil.User{Role: vigil.RoleResponder},
				Errors: map[string]string{"update": vigil.ErrorMessage(err)}})
		}
		return err
	}
	h.redirect(w, r, "/admin/users", "User "+u.Username+" updated.")
	return nil
}

type userTokensData struct {
	User     *vigil.User
	Tokens   []*vigil.Token
	Sessions []sessionView
	// The password reset form: its errors, and whether it asked to
	// revoke the tokens.
	Errors       map[string]string
	RevokeTokens bool
}

// adminUserTokens is a user's sign-in and API tokens, for admins: their
// sessions (to end them all), a password reset, and their tokens.
func (h *Handler) adminUserTokens(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("uid"))
	if err != nil {
		return err
	}
	return h.renderUserAccess(w, r, http.StatusOK, id, &userTokensData{})
}

func (h *Handler) renderUserAccess(w http.ResponseWriter, r *http.Request, status int, id int64, d *userTokensData) error {
	if err := requirePerm(r, vigil.PermTokenAdmin); err != nil {
		return err
	}
	var err error
	d.User, err = h.Services.Users.FindUserByID(r.Context(), id)
	if err == nil {
		d.Tokens, err = h.Services.Auth.FindTokens(r.Context(), id)
	}
	var list []*vigil.Session
	if err == nil {
		list, err = h.Services.Auth.FindSessions(r.Context(), id)
	}
	if err != nil {
		return err
	}
	d.Sessions = viewSessions(list)
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "admin_tokens.html", h.newPage(r, "Sign-in of "+d.User.Username, "admin", d))
}

type auditData struct {
	Events   []*vigil.AuditEvent
	Verify   *vigil.AuditVerification
	Next     int64
	Action   string
	Object   string
	Verified bool
}

func (h *Handler) adminAudit(w http.ResponseWriter, r *http.Request) error {
	if err := requirePerm(r, vigil.PermAuditRead); err != nil {
		return err
	}
	q := r.URL.Query()
	d := &auditData{Action: strings.TrimSpace(q.Get("action")), Object: strings.TrimSpace(q.Get("object_type"))}
	f := vigil.AuditFilter{Action: d.Action, ObjectType: d.Object, Limit: 100}
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil {
		f.BeforeSeq = b
	}
	var err error
	if d.Events, err = h.Services.Audit.FindAuditEvents(r.Context(), f); err != nil {
		return err
	}
	if len(d.Events) == f.Limit {
		d.Next = d.Events[len(d.Events)-1].Seq
	}
	if q.Get("verify") != "" {
		if d.Verify, err = h.Services.Audit.VerifyAudit(r.Context()); err != nil {
			return err
		}
	}
	return h.render(w, r, http.StatusOK, "admin_audit.html", h.newPage(r, "Audit log", "admin", d))
}
