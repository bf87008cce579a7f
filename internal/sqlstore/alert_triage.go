package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-ir/vigil"
)

// ActOnGroups applies one triage decision to every group in a, in one
// transaction.
func (s *AlertService) ActOnGroups(ctx context.Context, a vigil.GroupAction) (incidentID int64, err error) {
	defer s.db.op("alert_group.act")(&err)
	if err := a.Validate(); err != nil {
		return 0, err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(a.GroupIDs)))
	incidentID, err = writeV(ctx, s.db, func(tx *Tx) (int64, error) {
		var incidentID int64
		if err := tx.require(vigil.PermAlertTriage); err != nil {
			return incidentID, err
		}
		groups := make([]*vigil.AlertGroup, 0, len(ids))
		for _, id := range ids {
			g, err := tx.loadGroup(id)
			if err != nil {
				return incidentID, err
			}
			if err := tx.requireFedIncident(g); err != nil {
				return incidentID, err
			}
			groups = append(groups, g)
		}
		switch a.Action {
		case "acknowledge", "reopen", "dismiss":
			state := map[string]vigil.GroupState{"acknowledge": vigil.GroupAcknowledged, "reopen": vigil.GroupNew, "dismiss": vigil.GroupDismissed}[a.Action]
			for _, g := range groups {
				if g.State == vigil.GroupMerged || (g.State == vigil.GroupPromoted && a.Action != "reopen") {
					return incidentID, vigil.Invalid("group_ids", "Alert group #%d is %s; it cannot be %s.", g.ID, g.State, pastTense(a.Action))
				}
				reason := ""
				if a.Action == "dismiss" {
					reason = a.Reason
				}
				if _, err := tx.exec(`UPDATE alert_groups SET state = ?, reason = ?, updated_at = ? WHERE id = ?`, state, reason, tx.now, g.ID); err != nil {
					return incidentID, err
				}
				if g.State == vigil.GroupPromoted && g.IncidentID != nil {
					// Reopened: it no longer feeds the incident.
					if _, err := tx.exec(`UPDATE alert_groups SET incident_id = NULL WHERE id = ?`, g.ID); err != nil {
						return incidentID, err
					}
					if _, err := tx.addTimeline(*g.IncidentID, vigil.KindAlert, tx.now, fmt.Sprintf("Alert group #%d detached by %s.", g.ID, tx.actorName()), nil); err != nil {
						return incidentID, err
					}
				}
				tx.audit("alert_group."+a.Action, "alert_group", g.ID, map[string]any{"state": g.State}, map[string]any{"state": state, "reason": reason})
			}
		case "promote":
			if err := tx.require(vigil.PermIncidentCreate); err != nil {
				return incidentID, err
			}
			for _, g := range groups {
				if g.State == vigil.GroupPromoted || g.State == vigil.GroupMerged {
					return incidentID, vigil.Invalid("group_ids", "Alert group #%d is %s already.", g.ID, g.State)
				}
			}
			// Several groups promote to one incident: the first makes it,
			// the others feed it.
			id, err := tx.promoteGroup(groups[0].ID, groupIncident{Title: a.Title, Severity: a.Severity, Type: a.Type},
				"Promoted by "+tx.actorName()+".")
			if err != nil {
				return incidentID, err
			}
			incidentID = id
			for _, g := range groups[1:] {
				if err := tx.attachGroup(g, id); err != nil {
					return incidentID, err
				}
			}
		case "attach":
			if err := tx.require(vigil.PermIncidentEdit); err != nil {
				return incidentID, err
			}
			inc, err := tx.findIncidentByID(a.IncidentID)
			if err != nil {
				return incidentID, vigil.Invalid("incident_id", "Incident not found.")
			}
			for _, g := range groups {
				if g.State == vigil.GroupMerged || (g.IncidentID != nil && *g.IncidentID == inc.ID) {
					return incidentID, vigil.Invalid("group_ids", "Alert group #%d is %s already.", g.ID, g.State)
				}
				if err := tx.attachGroup(g, inc.ID); err != nil {
					return incidentID, err
				}
			}
			incidentID = inc.ID
		case "merge":
			into, err := tx.loadGroup(a.IntoID)
			if err != nil {
				return incidentID, vigil.Invalid("into", "Alert group #%d not found.", a.IntoID)
			}
			if err := tx.requireFedIncident(into); err != nil {
				return incidentID, err
			}
			if into.State == vigil.GroupMerged || into.State == vigil.GroupDismissed {
				return incidentID, vigil.Invalid("into", "Alert group #%d is %s; merge into an open group.", into.ID, into.State)
			}
			for _, g := range groups {
				if g.ID == into.ID {
					continue
				}
				if g.State == vigil.GroupMerged {
					return incidentID, vigil.Invalid("group_ids", "Alert group #%d is merged already.", g.ID)
				}
				if err := tx.mergeGroup(g, into); err != nil {
					return incidentID, err
				}
			}
			incidentID = 0
			if into.IncidentID != nil {
				incidentID = *into.IncidentID
			}
		}
		return incidentID, nil
	})
	return incidentID, err
}

