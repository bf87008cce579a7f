package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// IncidentService implements vigil.IncidentService.
type IncidentService struct{ db *DB }

const incidentColumns = `i.id, i.organisation_id, (SELECT o.slug FROM organisations o WHERE o.id = i.organisation_id), i.reference, i.title, i.summary, i.type, i.status, i.severity, i.category, i.significant,
	i.tlp, i.personal_data, i.essential_service, i.digital_service_impact, i.crime_suspected, i.significant_cyber_threat, i.affected_services, i.source, i.exercise,
	i.lead_id, i.created_by, i.duplicate_of, i.occurred_at, i.detected_at, i.reported_at, i.aware_at, i.classified_at,
	i.contained_at, i.recovered_at, i.closed_at, i.created_at, i.updated_at, i.version`

func scanIncident(r rowScanner, extra ...any) (*vigil.Incident, error) {
	var inc vigil.Incident
	var sev int
	dest := []any{&inc.ID, &inc.OrganisationID, &inc.Organisation, &inc.Reference, &inc.Title, &inc.Summary, &inc.Type, &inc.Status, &sev, &inc.Category,
		&inc.Significant, &inc.TLP, &inc.PersonalData, &inc.EssentialService, &inc.DigitalServiceImpact, &inc.CrimeSuspected,
		&inc.SignificantCyberThreat, scanJSON(&inc.AffectedServices), &inc.Source, &inc.Exercise,
		scanNullInt(&inc.LeadID), scanNullInt(&inc.CreatedBy), scanNullInt(&inc.DuplicateOf),
		scanNullTime(&inc.Times.OccurredAt), scanNullTime(&inc.Times.DetectedAt), scanNullTime(&inc.Times.ReportedAt),
		scanNullTime(&inc.Times.AwareAt), scanNullTime(&inc.Times.ClassifiedAt), scanNullTime(&inc.Times.ContainedAt), scanNullTime(&inc.Times.RecoveredAt),
		scanNullTime(&inc.Times.ClosedAt), scanTime(&inc.CreatedAt), scanTime(&inc.UpdatedAt), &inc.Version}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	inc.Severity = vigil.SeverityFromRank(sev)
	if inc.AffectedServices == nil {
		inc.AffectedServices = []string{}
	}
	return &inc, nil
}

// incidentRefColumns are the columns scanIncidentRef reads (alias i).
const incidentRefColumns = `i.id, i.reference, i.title, i.status`

func scanIncidentRef(r rowScanner) (ref vigil.IncidentRef, err error) {
	err = r.Scan(&ref.ID, &ref.Reference, &ref.Title, &ref.Status)
	return ref, err
}

// visible returns the WHERE clause that limits incidents (alias i) to those
// tx's actor may see: the SQL form of vigil.Visibility.CanSee. In a write,
// only the organisations where the actor holds what it required count.
func (tx *Tx) visible() (string, []any) {
	v := tx.vis
	if tx.write && len(tx.required) > 0 && !v.All && !v.None {
		v = tx.writable(v)
	}
	return visibleClause(v, false)
}

// listable is visible for the incident rows themselves — lists, counts
// and one incident — which also shows the coordinator's staff the
// incidents of members that grant a summary (summarizeGranted then
// clears what the grant does not show). Search does not use it: a match
// in a note would tell of the note.
func (tx *Tx) listable() (string, []any) {
	if tx.write {
		return tx.visible()
	}
	return visibleClause(tx.vis, true)
}

// grantedIn is the clause for the members' incidents the coordinator's
// staff see by grant: never TLP:RED ones. The unary + keeps the planner
// from answering the coordinator's OR by the organisation indexes (one
// index scan per side, then a sort of all of them): measured with 1,000
// organisations on 100,000 incidents, the coordinator's first page took
// 460 ms of CPU that way, 2 ms walking incidents_created.
func grantedIn(grants string) string {
	return `(+i.organisation_id IN (SELECT g.id FROM organisations g WHERE g.coordinator_grant IN (` + grants + `)) AND i.tlp <> 'RED')`
}

