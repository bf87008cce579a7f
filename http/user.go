package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-ir/vigil"
)

// UserCreate is the body of POST /api/v1/users.
type UserCreate struct {
	Username string     `json:"username"`
	Name     string     `json:"name"`
	Email    string     `json:"email"`
	Role     vigil.Role `json:"role"`
	Password string     `json:"password"`
}

// UserList is a page of users.
type UserList struct {
	Items []*vigil.User `json:"items"`
	Total int           `json:"total"`
}

// PasswordChange is the body of PUT /api/v1/me/password and
// PUT /api/v1/users/{id}/password (where admins omit the current one).
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// RevokeTokens, on an admin's reset of someone else's password, also
	// revokes all of that user's API tokens.
	RevokeTokens bool `json:"revoke_tokens,omitempty"`
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "role", "disabled", "q", "offset", "limit")
	f := vigil.UserFilter{Disabled: q.bool("disabled"), Query: q.str("q"), Offset: q.int("offset", 0), Limit: q.int("limit", 0)}
	if role := q.str("role"); role != "" {
		rr := vigil.Role(role)
		if !rr.Valid() {
			q.p.Add("role", "Unknown role %q.", role)
		}
		f.Role = &rr
	}
	if err := q.err(); err != nil {
		return err
	}
	users, n, err := s.Services.Users.FindUsers(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &UserList{Items: users, Total: n})
	return nil
}

func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	var req UserCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	u := &vigil.User{Username: req.Username, Name: req.Name, Email: req.Email, Role: req.Role}
	if err := s.Services.Users.CreateUser(r.Context(), u, req.Password); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(u.ID, 10))
	s.json(w, http.StatusCreated, u)
	return nil
}

func (s *Server) handleUserView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	u, err := s.Services.Users.FindUserByID(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(u.Version))
	s.json(w, http.StatusOK, u)
	return nil
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var upd vigil.UserUpdate
	if err := s.decode(w, r, &upd); err != nil {
		return err
	}
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		return err
	}
	u, err := s.Services.Users.UpdateUser(r.Context(), id, upd)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(u.Version))
	s.json(w, http.StatusOK, u)
	return nil
}

func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	a, err := requireActor(r)
	if err != nil {
		return err
	}
	id := a.UserID
	if r.PathValue("id") != "" {
		if id, err = vigil.ParseID(r.PathValue("id")); err != nil {
			return err
		}
	}
	var req PasswordChange
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if id != a.UserID {
		err = s.Services.Users.ResetPassword(r.Context(), id, req.NewPassword, req.RevokeTokens)
	} else {
		// One's own change ends one's other sessions, not this one.
		err = s.Services.Users.SetPassword(r.Context(), id, req.CurrentPassword, req.NewPassword)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TokenCreate is the body of POST /api/v1/tokens.
type TokenCreate struct {
	Name      string        `json:"name"`
	Scopes    []vigil.Scope `json:"scopes"`
	ExpiresAt *time.Time    `json:"expires_at"`
	UserID    int64         `json:"user_id"` // admins only; default the caller
	// Organisation limits the token to one of the user's organisations (its slug).
	Organisation string `json:"organisation"`
}

// TokenCreated returns the new token's secret, shown this once.
type TokenCreated struct {
	*vigil.Token
	Secret string `json:"secret"`
}

// TokenList is a list of tokens (without secrets).
type TokenList struct {
	Items []*vigil.Token `json:"items"`
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "user")
	uid := q.user("user")
	if err := q.err(); err != nil {
		return err
	}
	var id int64
	if uid != nil {
		id = *uid
	}
	list, err := s.Services.Auth.FindTokens(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &TokenList{Items: list})
	return nil
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var req TokenCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	t := &vigil.Token{Name: req.Name, Scopes: req.Scopes, ExpiresAt: req.ExpiresAt, Organisation: req.Organisation}
	secret, err := s.Services.Auth.CreateToken(r.Context(), req.UserID, t)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &TokenCreated{Token: t, Secret: secret})
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Auth.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AuditList is a page of audit events, newest first.
type AuditList struct {
	Items      []*vigil.AuditEvent `json:"items"`
	NextBefore int64               `json:"next_before,omitempty"` // pass as before= for the next page
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "action", "object_type", "object_id", "actor", "before", "limit")
	f := vigil.AuditFilter{Action: q.str("action"), ObjectType: q.str("object_type"), ObjectID: q.str("object_id"),
		ActorID: q.user("actor"), BeforeSeq: int64(q.int("before", 0)), Limit: q.int("limit", 0)}
	if err := q.err(); err != nil {
		return err
	}
	events, err := s.Services.Audit.FindAuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := &AuditList{Items: events}
	if out.Items == nil {
		out.Items = []*vigil.AuditEvent{}
	}
	limit := f.Limit
	if limit <= 0 || limit > vigil.MaxPageSize {
		limit = vigil.DefaultPageSize
	}
	if len(events) == limit {
		out.NextBefore = events[len(events)-1].Seq
	}
	s.json(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Services.Audit.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, v)
	return nil
}
