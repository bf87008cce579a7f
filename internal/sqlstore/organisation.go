package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// OrganisationService implements vigil.OrganisationService.
type OrganisationService struct{ db *DB }

const orgColumns = `o.id, o.slug, o.name, o.kind, o.sector, o.contact_email, o.contact_phone, o.coordinator_grant, o.suspended_at,
	o.created_at, o.updated_at, o.version`

func scanOrg(r rowScanner) (*vigil.Organisation, error) {
	var o vigil.Organisation
	err := r.Scan(&o.ID, &o.Slug, &o.Name, &o.Kind, &o.Sector, &o.ContactEmail, &o.ContactPhone, &o.CoordinatorGrant, scanNullTime(&o.SuspendedAt),
		scanTime(&o.CreatedAt), scanTime(&o.UpdatedAt), &o.Version)
	return &o, err
}

// loadMemberships sets a's Orgs (and Role, their role in the default
// organisation) from the memberships of user a.UserID. bound, when not
// 0, is the one organisation an API token is limited to.
func loadMemberships(ctx context.Context, db *DB, a *vigil.Actor, bound int64) error {
	rows, err := db.Read.QueryContext(ctx, db.rebind(`SELECT m.organisation_id, o.slug, m.role FROM memberships m
		JOIN organisations o ON o.id = m.organisation_id WHERE m.user_id = ? ORDER BY m.organisation_id`), a.UserID)
	if err != nil {
		return db.formatError(fmt.Errorf("memberships: %w", err))
	}
	defer rows.Close()
	a.Orgs, a.Role = []vigil.OrgRole{}, ""
	for rows.Next() {
		var m vigil.OrgRole
		if err := rows.Scan(&m.ID, &m.Slug, &m.Role); err != nil {
			return fmt.Errorf("memberships: %w", err)
		}
		if bound != 0 && m.ID != bound {
			continue
		}
		a.Orgs = append(a.Orgs, m)
		if m.ID == vigil.DefaultOrganisationID {
			a.Role = m.Role
		}
	}
	return rows.Err()
}

// incidentOrganisation settles which organisation a new incident belongs
// to (inc.Organisation, a slug; or the actor's only one, or the default)
// and checks that the actor may report there and that it is not
// suspended. An organisation the actor does not belong to gets the same
// answer as one that does not exist.
func (tx *Tx) incidentOrganisation(inc *vigil.Incident) error {
	slug := strings.ToLower(strings.TrimSpace(inc.Organisation))
	a := tx.actor
	if slug == "" {
		switch ms := a.Memberships(); {
		case a.System || len(ms) == 0:
			slug = vigil.DefaultOrganisationSlug
		case len(ms) == 1:
			slug = ms[0].Slug
		default:
			slug = vigil.DefaultOrganisationSlug
			if _, ok := a.RoleIn(vigil.DefaultOrganisationID); !ok {
				return vigil.Invalid("organisation", "You belong to several organisations: say which one the incident belongs to.")
			}
		}
	}
	o, err := tx.findOrg(slug)
	if err == nil && !a.System {
		if _, ok := a.RoleIn(o.ID); !ok {
			err = vigil.Errorf(vigil.ENOTFOUND, "")
		}
	}
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return vigil.Invalid("organisation", "You do not belong to an organisation %q.", slug)
	} else if err != nil {
		return err
	}
	if o.SuspendedAt != nil {
		return vigil.Invalid("organisation", "%s is suspended: it takes no new incidents.", o.Name)
	}
	if !a.System {
		if err := vigil.RequireIn(a, o.ID, vigil.PermIncidentCreate); err != nil {
			return err
		}
	}
	inc.Organisation, inc.OrganisationID = o.Slug, o.ID
	_, err = tx.touchOrg(o.ID)
	return err
}