// visibleClause is visible for v; summary adds the incidents seen through
// summary grants.
func visibleClause(v vigil.Visibility, summary bool) (string, []any) {
	switch {
	case v.None:
		return "1=0", nil
	case v.All:
		return "1=1", nil
	}
	var parts []string
	var args []any
	if len(v.Full) > 0 {
		parts = append(parts, orgIn(v.Full))
	}
	if len(v.Staff) > 0 {
		// The TLP:RED incidents the actor may see are few: a set built once
		// per query from partial indexes, not a membership probe per RED row.
		parts = append(parts, `(`+orgIn(v.Staff)+` AND (i.tlp <> 'RED' OR i.id IN (
		SELECT r.id FROM incidents r WHERE r.tlp = 'RED' AND r.lead_id = ?
		UNION ALL SELECT r.id FROM incidents r WHERE r.tlp = 'RED' AND r.created_by = ?
		UNION ALL SELECT m.incident_id FROM incident_members m WHERE m.user_id = ?)))`)
		args = append(args, v.UserID, v.UserID, v.UserID)
	}
	if len(v.Own) > 0 {
		parts = append(parts, `(`+orgIn(v.Own)+` AND i.created_by = ?)`)
		args = append(args, v.UserID)
	}
	if v.Coordinator {
		if summary {
			parts = append(parts, grantedIn(`'summary', 'full'`))
		} else {
			parts = append(parts, grantedIn(`'full'`))
		}
	}
	switch len(parts) {
	case 0:
		return "1=0", nil
	case 1:
		return parts[0], args
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// orgIn is "i.organisation_id IN (…)" with the IDs inline: they are
// integers the store made, and inline they let the planner see them.
func orgIn(ids []int64) string {
	if len(ids) == 1 {
		return "i.organisation_id = " + strconv.FormatInt(ids[0], 10)
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return "i.organisation_id IN (" + strings.Join(s, ", ") + ")"
}

// writable narrows v to the organisations where the actor holds every
// permission this write required.
func (tx *Tx) writable(v vigil.Visibility) vigil.Visibility {
	keep := func(orgs []int64) []int64 {
		return slices.DeleteFunc(slices.Clone(orgs), func(org int64) bool {
			for _, p := range tx.required {
				if !tx.actor.CanIn(org, p) {
					return true
				}
			}
			return false
		})
	}
	v.Full, v.Staff, v.Own = keep(v.Full), keep(v.Staff), keep(v.Own)
	v.Coordinator = false // grants are to read
	return v
}

// orgState is what a write knows of an organisation whose incidents it touched.
type orgState struct {
	slug      string
	suspended bool
}

// touchOrg notes that a write works on an incident of organisation org
// (for its audit events) and returns what it knows of it.
func (tx *Tx) touchOrg(org int64) (orgState, error) {
	if tx.orgsTouched == nil {
		tx.orgsTouched = map[int64]orgState{}
	}
	st, seen := tx.orgsTouched[org]
	if !seen {
		var suspended *time.Time
		if err := tx.queryRow(`SELECT slug, suspended_at FROM organisations WHERE id = ?`, org).Scan(&st.slug, scanNullTime(&suspended)); err != nil {
			return st, fmt.Errorf("organisation of incident: %w", err)
		}
		st.suspended = suspended != nil
		tx.orgsTouched[org] = st
	}
	return st, nil
}

// checkIncidentOrg is called for each incident a write loads: the actor
// must hold what the write required in the incident's organisation, and
// the organisation must not be suspended.
func (tx *Tx) checkIncidentOrg(org int64) error {
	st, err := tx.touchOrg(org)
	if err != nil || tx.vis.All {
		return err
	}
	if st.suspended {
		return vigil.Errorf(vigil.EFORBIDDEN, "The organisation is suspended: its incidents are read-only.")
	}
	if _, member := tx.actor.RoleIn(org); !member {
		// Seen through its organisation's grant, which is to read: no
		// write changes it, whatever permission the write asked for.
		return vigil.Errorf(vigil.EFORBIDDEN, "You read this incident by its organisation's grant, which is read-only.")
	}
	for _, p := range tx.required {
		if err := vigil.RequireIn(tx.actor, org, p); err != nil {
			return err
		}
	}
	return nil
}

// findIncident loads one incident the actor may see, or ENOTFOUND. In a
// write transaction on PostgreSQL the row is locked until commit.
func (tx *Tx) findIncident(where string, args ...any) (*vigil.Incident, error) {
	return tx.findIncidentIn(false, where, args...)
}

// findIncidentIn is findIncident; summary also finds the incidents a
// summary grant shows, for the callers that hand out only the incident
// (and summarizeGranted it).
func (tx *Tx) findIncidentIn(summary bool, where string, args ...any) (*vigil.Incident, error) {
	// Whatever the actor may read: a write then says "your role there
	// does not allow that" (checkIncidentOrg), not "not found".
	vis, vargs := visibleClause(tx.vis, summary && !tx.write)
	lock := ""
	if tx.write {
		lock = tx.db.d.ForUpdate
	}
	row := tx.queryRow(`SELECT `+incidentColumns+` FROM incidents i WHERE `+where+` AND `+vis+lock, append(args, vargs...)...)
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Incident not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find incident: %w", err)
	}
	if tx.write {
		if err := tx.checkIncidentOrg(inc.OrganisationID); err != nil {
			return nil, err
		}
	}
	return inc, nil
}

func (tx *Tx) findIncidentByID(id int64) (*vigil.Incident, error) {
	return tx.findIncident("i.id = ?", id)
}

// FindIncidentByID returns an incident the actor may see.
func (s *IncidentService) FindIncidentByID(ctx context.Context, id int64) (inc *vigil.Incident, err error) {
	defer s.db.op("incident.find_by_id")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if inc, err = tx.findIncidentIn(true, "i.id = ?", id); err != nil {
			return err
		}
		if err := tx.summarizeGranted(inc); err != nil {
			return err
		}
		return tx.hideUnseenDuplicates(inc)
	})
	return inc, err
}

