package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-ir/vigil"
)

// MemberService implements vigil.MemberService. The lead is the incident's
// lead_id (it is filtered on constantly); the other roles are rows of
// incident_members.
type MemberService struct{ db *DB }

// FindMembers lists the lead first, then the other roles.
func (s *MemberService) FindMembers(ctx context.Context, incidentID int64) (out []*vigil.Member, err error) {
	defer s.db.op("member.find")(&err)
	out = []*vigil.Member{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return err
		}
		if inc.LeadID != nil {
			m := &vigil.Member{IncidentID: inc.ID, UserID: *inc.LeadID, Role: vigil.RoleLead}
			if err := tx.queryRow(`SELECT username, name FROM users WHERE id = ?`, *inc.LeadID).Scan(&m.Username, &m.Name); err != nil {
				return err
			}
			// When and by whom the lead was set is on the timeline and in the audit log.
			m.AddedAt = inc.UpdatedAt
			out = append(out, m)
		}
		ms, err := queryAll(tx, func(r rowScanner) (*vigil.Member, error) {
			m := &vigil.Member{IncidentID: incidentID}
			return m, r.Scan(&m.UserID, &m.Username, &m.Name, &m.Role, scanNullInt(&m.AddedBy), scanTime(&m.AddedAt))
		}, `SELECT m.user_id, u.username, u.name, m.role, m.added_by, m.added_at FROM incident_members m
			JOIN users u ON u.id = m.user_id WHERE m.incident_id = ? ORDER BY m.added_at, m.user_id`, incidentID)
		out = append(out, ms...)
		return err
	})
	return out, err
}

// AddMember gives a user a role on an incident.
func (s *MemberService) AddMember(ctx context.Context, incidentID, userID int64, role vigil.IncidentRole) (m *vigil.Member, err error) {
	defer s.db.op("member.add")(&err)
	m, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Member, error) {
		var m *vigil.Member
		if tx.actor == nil {
			return m, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return m, err
		}
		if !slices.Contains(vigil.IncidentRoles, role) {
			return m, vigil.Invalid("role", "Unknown incident role %q.", role)
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return m, err
		}
		if !tx.canManageMembers(inc) {
			return m, vigil.Errorf(vigil.EFORBIDDEN, "Only a manager or the incident lead can assign roles.")
		}
		if err := tx.requireOrgUser("user_id", userID, inc.OrganisationID); err != nil {
			return m, err
		}
		u, err := tx.findUser("u.id = ?", userID)
		if err != nil || u.Disabled {
			return m, vigil.Invalid("user_id", "No active user with ID %d.", userID)
		}
		m = &vigil.Member{IncidentID: incidentID, UserID: userID, Username: u.Username, Name: u.Name, Role: role, AddedBy: tx.actorID(), AddedAt: tx.now}
		before := *inc
		if role == vigil.RoleLead {
			if inc.LeadID != nil && *inc.LeadID == userID {
				return m, vigil.Errorf(vigil.ECONFLICT, "%s is already the lead.", u.Username)
			}
			inc.LeadID = &userID
			if err := tx.saveIncident(inc); err != nil {
				return m, err
			}
		} else {
			if _, err := tx.exec(`INSERT INTO incident_members (incident_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)`,
				incidentID, userID, role, m.AddedBy, m.AddedAt); err != nil {
				if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
					return m, vigil.Errorf(vigil.ECONFLICT, "%s already has the %s role.", u.Username, role)
				}
				return m, fmt.Errorf("insert member: %w", err)
			}
			if err := tx.touchIncident(incidentID); err != nil {
				return m, err
			}
		}
		who := u.Username
		if u.Name != "" {
			who = u.Name
		}
		if _, err := tx.addTimeline(incidentID, vigil.KindMember, tx.now, fmt.Sprintf("%s is now %s.", who, roleLabel(role)), nil); err != nil {
			return m, err
		}
		tx.audit("member.add", "incident", incidentID, &before, m)
		return m, nil
	})
	return m, err
}

// RemoveMember takes a role away.
func (s *MemberService) RemoveMember(ctx context.Context, incidentID, userID int64, role vigil.IncidentRole) (err error) {
	defer s.db.op("member.remove")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if tx.actor == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return err
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return err
		}
		if !tx.canManageMembers(inc) {
			return vigil.Errorf(vigil.EFORBIDDEN, "Only a manager or the incident lead can change roles.")
		}
		before := *inc
		if role == vigil.RoleLead {
			if inc.LeadID == nil || *inc.LeadID != userID {
				return vigil.Errorf(vigil.ENOTFOUND, "That user is not the lead.")
			}
			inc.LeadID = nil
			if err := tx.saveIncident(inc); err != nil {
				return err
			}
		} else {
			res, err := tx.exec(`DELETE FROM incident_members WHERE incident_id = ? AND user_id = ? AND role = ?`, incidentID, userID, role)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return vigil.Errorf(vigil.ENOTFOUND, "That user does not have that role.")
			}
			if err := tx.touchIncident(incidentID); err != nil {
				return err
			}
		}
		var name string
		if err := tx.queryRow(`SELECT username FROM users WHERE id = ?`, userID).Scan(&name); err != nil {
			return err
		}
		if _, err := tx.addTimeline(incidentID, vigil.KindMember, tx.now, fmt.Sprintf("%s is no longer %s.", name, roleLabel(role)), nil); err != nil {
			return err
		}
		tx.audit("member.remove", "incident", incidentID, &before, map[string]any{"user_id": userID, "role": role})
		return nil
	})
}

func roleLabel(r vigil.IncidentRole) string {
	switch r {
	case vigil.RoleLead:
		return "the incident lead"
	case vigil.RoleComms:
		return "communications lead"
	case vigil.RoleTechnical:
		return "technical lead"
	case vigil.RoleScribe:
		return "the scribe"
	case vigil.RoleLegal:
		return "legal / DPO"
	case vigil.RoleExternal:
		return "an external responder"
	case vigil.RoleObserver:
		return "an observer"
	}
	return string(r)
}