func (tx *Tx) findOrg(slug string) (*vigil.Organisation, error) {
	o, err := scanOrg(tx.queryRow(`SELECT `+orgColumns+` FROM organisations o WHERE o.slug = ?`, strings.ToLower(strings.TrimSpace(slug))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Organisation not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find organisation: %w", err)
	}
	return o, nil
}

// findOrgFor loads an organisation the actor may see: one they belong to,
// or any for PermOrgAdmin. Others are ENOTFOUND, as if they did not exist.
func (tx *Tx) findOrgFor(slug string) (*vigil.Organisation, error) {
	if tx.actor == nil {
		return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	o, err := tx.findOrg(slug)
	if err != nil {
		return nil, err
	}
	o.Role, _ = tx.actor.RoleIn(o.ID)
	if o.Role == "" && !tx.actor.Can(vigil.PermOrgAdmin) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Organisation not found.")
	}
	return o, nil
}

// requireOrgAdmin allows PermOrgAdmin, or an administrator of o itself
// (through a token, with the admin scope).
func (tx *Tx) requireOrgAdmin(o *vigil.Organisation) error {
	a := tx.actor
	if a.Can(vigil.PermOrgAdmin) {
		return nil
	}
	if r, _ := a.RoleIn(o.ID); r == vigil.RoleAdmin && (a.TokenID == 0 || containsScope(a.Scopes, vigil.ScopeAdmin)) {
		return nil
	}
	return vigil.Errorf(vigil.EFORBIDDEN, "Only an administrator of %s may do that.", o.Name)
}

func containsScope(scopes []vigil.Scope, s vigil.Scope) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

// CreateOrganisation creates a member organisation.
func (s *OrganisationService) CreateOrganisation(ctx context.Context, o *vigil.Organisation) (err error) {
	defer s.db.op("organisation.create")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermOrgAdmin); err != nil {
		return err
	}
	if err := o.Prepare(); err != nil {
		return err
	}
	if err := vigil.CheckNewSlug("slug", o.Slug); err != nil {
		return err
	}
	if o.Kind != vigil.OrgMember {
		return vigil.Invalid("kind", "An install has one coordinator, the organisation that runs it (%q); new organisations are members.", vigil.DefaultOrganisationSlug)
	}
	out, err := writeV(ctx, s.db, func(tx *Tx) (*vigil.Organisation, error) {
		if err := tx.require(vigil.PermOrgAdmin); err != nil {
			return nil, err
		}
		n := new(*o)
		n.CreatedAt, n.UpdatedAt, n.Version, n.SuspendedAt = tx.now, tx.now, 1, nil
		// Only a member's own admins grant the coordinator anything.
		n.CoordinatorGrant = vigil.GrantNone
		id, err := tx.insert(`INSERT INTO organisations (slug, name, kind, sector, contact_email, contact_phone, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.Slug, n.Name, n.Kind, n.Sector, n.ContactEmail, n.ContactPhone, n.CreatedAt, n.UpdatedAt, n.Version)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return nil, &vigil.Error{Code: vigil.ECONFLICT, Message: "That slug is taken.",
					Fields: []vigil.FieldError{{Field: "slug", Message: "That slug is taken."}}}
			}
			return nil, fmt.Errorf("insert organisation: %w", err)
		}
		n.ID = id
		tx.audit("organisation.create", "organisation", n.ID, nil, n)
		return n, nil
	})
	if err != nil {
		return err
	}
	*o = *out
	return nil
}

// FindOrganisations lists the actor's organisations, or all for PermOrgAdmin.
func (s *OrganisationService) FindOrganisations(ctx context.Context) (orgs []*vigil.Organisation, err error) {
	defer s.db.op("organisation.list")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		a := tx.actor
		if a == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		all, err := queryAll(tx, scanOrg, `SELECT `+orgColumns+` FROM organisations o ORDER BY o.id = 1 DESC, o.name, o.slug`)
		if err != nil {
			return err
		}
		orgs = []*vigil.Organisation{}
		for _, o := range all {
			o.Role, _ = a.RoleIn(o.ID)
			if o.Role != "" || a.Can(vigil.PermOrgAdmin) {
				orgs = append(orgs, o)
			}
		}
		return nil
	})
	return orgs, err
}

// FindOrganisation returns one organisation the actor may see.
func (s *OrganisationService) FindOrganisation(ctx context.Context, slug string) (o *vigil.Organisation, err error) {
	defer s.db.op("organisation.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		o, err = tx.findOrgFor(slug)
		return err
	})
	return o, err
}

// UpdateOrganisation renames or suspends an organisation. Suspending (or
// lifting it) needs PermOrgAdmin, and the default organisation cannot be
// suspended: it runs the install.
func (s *OrganisationService) UpdateOrganisation(ctx context.Context, slug string, upd vigil.OrganisationUpdate) (out *vigil.Organisation, err error) {
	defer s.db.op("organisation.update")(&err)
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.Organisation, error) {
		o, err := tx.findOrgFor(slug)
		if err != nil {
			return nil, err
		}
		if err := tx.requireOrgAdmin(o); err != nil {
			return nil, err
		}
		if upd.Version != o.Version {
			return nil, vigil.Errorf(vigil.ECONFLICT, "Someone else changed this organisation since you loaded it. Reload and try again.")
		}
		before := *o
		for _, f := range []struct {
			v   *string
			dst *string
		}{{upd.Name, &o.Name}, {upd.Sector, &o.Sector}, {upd.ContactEmail, &o.ContactEmail}, {upd.ContactPhone, &o.ContactPhone}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if upd.Suspended != nil && *upd.Suspended != (o.SuspendedAt != nil) {
			if err := tx.require(vigil.PermOrgAdmin); err != nil {
				return nil, err
			}
			if o.ID == vigil.DefaultOrganisationID {
				return nil, vigil.Invalid("suspended", "The default organisation runs the install; it cannot be suspended.")
			}
			o.SuspendedAt = nil
			if *upd.Suspended {
				o.SuspendedAt = new(tx.now)
			}
		}
		if upd.CoordinatorGrant != nil && *upd.CoordinatorGrant != o.CoordinatorGrant {
			// The member decides what the coordinator sees, not the
			// coordinator: its own admins only (and the CLI).
			if r, _ := tx.actor.RoleIn(o.ID); !tx.actor.System && (r != vigil.RoleAdmin || (tx.actor.TokenID != 0 && !containsScope(tx.actor.Scopes, vigil.ScopeAdmin))) {
				return nil, vigil.Errorf(vigil.EFORBIDDEN, "Only %s's own administrators decide what the coordinator sees of its incidents.", o.Name)
			}
			o.CoordinatorGrant = *upd.CoordinatorGrant
		}
		if err := o.Prepare(); err != nil {
			return nil, err
		}
		res, err := tx.exec(`UPDATE organisations SET name = ?, sector = ?, contact_email = ?, contact_phone = ?, coordinator_grant = ?,
			suspended_at = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			o.Name, o.Sector, o.ContactEmail, o.ContactPhone, o.CoordinatorGrant, o.SuspendedAt, tx.now, o.ID, o.Version)
		if err != nil {
			return nil, fmt.Errorf("update organisation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, vigil.Errorf(vigil.ECONFLICT, "Someone else changed this organisation since you loaded it. Reload and try again.")
		}
		o.Version++
		o.UpdatedAt = tx.now
		tx.audit("organisation.update", "organisation", o.ID, &before, o)
		return o, nil
	})
}

const membershipColumns = `o.slug, m.user_id, u.username, u.name, m.role, m.created_at`

func scanMembership(r rowScanner) (*vigil.Membership, error) {
	var m vigil.Membership
	err := r.Scan(&m.Organisation, &m.UserID, &m.Username, &m.Name, &m.Role, scanTime(&m.CreatedAt))
	return &m, err
}

func (tx *Tx) findMembership(orgID int64, username string) (*vigil.Membership, error) {
	m, err := scanMembership(tx.queryRow(`SELECT `+membershipColumns+` FROM memberships m JOIN organisations o ON o.id = m.organisation_id
		JOIN users u ON u.id = m.user_id WHERE m.organisation_id = ? AND u.username = ?`, orgID, strings.ToLower(strings.TrimSpace(username))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "No member %q.", username)
	}
	return m, err
}

// orgForMembers loads an organisation whose members the actor manages.
func (tx *Tx) orgForMembers(slug string) (*vigil.Organisation, error) {
	o, err := tx.findOrgFor(slug)
	if err != nil {
		return nil, err
	}
	return o, tx.requireOrgAdmin(o)
}

// AddMember gives an existing user a role in an organisation.
func (s *OrganisationService) AddMember(ctx context.Context, slug, username string, role vigil.Role) (m *vigil.Membership, err error) {
	defer s.db.op("organisation.add_member")(&err)
	if !role.Valid() {
		return nil, vigil.Invalid("role", "Unknown role %q.", role)
	}
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.Membership, error) {
		o, err := tx.orgForMembers(slug)
		if err != nil {
			return nil, err
		}
		var uid int64
		if err := tx.queryRow(`SELECT id FROM users WHERE username = ?`, strings.ToLower(strings.TrimSpace(username))).Scan(&uid); errors.Is(err, sql.ErrNoRows) {
			return nil, vigil.Invalid("username", "No user %q.", username)
		} else if err != nil {
			return nil, err
		}
		if _, err := tx.findMembership(o.ID, username); err == nil {
			return nil, &vigil.Error{Code: vigil.ECONFLICT, Message: fmt.Sprintf("%s already belongs to %s; change their role instead.", username, o.Name),
				Fields: []vigil.FieldError{{Field: "username", Message: "Already a member."}}}
		}
		if _, err := tx.exec(`INSERT INTO memberships (organisation_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, o.ID, uid, role, tx.now); err != nil {
			return nil, fmt.Errorf("add member: %w", err)
		}
		m, err := tx.findMembership(o.ID, username)
		if err != nil {
			return nil, err
		}
		tx.audit("organisation.add_member", "user", uid, nil, m)
		return m, nil
	})
}

// SetMemberRole changes a member's role; it ends their sessions, as a
// change of role in UserService does.
func (s *OrganisationService) SetMemberRole(ctx context.Context, slug, username string, role vigil.Role) (m *vigil.Membership, err error) {
	defer s.db.op("organisation.set_member_role")(&err)
	if !role.Valid() {
		return nil, vigil.Invalid("role", "Unknown role %q.", role)
	}
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.Membership, error) {
		o, err := tx.orgForMembers(slug)
		if err != nil {
			return nil, err
		}
		m, err := tx.findMembership(o.ID, username)
		if err != nil {
			return nil, err
		}
		before := *m
		if m.Role == role {
			return m, nil
		}
		if err := tx.keepAnAdmin(o.ID, m); err != nil {
			return nil, err
		}
		if _, err := tx.exec(`UPDATE memberships SET role = ? WHERE organisation_id = ? AND user_id = ?`, role, o.ID, m.UserID); err != nil {
			return nil, fmt.Errorf("set member role: %w", err)
		}
		if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, m.UserID); err != nil {
			return nil, err
		}
		m.Role = role
		tx.audit("organisation.set_member_role", "user", m.UserID, &before, m)
		return m, nil
	})
}

// RemoveMember ends a membership. What the user did stays, under their name.
func (s *OrganisationService) RemoveMember(ctx context.Context, slug, username string) (err error) {
	defer s.db.op("organisation.remove_member")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		o, err := tx.orgForMembers(slug)
		if err != nil {
			return err
		}
		m, err := tx.findMembership(o.ID, username)
		if err != nil {
			return err
		}
		if err := tx.keepAnAdmin(o.ID, m); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM memberships WHERE organisation_id = ? AND user_id = ?`, o.ID, m.UserID); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if _, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, m.UserID); err != nil {
			return err
		}
		tx.audit("organisation.remove_member", "user", m.UserID, m, nil)
		return nil
	})
}