// summarizeGranted clears, in the incidents of organisations the actor
// does not belong to, what the member's grant does not show.
func (tx *Tx) summarizeGranted(incs ...*vigil.Incident) error {
	if tx.vis.All || !tx.vis.Coordinator {
		return nil
	}
	grants := map[int64]vigil.Grant{}
	for _, inc := range incs {
		if _, member := tx.actor.RoleIn(inc.OrganisationID); member {
			continue
		}
		g, ok := grants[inc.OrganisationID]
		if !ok {
			if err := tx.queryRow(`SELECT coordinator_grant FROM organisations WHERE id = ?`, inc.OrganisationID).Scan(&g); err != nil {
				return fmt.Errorf("grant: %w", err)
			}
			grants[inc.OrganisationID] = g
		}
		if g != vigil.GrantFull {
			inc.Summarize()
		}
	}
	return nil
}

// FindIncidentByReference returns an incident by its reference.
func (s *IncidentService) FindIncidentByReference(ctx context.Context, ref string) (inc *vigil.Incident, err error) {
	defer s.db.op("incident.find_by_reference")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if inc, err = tx.findIncidentIn(true, "i.reference = ?", strings.ToUpper(strings.TrimSpace(ref))); err != nil {
			return err
		}
		if err := tx.summarizeGranted(inc); err != nil {
			return err
		}
		return tx.hideUnseenDuplicates(inc)
	})
	return inc, err
}

// CreateIncident writes a new incident, its reference, first timeline entry,
// search document and audit event in one transaction.
func (s *IncidentService) CreateIncident(ctx context.Context, inc *vigil.Incident) (err error) {
	defer s.db.op("incident.create")(&err)
	out, err := writeV(ctx, s.db, func(tx *Tx) (*vigil.Incident, error) {
		// A copy for each run: createIncident fills in unset times from
		// the run's clock, which a run again must do afresh.
		n := new(*inc)
		n.AffectedServices = slices.Clone(inc.AffectedServices)
		return n, tx.createIncident(n)
	})
	if err != nil {
		return err
	}
	*inc = *out
	return nil
}

// createIncident is CreateIncident inside a transaction.
func (tx *Tx) createIncident(inc *vigil.Incident) error {
	if err := tx.require(vigil.PermIncidentCreate); err != nil {
		return err
	}
	if err := tx.incidentOrganisation(inc); err != nil {
		return err
	}
	if !tx.actor.CanIn(inc.OrganisationID, vigil.PermIncidentCreateFull) {
		// Reporters report; triage decides the rest.
		inc.Status, inc.LeadID, inc.DuplicateOf = vigil.StatusTriage, nil, nil
	}
	inc.Normalize()
	if inc.Status != vigil.StatusTriage && inc.Status != vigil.StatusConfirmed {
		return vigil.Invalid("status", "A new incident starts in triage or confirmed; move it on from there.")
	}
	inc.CreatedBy = tx.actorID()
	inc.DuplicateOf = nil
	inc.CreatedAt, inc.UpdatedAt, inc.Version = tx.now, tx.now, 1
	for _, t := range []**time.Time{&inc.Times.DetectedAt, &inc.Times.ReportedAt} {
		if *t == nil {
			now := tx.now
			*t = &now
		}
	}
	if inc.Status == vigil.StatusConfirmed && inc.Times.AwareAt == nil {
		now := tx.now
		inc.Times.AwareAt = &now
	}
	inc.MarkClassified(tx.now)
	truncateTimes(&inc.Times)
	if err := inc.Validate(); err != nil {
		return err
	}
	if inc.LeadID != nil {
		if err := tx.requireOrgUser("lead_id", *inc.LeadID, inc.OrganisationID); err != nil {
			return err
		}
	}
	year := tx.now.Year()
	var n int64
	if err := tx.queryRow(`INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, vigil.ReferenceCounter(year)).Scan(&n); err != nil {
		return fmt.Errorf("next reference: %w", err)
	}
	inc.Reference = vigil.FormatReference(year, n)
	id, err := tx.insert(`INSERT INTO incidents (organisation_id, reference, title, summary, type, status, severity, category, significant,
		tlp, personal_data, essential_service, digital_service_impact, crime_suspected, significant_cyber_threat, affected_services, source, exercise,
		lead_id, created_by, duplicate_of, occurred_at, detected_at, reported_at, aware_at, classified_at,
		contained_at, recovered_at, closed_at, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inc.OrganisationID, inc.Reference, inc.Title, inc.Summary, inc.Type, inc.Status, inc.Severity.Rank(), inc.Category, inc.Significant,
		inc.TLP, inc.PersonalData, inc.EssentialService, inc.DigitalServiceImpact, inc.CrimeSuspected, inc.SignificantCyberThreat, mustJSON(inc.AffectedServices),
		inc.Source, inc.Exercise, inc.LeadID, inc.CreatedBy, inc.DuplicateOf,
		inc.Times.OccurredAt, inc.Times.DetectedAt, inc.Times.ReportedAt, inc.Times.AwareAt, inc.Times.ClassifiedAt,
		inc.Times.ContainedAt, inc.Times.RecoveredAt, inc.Times.ClosedAt, inc.CreatedAt, inc.UpdatedAt, inc.Version)
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	inc.ID = id
	msg := fmt.Sprintf("Incident %s created (%s, %s severity, TLP:%s).", inc.Reference, vigil.StatusLabel(inc.Status), inc.Severity, inc.TLP)
	if _, err := tx.addTimeline(inc.ID, vigil.KindCreated, tx.now, msg, nil); err != nil {
		return err
	}
	if err := tx.indexIncident(inc); err != nil {
		return err
	}
	tx.audit("incident.create", "incident", inc.ID, nil, inc)
	if err := tx.emitIncidentCreated(inc); err != nil {
		return err
	}
	return tx.reconcileDuties(inc, true)
}

func truncateTimes(t *vigil.IncidentTimes) {
	for _, p := range []**time.Time{&t.OccurredAt, &t.DetectedAt, &t.ReportedAt, &t.AwareAt, &t.ClassifiedAt, &t.ContainedAt, &t.RecoveredAt, &t.ClosedAt} {
		if *p != nil {
			v := vigil.TruncateTime(**p)
			*p = &v
		}
	}
}

// requireOrgUser checks that a user referenced by field is enabled and
// belongs to organisation org: an incident's people come from its own
// organisation (anyone else could not see it).
func (tx *Tx) requireOrgUser(field string, id, org int64) error {
	var disabled bool
	err := tx.queryRow(`SELECT u.disabled FROM users u JOIN memberships m ON m.user_id = u.id AND m.organisation_id = ? WHERE u.id = ?`, org, id).Scan(&disabled)
	if err != nil || disabled {
		return vigil.Invalid(field, "No active user with ID %d in the incident's organisation.", id)
	}
	return nil
}

// requireActiveUser checks that a user referenced by field exists and is enabled.
func (tx *Tx) requireActiveUser(field string, id int64) error {
	var disabled bool
	err := tx.queryRow(`SELECT disabled FROM users WHERE id = ?`, id).Scan(&disabled)
	if err != nil || disabled {
		return vigil.Invalid(field, "No active user with ID %d.", id)
	}
	return nil
}

// UpdateIncident applies a partial update under optimistic concurrency.
func (s *IncidentService) UpdateIncident(ctx context.Context, id int64, upd vigil.IncidentUpdate) (out *vigil.Incident, err error) {
	defer s.db.op("incident.update")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Incident, error) {
		var out *vigil.Incident
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return out, err
		}
		inc, err := tx.findIncidentByID(id)
		if err != nil {
			return out, err
		}
		if upd.Version != inc.Version {
			return out, staleVersion(inc.Version)
		}
		if upd.LeadID.Set && !tx.canManageMembers(inc) {
			return out, vigil.Errorf(vigil.EFORBIDDEN, "Only a manager or the incident lead can change the lead.")
		}
		before := *inc
		changes, err := inc.Apply(upd)
		if err != nil {
			return out, err
		}
		if len(changes) == 0 {
			return tx.shown(inc)
		}
		if upd.LeadID.Valid {
			if err := tx.requireOrgUser("lead_id", upd.LeadID.V, inc.OrganisationID); err != nil {
				return out, err
			}
		}
		if err := tx.saveIncident(inc); err != nil {
			return out, err
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindUpdate, tx.now, describeChanges(changes), changes); err != nil {
			return out, err
		}
		if err := tx.indexIncident(inc); err != nil {
			return out, err
		}
		tx.audit("incident.update", "incident", inc.ID, &before, inc)
		return tx.shown(inc)
	})
	return out, err
}