// requireFedIncident refuses a triage action on a group that feeds an
// incident the actor may not see or edit: detaching, moving or merging it
// would change that incident (and write on its timeline).
func (tx *Tx) requireFedIncident(g *vigil.AlertGroup) error {
	if g.IncidentID == nil {
		return nil
	}
	if _, err := tx.findIncidentByID(*g.IncidentID); err != nil {
		return vigil.Errorf(vigil.EFORBIDDEN, "Alert group #%d feeds an incident you cannot see; ask its lead.", g.ID)
	}
	return tx.require(vigil.PermIncidentEdit)
}

func pastTense(action string) string {
	return map[string]string{"acknowledge": "acknowledged", "dismiss": "dismissed", "reopen": "reopened"}[action]
}

// attachGroup makes g feed an existing incident.
func (tx *Tx) attachGroup(g *vigil.AlertGroup, incidentID int64) error {
	alerts, err := tx.groupAlerts(g.ID, 1000)
	if err != nil {
		return err
	}
	if err := tx.feedIncident(g, alerts, incidentID, "attached by "+tx.actorName()); err != nil {
		return err
	}
	tx.audit("alert_group.attach", "alert_group", g.ID, map[string]any{"incident_id": g.IncidentID}, map[string]any{"incident_id": incidentID})
	return nil
}

// mergeGroup moves g's alerts into into, which takes its count, severity
// and TLP; g is left as a pointer to into.
func (tx *Tx) mergeGroup(g, into *vigil.AlertGroup) error {
	moved, err := tx.groupAlerts(g.ID, 1000)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE alerts SET group_id = ? WHERE group_id = ?`, into.ID, g.ID); err != nil {
		return err
	}
	into.AlertCount += g.AlertCount
	if g.Severity.Rank() > into.Severity.Rank() {
		into.Severity = g.Severity
	}
	into.TLP = stricterTLP(into.TLP, g.TLP)
	if g.LastSeen.After(into.LastSeen) {
		into.LastSeen = g.LastSeen
	}
	if _, err := tx.exec(`UPDATE alert_groups SET alert_count = ?, severity = ?, tlp = ?, last_seen = ?, updated_at = ? WHERE id = ?`,
		into.AlertCount, into.Severity.Rank(), into.TLP, into.LastSeen, tx.now, into.ID); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE alert_groups SET state = 'merged', merged_into = ?, incident_id = NULL, updated_at = ? WHERE id = ?`, into.ID, tx.now, g.ID); err != nil {
		return err
	}
	if into.IncidentID != nil {
		merged := *g
		merged.ID = into.ID
		if err := tx.feedIncident(&merged, moved, *into.IncidentID, fmt.Sprintf("merged in from group #%d by %s", g.ID, tx.actorName())); err != nil {
			return err
		}
	}
	tx.audit("alert_group.merge", "alert_group", g.ID, map[string]any{"state": g.State}, map[string]any{"merged_into": into.ID})
	return nil
}

// groupIncident is what a promotion may set on the new incident.
type groupIncident struct {
	Title    string
	Severity vigil.Severity
	Type     vigil.IncidentType
}

// promoteGroup makes an incident in triage from a group and its alerts.
func (tx *Tx) promoteGroup(groupID int64, f groupIncident, why string) (int64, error) {
	g, err := tx.loadGroup(groupID)
	if err != nil {
		return 0, err
	}
	alerts, err := tx.groupAlerts(groupID, 1000)
	if err != nil {
		return 0, err
	}
	inc := &vigil.Incident{
		Title: firstNonEmpty(f.Title, g.Title), Type: f.Type, Severity: firstNonEmpty(f.Severity, g.Severity),
		TLP: g.TLP, Source: vigil.SourceAlert, Status: vigil.StatusTriage,
		Summary: fmt.Sprintf("From alert group #%d: %s. %s", g.ID, vigil.Plural(g.AlertCount, "alert", "alerts"), why),
	}
	if inc.Type == "" {
		inc.Type = vigil.TypeOther
	}
	if len(alerts) > 0 && !alerts[0].StartedAt.IsZero() {
		t := alerts[0].StartedAt
		for _, a := range alerts {
			if a.StartedAt.Before(t) {
				t = a.StartedAt
			}
		}
		inc.Times.DetectedAt = &t
	}
	if err := tx.createIncident(inc); err != nil {
		return 0, err
	}
	if err := tx.feedIncident(g, alerts, inc.ID, "promoted to "+inc.Reference); err != nil {
		return 0, err
	}
	tx.audit("alert_group.promote", "alert_group", g.ID, nil, map[string]any{"incident_id": inc.ID, "reason": why})
	return inc.ID, nil
}

