package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-ir/vigil"
)

// ReportUp reports a member's incident to the coordinator, in one
// transaction: the coordinator's incident (made or added to), what was
// shared, both timelines and the audit event.
func (s *OrganisationService) ReportUp(ctx context.Context, incidentID int64, r vigil.ReportUp) (out *vigil.UpwardReport, err error) {
	defer s.db.op("organisation.report_up")(&err)
	if err := r.Prepare(); err != nil {
		return nil, err
	}
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.UpwardReport, error) {
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return nil, err
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return nil, err
		}
		if inc.OrganisationID == vigil.DefaultOrganisationID {
			return nil, vigil.Invalid("incident", "This is the coordinator's own incident: there is nobody to report it to.")
		}
		if inc.TLP == vigil.TLPRed {
			return nil, vigil.Invalid("tlp", "A TLP:RED incident stays with its members. If it may be shared, change its TLP first.")
		}
		member, err := tx.findOrg(inc.Organisation)
		if err != nil {
			return nil, err
		}
		shared := []string{"summary"}
		for _, w := range []string{vigil.ShareDescription, vigil.ShareObservables} {
			if r.Shares(w) {
				shared = append(shared, w)
			}
		}
		rep := &vigil.UpwardReport{IncidentID: inc.ID, IncidentReference: inc.Reference, Organisation: member.Slug,
			Shared: shared, Message: r.Message, ReportedBy: tx.actorName(), ReportedAt: tx.now}

		// The coordinator's incident: the one an earlier report made, or a
		// new one in its triage queue. It is the coordinator's: made by the
		// store on the member's behalf, as the member may not see it.
		var prev int64
		err = tx.queryRow(`SELECT coordinator_incident_id FROM upward_reports WHERE incident_id = ? ORDER BY id LIMIT 1`, inc.ID).Scan(&prev)
		rep.Update = err == nil
		who := fmt.Sprintf("%s (%s)", member.Name, rep.ReportedBy)
		var coord *vigil.Incident
		err = tx.asSystem("report-up: "+rep.ReportedBy, func() error {
			if rep.Update {
				c, err := tx.findIncidentByID(prev)
				if err != nil {
					return err
				}
				coord = c
				_, err = tx.addTimeline(coord.ID, vigil.KindSharing, tx.now, fmt.Sprintf("Update from %s on their %s: now %s, %s severity, NCSC category %s.%s",
					who, inc.Reference, vigil.StatusLabel(inc.Status), inc.Severity, categoryText(inc.Category), messageText(r.Message)), nil)
				return err
			}
			coord = &vigil.Incident{Organisation: vigil.DefaultOrganisationSlug, Title: inc.Title, Type: inc.Type, Status: vigil.StatusTriage,
				Severity: inc.Severity, Category: inc.Category, Significant: inc.Significant, TLP: inc.TLP, Source: vigil.SourceMember,
				Exercise: inc.Exercise, AffectedServices: []string{}, Times: vigil.IncidentTimes{OccurredAt: inc.Times.OccurredAt, DetectedAt: inc.Times.DetectedAt}}
			if r.Shares(vigil.ShareDescription) {
				coord.Summary, coord.AffectedServices = inc.Summary, slices.Clone(inc.AffectedServices)
			}
			if err := tx.createIncident(coord); err != nil {
				return err
			}
			_, err := tx.addTimeline(coord.ID, vigil.KindSharing, tx.now, fmt.Sprintf("Reported by %s, from their %s; shared: %s.%s",
				who, inc.Reference, strings.Join(shared, ", "), messageText(r.Message)), nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		rep.CoordinatorIncidentID, rep.CoordinatorIncidentReference = coord.ID, coord.Reference
		if r.Shares(vigil.ShareObservables) {
			obs, err := queryAll(tx, scanObservable, `SELECT `+observableColumns+` FROM observables o WHERE o.incident_id = ? AND o.tlp <> 'RED' ORDER BY o.id`, inc.ID)
			if err != nil {
				return nil, err
			}
			if len(obs) > 0 {
				copies := make([]*vigil.Observable, len(obs))
				for i, o := range obs {
					copies[i] = &vigil.Observable{Type: o.Type, Value: o.Value, IOC: o.IOC, TLP: o.TLP, Description: o.Description}
				}
				if err := tx.asSystem("report-up: "+rep.ReportedBy, func() error {
					_, err := tx.addObservables(coord.ID, copies)
					return err
				}); err != nil {
					return nil, err
				}
			}
		}
		rep.ID, err = tx.insert(`INSERT INTO upward_reports (incident_id, coordinator_incident_id, shared, message, reported_by, reported_at, is_update)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, rep.IncidentID, rep.CoordinatorIncidentID, mustJSON(rep.Shared), rep.Message, rep.ReportedBy, rep.ReportedAt, rep.Update)
		if err != nil {
			return nil, fmt.Errorf("insert upward report: %w", err)
		}
		var coordName string
		if err := tx.queryRow(`SELECT name FROM organisations WHERE id = 1`).Scan(&coordName); err != nil {
			return nil, err
		}
		verb := "Reported to"
		if rep.Update {
			verb = "Update sent to"
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindSharing, tx.now, fmt.Sprintf("%s %s by %s (their %s); shared: %s.",
			verb, coordName, rep.ReportedBy, coord.Reference, strings.Join(shared, ", ")), nil); err != nil {
			return nil, err
		}
		if err := tx.touchIncident(inc.ID); err != nil {
			return nil, err
		}
		tx.audit("incident.report_up", "incident", inc.ID, nil, rep)
		return rep, nil
	})
}

// asSystem runs fn as the store itself, for the part of a write that
// works in an organisation the actor does not belong to on their behalf
// (name is recorded as the actor). The organisations fn touches are its
// own: its audit events are theirs, and the rest of the write's are the
// actor's organisations'.
func (tx *Tx) asSystem(name string, fn func() error) error {
	actor, vis, touched := tx.actor, tx.vis, tx.orgsTouched
	tx.actor, tx.vis, tx.orgsTouched = vigil.SystemActor(name), vigil.Visibility{All: true}, nil
	defer func() { tx.actor, tx.vis, tx.orgsTouched = actor, vis, touched }()
	return fn()
}

func categoryText(c int) string {
	if c == 0 {
		return "not set"
	}
	return fmt.Sprint(c)
}

func messageText(m string) string {
	if m == "" {
		return ""
	}
	return " Their message: " + m
}

const upwardColumns = `u.id, u.incident_id, m.reference, o.slug, u.coordinator_incident_id, c.reference, u.shared, u.message, u.reported_by, u.reported_at, u.is_update`

func scanUpward(r rowScanner) (*vigil.UpwardReport, error) {
	var u vigil.UpwardReport
	err := r.Scan(&u.ID, &u.IncidentID, &u.IncidentReference, &u.Organisation, &u.CoordinatorIncidentID, &u.CoordinatorIncidentReference,
		scanJSON(&u.Shared), &u.Message, &u.ReportedBy, scanTime(&u.ReportedAt), &u.Update)
	return &u, err
}

// FindUpwardReports lists an incident's reports up, from either side.
func (s *OrganisationService) FindUpwardReports(ctx context.Context, incidentID int64) (out []*vigil.UpwardReport, err error) {
	defer s.db.op("organisation.upward_reports")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		out, err = queryAll(tx, scanUpward, `SELECT `+upwardColumns+` FROM upward_reports u
			JOIN incidents m ON m.id = u.incident_id JOIN organisations o ON o.id = m.organisation_id
			JOIN incidents c ON c.id = u.coordinator_incident_id
			WHERE u.incident_id = ? OR u.coordinator_incident_id = ? ORDER BY u.id`, incidentID, incidentID)
		return err
	})
	return out, err
}