// staleVersion is the ECONFLICT for an update based on an old version.
func staleVersion(current int) error {
	return vigil.Errorf(vigil.ECONFLICT, "Someone else changed this since you loaded it (now version %d). Reload, check their change, and try again.", current)
}

// saveIncident writes every mutable column, bumping the version only if
// it is still the one read: the guard that makes a lost update impossible
// even without row locks.
func (tx *Tx) saveIncident(inc *vigil.Incident) error {
	inc.MarkClassified(tx.now)
	var oldSeverity int
	var oldLead *int64
	if err := tx.queryRow(`SELECT severity, lead_id FROM incidents WHERE id = ?`, inc.ID).Scan(&oldSeverity, scanNullInt(&oldLead)); err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	res, err := tx.exec(`UPDATE incidents SET title = ?, summary = ?, type = ?, status = ?, severity = ?, category = ?,
		significant = ?, tlp = ?, personal_data = ?, essential_service = ?, digital_service_impact = ?, crime_suspected = ?,
		significant_cyber_threat = ?, affected_services = ?,
		lead_id = ?, duplicate_of = ?, occurred_at = ?, detected_at = ?, reported_at = ?, aware_at = ?, classified_at = ?,
		contained_at = ?, recovered_at = ?, closed_at = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		inc.Title, inc.Summary, inc.Type, inc.Status, inc.Severity.Rank(), inc.Category, inc.Significant, inc.TLP,
		inc.PersonalData, inc.EssentialService, inc.DigitalServiceImpact, inc.CrimeSuspected, inc.SignificantCyberThreat,
		mustJSON(inc.AffectedServices), inc.LeadID, inc.DuplicateOf, inc.Times.OccurredAt, inc.Times.DetectedAt, inc.Times.ReportedAt, inc.Times.AwareAt, inc.Times.ClassifiedAt,
		inc.Times.ContainedAt, inc.Times.RecoveredAt, inc.Times.ClosedAt, tx.now, inc.ID, inc.Version)
	if err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return staleVersion(inc.Version + 1)
	}
	inc.Version++
	inc.UpdatedAt = tx.now
	if err := tx.emitIncidentChanged(inc, oldSeverity, oldLead); err != nil {
		return err
	}
	return tx.reconcileDuties(inc, false)
}

// touchIncident bumps an incident's version and update time when something
// on it changes (a task, an observable), so caches and ETags see the change.
func (tx *Tx) touchIncident(id int64) error {
	_, err := tx.exec(`UPDATE incidents SET updated_at = ?, version = version + 1 WHERE id = ?`, tx.now, id)
	return err
}

// TransitionIncident moves an incident through its lifecycle.
func (s *IncidentService) TransitionIncident(ctx context.Context, id int64, t vigil.Transition) (out *vigil.Incident, err error) {
	defer s.db.op("incident.transition")(&err)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Incident, error) {
		var out *vigil.Incident
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return out, err
		}
		if t.To == vigil.StatusReviewed {
			if err := tx.require(vigil.PermIncidentReview); err != nil {
				return out, err
			}
		}
		inc, err := tx.findIncidentByID(id)
		if err != nil {
			return out, err
		}
		if t.Version != inc.Version {
			return out, staleVersion(inc.Version)
		}
		var original *vigil.Incident
		if t.To == vigil.StatusDuplicate && t.DuplicateOf != 0 && t.DuplicateOf != inc.ID {
			original, err = tx.findIncidentByID(t.DuplicateOf)
			if err != nil {
				return out, vigil.Invalid("duplicate_of", "No incident with ID %d that you can see.", t.DuplicateOf)
			}
		}
		if t.To == vigil.StatusReviewed && inc.Status != vigil.StatusReviewed {
			if err := tx.requireClosedReview(inc); err != nil {
				return out, err
			}
		}
		before := *inc
		changes, err := inc.ApplyTransition(t, tx.now)
		if err != nil {
			return out, err
		}
		var work vigil.OpenWork
		if t.To == vigil.StatusClosed {
			if work, err = tx.openWork(inc.ID); err != nil {
				return out, err
			}
		}
		if err := vigil.CheckClose(work, t, tx.now); err != nil {
			return out, err
		}
		if err := tx.saveIncident(inc); err != nil {
			return out, err
		}
		if err := tx.closeOut(inc, work, t); err != nil {
			return out, err
		}
		msg := fmt.Sprintf("Status changed from %s to %s.", vigil.StatusLabel(before.Status), vigil.StatusLabel(inc.Status))
		if original != nil {
			msg = fmt.Sprintf("Marked as a duplicate of %s.", original.Reference)
		}
		if t.Reason != "" {
			msg += " Reason: " + t.Reason
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindStatus, tx.now, msg, changes); err != nil {
			return out, err
		}
		if original != nil {
			if err := tx.linkDuplicate(inc, original); err != nil {
				return out, err
			}
		}
		tx.audit("incident.transition", "incident", inc.ID, &before, inc)
		return tx.shown(inc)
	})
	return out, err
}

// openWork loads what is still open on an incident (vigil.OpenWorkOf).
func (tx *Tx) openWork(incidentID int64) (vigil.OpenWork, error) {
	tasks, err := queryAll(tx, scanTask, `SELECT `+taskColumns+` FROM tasks t WHERE t.incident_id = ? AND t.status IN ('open', 'in_progress')
		ORDER BY t.position, t.id`, incidentID)
	if err != nil {
		return vigil.OpenWork{}, err
	}
	duties, err := queryAll(tx, noExtra(scanObligation), `SELECT `+obligationColumns+` FROM obligations o WHERE o.incident_id = ? AND o.status = 'pending'
		ORDER BY o.due_at, o.id`, incidentID)
	if err != nil {
		return vigil.OpenWork{}, err
	}
	return vigil.OpenWorkOf(tasks, duties), nil
}

// closeOut applies what a transition to closed decided for the open work
// (checked by vigil.CheckClose), and records on the timeline what was
// left open and why. A duty's own rules (who may record it, whether it
// may be set aside) answer for the close-out's field.
func (tx *Tx) closeOut(inc *vigil.Incident, work vigil.OpenWork, t vigil.Transition) error {
	if t.To != vigil.StatusClosed {
		return nil
	}
	byID := map[int64]*vigil.Task{}
	for _, tk := range work.Tasks {
		byID[tk.ID] = tk
	}
	left := vigil.OpenWork{}
	dealt := map[int64]bool{}
	for _, c := range t.Tasks {
		tk := byID[c.TaskID]
		if c.Action == "" {
			continue
		}
		dealt[tk.ID] = true
		var msg string
		switch c.Action {
		case vigil.CloseTaskDone, vigil.CloseTaskCancel:
			status := vigil.TaskDone
			if c.Action == vigil.CloseTaskCancel {
				status = vigil.TaskCancelled
			}
			if _, err := tx.exec(`UPDATE tasks SET status = ?, completed_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
				status, tx.now, tx.now, tk.ID); err != nil {
				return fmt.Errorf("close task: %w", err)
			}
			msg = fmt.Sprintf("Task %q is now %s (the incident closed).", tk.Title, status)
		case vigil.CloseTaskFollowUp:
			if _, err := tx.exec(`UPDATE tasks SET follow_up = ?, updated_at = ?, version = version + 1 WHERE id = ?`, true, tx.now, tk.ID); err != nil {
				return fmt.Errorf("carry task over: %w", err)
			}
			msg = fmt.Sprintf("Task %q carried over as a follow-up action.", tk.Title)
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindTask, tx.now, msg, nil); err != nil {
			return err
		}
		tx.audit("task.close_out", "task", tk.ID, nil, c)
	}
	for _, tk := range work.Tasks {
		if !dealt[tk.ID] {
			left.Tasks = append(left.Tasks, tk)
		}
	}
	dealt = map[int64]bool{}
	for i, c := range t.Duties {
		var err error
		switch c.Action {
		case vigil.CloseDutySubmitted:
			_, err = tx.submitObligation(c.ObligationID, vigil.Submission{Reference: strings.TrimSpace(c.Reference), LateReason: strings.TrimSpace(c.Reason)})
		case vigil.CloseDutyNotRequired:
			_, err = tx.waiveObligation(c.ObligationID, strings.TrimSpace(c.Reason), 0)
		default:
			continue
		}
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return vigil.Invalid(fmt.Sprintf("duties[%d].reason", i), "%s", vigil.ErrorMessage(err))
		} else if err != nil {
			return err
		}
		dealt[c.ObligationID] = true
	}
	for _, o := range work.Duties {
		if !dealt[o.ID] {
			left.Duties = append(left.Duties, o)
		}
	}
	if left.Empty() {
		return nil
	}
	msg := fmt.Sprintf("Closed with %s still open. Reason: %s", left, strings.TrimSpace(t.OpenWorkReason))
	_, err := tx.addTimeline(inc.ID, vigil.KindStatus, tx.now, msg, nil)
	return err
}