// keepAnAdmin refuses to take the default organisation's last active
// administrator away: nobody could administer the install.
func (tx *Tx) keepAnAdmin(org int64, m *vigil.Membership) error {
	if org != vigil.DefaultOrganisationID || m.Role != vigil.RoleAdmin {
		return nil
	}
	n, err := tx.activeAdmins()
	if err != nil {
		return err
	}
	if n <= 1 {
		return vigil.Errorf(vigil.EINVALID, "Vigil needs at least one active administrator; make another user an admin first.")
	}
	return nil
}

// activeAdmins counts the default organisation's enabled administrators.
func (tx *Tx) activeAdmins() (n int, err error) {
	err = tx.queryRow(`SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.organisation_id = 1 AND m.role = 'admin' AND u.disabled = FALSE`).Scan(&n)
	return n, err
}

// FindMembers lists an organisation's members, for its members (but
// reporters, who do not see the user directory either) and PermOrgAdmin.
func (s *OrganisationService) FindMembers(ctx context.Context, slug string) (ms []*vigil.Membership, err error) {
	defer s.db.op("organisation.members")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		o, err := tx.findOrgFor(slug)
		if err != nil {
			return err
		}
		if o.Role == vigil.RoleReporter && !tx.actor.Can(vigil.PermOrgAdmin) {
			return vigil.Errorf(vigil.EFORBIDDEN, "Reporters do not see who else belongs to the organisation.")
		}
		ms, err = queryAll(tx, scanMembership, `SELECT `+membershipColumns+` FROM memberships m JOIN organisations o ON o.id = m.organisation_id
			JOIN users u ON u.id = m.user_id WHERE m.organisation_id = ? ORDER BY u.username`, o.ID)
		return err
	})
	return ms, err
}

// setDefaultRole gives user id role in the default organisation, or takes
// them out of it for "".
func (tx *Tx) setDefaultRole(id int64, role vigil.Role, now time.Time) error {
	if role == "" {
		_, err := tx.exec(`DELETE FROM memberships WHERE organisation_id = 1 AND user_id = ?`, id)
		return err
	}
	_, err := tx.exec(`INSERT INTO memberships (organisation_id, user_id, role, created_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = excluded.role`, id, role, now)
	return err
}