// feedIncident marks a group as feeding an incident and records its alerts
// on the incident's timeline.
func (tx *Tx) feedIncident(g *vigil.AlertGroup, alerts []*vigil.Alert, incidentID int64, what string) error {
	if _, err := tx.exec(`UPDATE alert_groups SET state = 'promoted', incident_id = ?, updated_at = ? WHERE id = ?`, incidentID, tx.now, g.ID); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Alert group #%d (%s) %s:", g.ID, vigil.Plural(g.AlertCount, "alert", "alerts"), what)
	for i, a := range alerts {
		if i == 20 {
			fmt.Fprintf(&b, "\n… and %d more.", len(alerts)-i)
			break
		}
		fmt.Fprintf(&b, "\n- Alert #%d (%s, %s, %d firing notifications): %s", a.ID, a.Severity, a.Status, a.Count, a.Title)
	}
	var obs []vigil.ObservableInput
	if len(alerts) > 0 {
		ids := make([]any, len(alerts))
		for i, a := range alerts {
			ids[i] = a.ID
		}
		var err error
		obs, err = queryAll(tx, func(r rowScanner) (o vigil.ObservableInput, err error) {
			err = r.Scan(&o.Type, &o.Value)
			return o, err
		}, `SELECT DISTINCT type, value FROM alert_observables WHERE alert_id IN (`+placeholders(len(ids))+`) ORDER BY type, value LIMIT ?`,
			append(ids, vigil.MaxObservablesPerRequest)...)
		if err != nil {
			return err
		}
	}
	return tx.recordAlertOnIncident(incidentID, b.String(), obs, g.TLP)
}

// recordAlertOnIncident writes a timeline entry and adds the alert's
// observables to the incident (those it does not hold yet). An alert more
// restricted than the incident first raises the incident's TLP, so that
// what it says reaches no one its own label excludes.
func (tx *Tx) recordAlertOnIncident(incidentID int64, msg string, obs []vigil.ObservableInput, tlp vigil.TLP) error {
	if err := tx.raiseIncidentTLP(incidentID, tlp); err != nil {
		return err
	}
	if _, err := tx.addTimeline(incidentID, vigil.KindAlert, tx.now, msg, nil); err != nil {
		return err
	}
	if err := tx.addIncidentObservables(incidentID, obs); err != nil {
		return err
	}
	return tx.touchIncident(incidentID)
}

// raiseIncidentTLP makes an incident at least as restricted as tlp.
func (tx *Tx) raiseIncidentTLP(id int64, tlp vigil.TLP) error {
	var cur vigil.TLP
	if err := tx.queryRow(`SELECT tlp FROM incidents WHERE id = ?`, id).Scan(&cur); err != nil {
		return fmt.Errorf("read incident TLP: %w", err)
	}
	if tlp.Rank() <= cur.Rank() {
		return nil
	}
	if _, err := tx.exec(`UPDATE incidents SET tlp = ?, updated_at = ?, version = version + 1 WHERE id = ?`, tlp, tx.now, id); err != nil {
		return err
	}
	if _, err := tx.addTimeline(id, vigil.KindUpdate, tx.now, fmt.Sprintf("TLP raised from %s to %s: a TLP:%s alert fed the incident.", cur, tlp, tlp),
		[]vigil.Change{{Field: "tlp", From: cur, To: tlp}}); err != nil {
		return err
	}
	tx.audit("incident.update", "incident", id, map[string]any{"tlp": cur}, map[string]any{"tlp": tlp})
	return nil
}

// addIncidentObservables adds values to an incident's observables, skipping
// those it holds, at the incident's TLP.
func (tx *Tx) addIncidentObservables(incidentID int64, obs []vigil.ObservableInput) error {
	if len(obs) == 0 {
		return nil
	}
	var tlp vigil.TLP
	if err := tx.queryRow(`SELECT tlp FROM incidents WHERE id = ?`, incidentID).Scan(&tlp); err != nil {
		return err
	}
	for _, o := range obs {
		var id int64
		err := tx.queryRow(`INSERT INTO observables (incident_id, type, value, ioc, tlp, description, created_by, created_at, updated_at, version, scope_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (incident_id, type, value) DO NOTHING RETURNING id`,
			incidentID, o.Type, o.Value, false, tlp, "From an alert.", tx.actorID(), tx.now, tx.now, scopeArg(o.Type, o.Value)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return fmt.Errorf("add observable from alert: %w", err)
		}
		if err := tx.indexObservable(&vigil.Observable{ID: id, IncidentID: incidentID, Value: o.Value, Description: "From an alert."}); err != nil {
			return err
		}
	}
	return nil
}

func firstNonEmpty[T ~string](vs ...T) T {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