// linkDuplicate records the duplicate_of link (once) and notes it on the
// original's timeline too, so its responders know.
func (tx *Tx) linkDuplicate(dup, original *vigil.Incident) error {
	if _, err := tx.exec(`INSERT INTO incident_links (incident_id, target_id, kind, note, created_by, created_at)
		VALUES (?, ?, ?, '', ?, ?) ON CONFLICT (incident_id, target_id, kind) DO NOTHING`,
		dup.ID, original.ID, vigil.LinkDuplicateOf, tx.actorID(), tx.now); err != nil {
		return fmt.Errorf("insert duplicate link: %w", err)
	}
	_, err := tx.addTimeline(original.ID, vigil.KindLink, tx.now, fmt.Sprintf("%s was marked as a duplicate of this incident.", dup.Reference), nil)
	return err
}

// describeChanges summarises changes for the timeline.
func describeChanges(changes []vigil.Change) string {
	fields := make([]string, len(changes))
	for i, c := range changes {
		fields[i] = strings.ReplaceAll(strings.TrimPrefix(c.Field, "times."), "_", " ")
	}
	return "Changed " + strings.Join(fields, ", ") + "."
}

// incidentCursor is the position after the last item of a page.
type incidentCursor struct {
	Sort   vigil.IncidentSort `json:"s"`
	Time   string             `json:"t,omitempty"`
	Int    int64              `json:"n,omitempty"`
	ID     int64              `json:"i,omitempty"`
	Offset int                `json:"o,omitempty"`
}

func encodeCursor(c incidentCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, sort vigil.IncidentSort) (incidentCursor, error) {
	var c incidentCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Sort != sort {
		return c, vigil.Invalid("cursor", "The cursor is not valid for this list; start from the first page.")
	}
	return c, nil
}

// incidentWhere builds the WHERE clause for f, visibility included.
// Enumerated filters (status, severity, type, TLP, source, category) are
// written as SQL literals, not parameters: f.Normalize has checked every
// value against its enumeration, and literals let the planner use its
// statistics per value and the partial index on TLP:RED rows.
func (tx *Tx) incidentWhere(f *vigil.IncidentFilter) (string, []any) {
	vis, args := tx.visible()
	if f.Query == "" {
		vis, args = tx.listable()
	}
	where := []string{vis}
	in := func(col string, vals []string) {
		if clause := inClause(col, vals); clause != "" {
			where = append(where, clause)
		}
	}
	in("i.status", quoteAll(f.Status))
	sevs := make([]string, len(f.Severity))
	for i, s := range f.Severity {
		sevs[i] = strconv.Itoa(s.Rank())
	}
	in("i.severity", sevs)
	in("i.type", quoteAll(f.Type))
	cats := make([]string, len(f.Category))
	for i, c := range f.Category {
		cats[i] = strconv.Itoa(c)
	}
	in("i.category", cats)
	in("i.tlp", quoteAll(f.TLP))
	in("i.source", quoteAll(f.Source))
	if len(f.Organisation) > 0 {
		where = append(where, "i.organisation_id IN (SELECT o.id FROM organisations o WHERE o.slug IN ("+placeholders(len(f.Organisation))+"))")
		for _, o := range f.Organisation {
			args = append(args, o)
		}
	}
	if f.LeadID != nil {
		where, args = append(where, "i.lead_id = ?"), append(args, *f.LeadID)
	}
	if f.Unassigned {
		where = append(where, "i.lead_id IS NULL")
	}
	if f.MemberID != nil {
		where = append(where, `(i.lead_id = ? OR EXISTS (SELECT 1 FROM incident_members m2 WHERE m2.incident_id = i.id AND m2.user_id = ?))`)
		args = append(args, *f.MemberID, *f.MemberID)
	}
	if f.Significant != nil {
		where = append(where, "i.significant = "+boolLiteral(*f.Significant))
	}
	if f.Exercise != nil {
		where = append(where, "i.exercise = "+boolLiteral(*f.Exercise))
	}
	if f.Open != nil {
		op := "IN"
		if !*f.Open {
			op = "NOT IN"
		}
		where = append(where, "i.status "+op+" ("+strings.Join(quoteAll(vigil.OpenStatuses), ", ")+")")
	}
	bound := func(col, op string, t *time.Time) {
		if t != nil {
			where, args = append(where, col+" "+op+" ?"), append(args, *t)
		}
	}
	bound("i.created_at", ">=", f.CreatedAfter)
	bound("i.created_at", "<", f.CreatedBefore)
	bound("i.updated_at", ">=", f.UpdatedAfter)
	bound("i.updated_at", "<", f.UpdatedBefore)
	bound("i.occurred_at", ">=", f.OccurredAfter)
	bound("i.occurred_at", "<", f.OccurredBefore)
	return joinAnd(where), args
}

// inClause is "col IN (a, b)", or "col = a" for one value: SQLite proves
// that a query falls under a partial index (tlp = 'RED') only from an
// equality.
func inClause(col string, vals []string) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return col + " = " + vals[0]
	}
	return col + " IN (" + strings.Join(vals, ", ") + ")"
}

// quoteAll renders validated enumeration values as SQL string literals.
func quoteAll[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
	}
	return out
}

// boolLiteral is TRUE or FALSE, which both engines read (SQLite as 1 and 0).
func boolLiteral(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

func joinAnd(where []string) string { return strings.Join(where, " AND ") }

// shown is a copy of inc as the actor may see it (see hideUnseenDuplicates),
// leaving inc, which the audit event holds, as stored.
func (tx *Tx) shown(inc *vigil.Incident) (*vigil.Incident, error) {
	out := new(*inc)
	return out, tx.hideUnseenDuplicates(out)
}

// FindIncidents returns one page of incidents. Without a query, pages are
// keyset-paginated on (sort column, id), so a page costs the same however
// deep it is and stays stable while incidents are added.
func (s *IncidentService) FindIncidents(ctx context.Context, f vigil.IncidentFilter) (page *vigil.IncidentPage, err error) {
	defer s.db.op("incident.find")(&err)
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if f.Query != "" {
			page, err = tx.searchIncidents(&f)
		} else {
			page, err = tx.listIncidents(&f)
		}
		if err != nil {
			return err
		}
		if err := tx.summarizeGranted(page.Items...); err != nil {
			return err
		}
		return tx.hideUnseenDuplicates(page.Items...)
	})
	return page, err
}

func (tx *Tx) listIncidents(f *vigil.IncidentFilter) (*vigil.IncidentPage, error) {
	where, args := tx.incidentWhere(f)
	col, desc := "i.created_at", true
	switch f.Sort {
	case vigil.SortCreatedAsc:
		desc = false
	case vigil.SortUpdatedDesc:
		col = "i.updated_at"
	case vigil.SortUpdatedAsc:
		col, desc = "i.updated_at", false
	case vigil.SortSeverityDesc:
		col = "i.severity"
	case vigil.SortSeverityAsc:
		col, desc = "i.severity", false
	}
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, f.Sort)
		if err != nil {
			return nil, err
		}
		var v any = c.Int
		if col != "i.severity" {
			t, err := time.Parse(vigil.TimeFormat, c.Time)
			if err != nil {
				return nil, vigil.Invalid("cursor", "The cursor is not valid for this list; start from the first page.")
			}
			v = t
		}
		where += fmt.Sprintf(" AND (%s, i.id) %s (?, ?)", col, cmp)
		args = append(args, v, c.ID)
	}
	q := fmt.Sprintf(`SELECT %s FROM incidents i WHERE %s ORDER BY %s %s, i.id %s LIMIT ?`, incidentColumns, where, col, dir, dir)
	items, err := queryAll(tx, noExtra(scanIncident), q, append(args, f.Limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	page := &vigil.IncidentPage{Items: items}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		last := page.Items[f.Limit-1]
		c := incidentCursor{Sort: f.Sort, ID: last.ID}
		switch col {
		case "i.severity":
			c.Int = int64(last.Severity.Rank())
		case "i.updated_at":
			c.Time = vigil.FormatTime(last.UpdatedAt)
		default:
			c.Time = vigil.FormatTime(last.CreatedAt)
		}
		page.NextCursor = encodeCursor(c)
	}
	return page, nil
}

// CountIncidents counts the incidents matching f that the actor may see.
func (s *IncidentService) CountIncidents(ctx context.Context, f vigil.IncidentFilter) (n int, err error) {
	defer s.db.op("incident.count")(&err)
	f.Cursor, f.Sort = "", ""
	if err := f.Normalize(); err != nil {
		return 0, err
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if countable(&f) && len(tx.vis.Own) == 0 && !tx.vis.None {
			n, err = tx.countFromTotals(&f)
			return err
		}
		where, args := tx.incidentWhere(&f)
		if f.Query != "" {
			match, margs, ok := tx.db.d.Search.matchIncidents(f.Query)
			if !ok {
				n = 0
				return nil
			}
			where += " AND i.id IN (" + match + ")"
			args = append(args, margs...)
		}
		return tx.queryRow(`SELECT count(*) FROM incidents i WHERE `+where, args...).Scan(&n)
	})
	return n, err
}

// countable reports whether f filters only on what incident_counts keeps.
func countable(f *vigil.IncidentFilter) bool {
	return f.Query == "" && len(f.Organisation) == 0 && len(f.Type) == 0 && len(f.Category) == 0 && len(f.Source) == 0 && f.LeadID == nil &&
		!f.Unassigned && f.MemberID == nil && f.Significant == nil && f.CreatedAfter == nil && f.CreatedBefore == nil &&
		f.UpdatedAfter == nil && f.UpdatedBefore == nil && f.OccurredAfter == nil && f.OccurredBefore == nil
}

// countFromTotals counts from incident_counts. For actors who see TLP:RED
// incidents only as members, the TLP:RED part is counted row by row, through
// the partial index on those rows.
func (tx *Tx) countFromTotals(f *vigil.IncidentFilter) (int, error) {
	var where []string
	in := func(col string, vals []string) {
		if clause := inClause(col, vals); clause != "" {
			where = append(where, clause)
		}
	}
	in("status", quoteAll(f.Status))
	sevs := make([]string, len(f.Severity))
	for i, s := range f.Severity {
		sevs[i] = strconv.Itoa(s.Rank())
	}
	in("severity", sevs)
	in("tlp", quoteAll(f.TLP))
	if f.Exercise != nil {
		where = append(where, "exercise = "+boolLiteral(*f.Exercise))
	}
	if f.Open != nil {
		op := "IN"
		if !*f.Open {
			op = "NOT IN"
		}
		where = append(where, "status "+op+" ("+strings.Join(quoteAll(vigil.OpenStatuses), ", ")+")")
	}
	v := tx.vis
	if !v.All {
		// Every incident of the organisations the actor sees whole; the
		// rest but TLP:RED of those they work in.
		var org []string
		if len(v.Full) > 0 {
			org = append(org, strings.TrimPrefix(orgIn(v.Full), "i."))
		}
		if len(v.Staff) > 0 {
			org = append(org, "("+strings.TrimPrefix(orgIn(v.Staff), "i.")+" AND tlp <> 'RED')")
		}
		if v.Coordinator {
			org = append(org, `(organisation_id IN (SELECT g.id FROM organisations g WHERE g.coordinator_grant IN ('summary', 'full')) AND tlp <> 'RED')`)
		}
		where = append(where, "("+strings.Join(org, " OR ")+")")
	}
	w := "1=1"
	if len(where) > 0 {
		w = joinAnd(where)
	}
	var n int
	if err := tx.queryRow(`SELECT coalesce(sum(n), 0) FROM incident_counts WHERE ` + w).Scan(&n); err != nil {
		return 0, fmt.Errorf("count from totals: %w", err)
	}
	if v.All || len(v.Staff) == 0 {
		return n, nil
	}
	red := *f
	red.TLP = []vigil.TLP{vigil.TLPRed}
	if len(f.TLP) > 0 && !slices.Contains(f.TLP, vigil.TLPRed) {
		return n, nil
	}
	rw, args := tx.incidentWhere(&red)
	// Start from the few TLP:RED incidents the actor may see, not from
	// every RED incident (a million-incident store has tens of thousands).
	mine := `i.id IN (SELECT r.id FROM incidents r WHERE r.tlp = 'RED' AND r.lead_id = ?
		UNION ALL SELECT r.id FROM incidents r WHERE r.tlp = 'RED' AND r.created_by = ?
		UNION ALL SELECT m.incident_id FROM incident_members m WHERE m.user_id = ?) AND ` + orgIn(v.Staff)
	var m int
	if err := tx.queryRow(`SELECT count(*) FROM incidents i WHERE `+mine+` AND `+rw, append([]any{v.UserID, v.UserID, v.UserID}, args...)...).Scan(&m); err != nil {
		return 0, fmt.Errorf("count TLP:RED: %w", err)
	}
	return n + m, nil
}

// canManageMembers reports whether the actor may assign roles on inc.
func (tx *Tx) canManageMembers(inc *vigil.Incident) bool {
	if tx.actor.CanIn(inc.OrganisationID, vigil.PermIncidentMembers) {
		return true
	}
	return inc.LeadID != nil && tx.actor.UserID != 0 && *inc.LeadID == tx.actor.UserID
}

// writeOn is called by a write that loaded a row of an incident (a task,
// an observable, a comment) through the visibility clause rather than
// the incident itself: it loads the incident as every write does
// (findIncident), so that the actor's role in its organisation and the
// organisation's suspension are checked, and the write's audit events
// name the organisation (an event that names none is the install's).
func (tx *Tx) writeOn(incidentID int64) error {
	if !tx.write {
		return nil
	}
	_, err := tx.findIncidentByID(incidentID)
	return err
}
