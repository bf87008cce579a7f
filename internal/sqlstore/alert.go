package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-ir/vigil"
)

// AlertService implements vigil.AlertService.
type AlertService struct{ db *DB }

func stricterTLP(a, b vigil.TLP) vigil.TLP {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// --- reads ---

// alertVisible limits alerts or groups (alias) to those the actor may see:
// none without alert:read (the alerts are the default organisation's,
// read through a role in it), and TLP:RED ones only to administrators and
// managers, who own triage of what may not be shared.
func (tx *Tx) alertVisible(alias string) string {
	switch {
	case tx.vis.None || !tx.actor.Can(vigil.PermAlertRead):
		return "1=0"
	case tx.vis.All || (tx.actor != nil && (tx.actor.Role == vigil.RoleAdmin || tx.actor.Role == vigil.RoleManager)):
		return "1=1"
	}
	return alias + ".tlp <> 'RED'"
}

const groupColumns = `g.id, g.title, g.state, g.severity, g.tlp, g.integration_id, g.incident_id, g.merged_into, g.reason,
	g.alert_count, g.first_seen, g.last_seen, g.updated_at,
	(SELECT COUNT(*) FROM alerts a WHERE a.group_id = g.id AND a.status = 'firing')`

func scanGroup(r rowScanner) (*vigil.AlertGroup, error) {
	var g vigil.AlertGroup
	var sev int
	if err := r.Scan(&g.ID, &g.Title, &g.State, &sev, &g.TLP, &g.IntegrationID, scanNullInt(&g.IncidentID), scanNullInt(&g.MergedInto),
		&g.Reason, &g.AlertCount, scanTime(&g.FirstSeen), scanTime(&g.LastSeen), scanTime(&g.UpdatedAt), &g.Firing); err != nil {
		return nil, err
	}
	g.Severity = vigil.SeverityFromRank(sev)
	return &g, nil
}

func (tx *Tx) loadGroup(id int64) (*vigil.AlertGroup, error) {
	g, err := scanGroup(tx.queryRow(`SELECT `+groupColumns+` FROM alert_groups g WHERE g.id = ? AND `+tx.alertVisible("g"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Alert group #%d not found.", id)
	}
	return g, err
}

// An alert's count and last_seen include its repeats not folded yet (p,
// from alertFrom).
const (
	alertLastSeen = `CASE WHEN p.last_seen > a.last_seen THEN p.last_seen ELSE a.last_seen END`
	alertColumns  = `a.id, a.integration_id, n.name, n.kind, a.group_id, g.incident_id, a.fingerprint, a.status, a.title, a.description,
	a.severity, a.tlp, a.source_ref, a.url, a.labels, a.count + COALESCE(p.n, 0), a.occurrence, a.started_at, a.first_seen, ` + alertLastSeen + `, a.resolved_at,
	a.warnings`
	alertFrom = ` FROM alerts a JOIN integrations n ON n.id = a.integration_id JOIN alert_groups g ON g.id = a.group_id
	LEFT JOIN (SELECT alert_id, CAST(SUM(n) AS BIGINT) AS n, MAX(last_seen) AS last_seen FROM alert_repeats GROUP BY alert_id) p ON p.alert_id = a.id`
)

func scanAlert(r rowScanner, extra ...any) (*vigil.Alert, error) {
	var a vigil.Alert
	var sev int
	dest := []any{&a.ID, &a.IntegrationID, &a.IntegrationName, &a.Kind, &a.GroupID, scanNullInt(&a.IncidentID), &a.Fingerprint,
		&a.Status, &a.Title, &a.Description, &sev, &a.TLP, &a.SourceRef, &a.URL, scanJSON(&a.Labels), &a.Count, &a.Occurrence,
		scanTime(&a.StartedAt), scanTime(&a.FirstSeen), scanTime(&a.LastSeen), scanNullTime(&a.ResolvedAt), scanJSON(&a.Warnings)}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	a.Severity = vigil.SeverityFromRank(sev)
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	return &a, nil
}

func (tx *Tx) groupAlerts(groupID int64, limit int) ([]*vigil.Alert, error) {
	return queryAll(tx, noExtra(scanAlert), `SELECT `+alertColumns+alertFrom+` WHERE a.group_id = ? ORDER BY a.id LIMIT ?`, groupID, limit)
}

// FindAlertGroups returns a page of the triage queue.
func (s *AlertService) FindAlertGroups(ctx context.Context, f vigil.AlertGroupFilter) (page *vigil.AlertGroupPage, err error) {
	defer s.db.op("alert_group.find")(&err)
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermAlertRead); err != nil {
			return err
		}
		where := []string{tx.alertVisible("g"), inClause("g.state", quoteAll(f.States))}
		var args []any
		if len(f.Severities) > 0 {
			ranks := make([]string, len(f.Severities))
			for i, s := range f.Severities {
				ranks[i] = fmt.Sprint(s.Rank())
			}
			where = append(where, "g.severity IN ("+strings.Join(ranks, ", ")+")")
		}
		if f.IntegrationID != 0 {
			where = append(where, "g.integration_id = ?")
			args = append(args, f.IntegrationID)
		}
		order := map[string]string{
			"severity":  "g.severity DESC, g.last_seen DESC, g.id DESC",
			"newest":    "g.first_seen DESC, g.id DESC",
			"oldest":    "g.first_seen, g.id",
			"last_seen": "g.last_seen DESC, g.id DESC",
		}[f.Sort]
		page = &vigil.AlertGroupPage{Groups: []*vigil.AlertGroup{}}
		if err := tx.queryRow(`SELECT COUNT(*) FROM alert_groups g WHERE `+joinAnd(where), args...).Scan(&page.Total); err != nil {
			return err
		}
		page.Groups, err = queryAll(tx, scanGroup, `SELECT `+groupColumns+` FROM alert_groups g WHERE `+joinAnd(where)+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
			append(args, f.Limit, f.Offset)...)
		if err != nil {
			return err
		}
		return tx.fillGroupIncidents(page.Groups)
	})
	return page, err
}

// fillGroupIncidents names the incidents groups feed, where the actor may
// see them; where not, the group does not say which incident it feeds.
func (tx *Tx) fillGroupIncidents(groups []*vigil.AlertGroup) error {
	var ids []any
	for _, g := range groups {
		if g.IncidentID != nil {
			ids = append(ids, *g.IncidentID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	vis, vargs := tx.visible()
	refs, err := queryMap(tx, func(r rowScanner) (int64, *vigil.IncidentRef, error) {
		ref, err := scanIncidentRef(r)
		return ref.ID, &ref, err
	}, `SELECT `+incidentRefColumns+` FROM incidents i WHERE i.id IN (`+placeholders(len(ids))+`) AND `+vis, append(ids, vargs...)...)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.IncidentID != nil {
			if g.Incident = refs[*g.IncidentID]; g.Incident == nil {
				g.IncidentID = nil
			}
		}
	}
	return nil
}

// FindAlertGroupByID returns a group with its alerts.
func (s *AlertService) FindAlertGroupByID(ctx context.Context, id int64) (g *vigil.AlertGroup, err error) {
	defer s.db.op("alert_group.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermAlertRead); err != nil {
			return err
		}
		if g, err = tx.loadGroup(id); err != nil {
			return err
		}
		if g.Alerts, err = tx.groupAlerts(id, 500); err != nil {
			return err
		}
		if err := tx.hideUnseenAlertIncidents(g.Alerts...); err != nil {
			return err
		}
		return tx.fillGroupIncidents([]*vigil.AlertGroup{g})
	})
	return g, err
}

// FindAlerts lists alerts, newest first.
func (s *AlertService) FindAlerts(ctx context.Context, f vigil.AlertFilter) (out []*vigil.Alert, err error) {
	defer s.db.op("alert.find")(&err)
	if f.Limit <= 0 {
		f.Limit = 50
	} else if f.Limit > 500 {
		return nil, vigil.Invalid("limit", "At most 500 per page.")
	}
	if f.Offset < 0 {
		return nil, vigil.Invalid("offset", "The offset cannot be negative.")
	}
	for _, st := range f.Status {
		if st != vigil.AlertFiring && st != vigil.AlertResolved {
			return nil, vigil.Invalid("status", "Unknown alert status %q: firing or resolved.", st)
		}
	}
	out = []*vigil.Alert{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermAlertRead); err != nil {
			return err
		}
		where := []string{tx.alertVisible("a")}
		var args []any
		if f.GroupID != 0 {
			where, args = append(where, "a.group_id = ?"), append(args, f.GroupID)
		}
		if f.IntegrationID != 0 {
			where, args = append(where, "a.integration_id = ?"), append(args, f.IntegrationID)
		}
		if len(f.Status) > 0 {
			where = append(where, inClause("a.status", quoteAll(f.Status)))
		}
		out, err = queryAll(tx, noExtra(scanAlert), `SELECT `+alertColumns+alertFrom+` WHERE `+joinAnd(where)+` ORDER BY `+alertLastSeen+` DESC, a.id DESC LIMIT ? OFFSET ?`,
			append(args, f.Limit, f.Offset)...)
		if err != nil {
			return err
		}
		return tx.hideUnseenAlertIncidents(out...)
	})
	return out, err
}

// FindAlertByID returns an alert with its observables, where else each was
// seen, its occurrences and its raw JSON.
func (s *AlertService) FindAlertByID(ctx context.Context, id int64) (a *vigil.Alert, err error) {
	defer s.db.op("alert.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermAlertRead); err != nil {
			return err
		}
		var raw sql.NullString
		a, err = scanAlert(tx.queryRow(`SELECT `+alertColumns+`, a.raw`+alertFrom+` WHERE a.id = ? AND `+tx.alertVisible("a"), id), &raw)
		if errors.Is(err, sql.ErrNoRows) {
			return vigil.Errorf(vigil.ENOTFOUND, "Alert #%d not found.", id)
		} else if err != nil {
			return err
		}
		if raw.Valid {
			a.Raw = []byte(raw.String)
		}
		if err := tx.hideUnseenAlertIncidents(a); err != nil {
			return err
		}
		a.Occurrences, err = queryAll(tx, func(r rowScanner) (*vigil.AlertOccurrence, error) {
			var o vigil.AlertOccurrence
			err := r.Scan(&o.N, scanTime(&o.StartedAt), scanTime(&o.FirstSeen), scanNullTime(&o.ResolvedAt))
			return &o, err
		}, `SELECT n, started_at, first_seen, resolved_at FROM alert_occurrences WHERE alert_id = ? ORDER BY n DESC`, id)
		if err != nil {
			return err
		}
		if a.Evidence, err = tx.alertEvidence(id); err != nil {
			return err
		}
		return tx.fillAlertObservables(a)
	})
	return a, err
}

// fillAlertObservables lists an alert's observables with the other alerts
// and the incidents that hold the same values.
func (tx *Tx) fillAlertObservables(a *vigil.Alert) error {
	var err error
	a.Observables, err = queryAll(tx, func(r rowScanner) (*vigil.AlertObservable, error) {
		o := &vigil.AlertObservable{SeenAlerts: []vigil.AlertRef{}}
		return o, r.Scan(&o.Type, &o.Value)
	}, `SELECT type, value FROM alert_observables WHERE alert_id = ? ORDER BY type, value`, a.ID)
	if err != nil {
		return err
	}
	vis, vargs := tx.visible()
	for _, o := range a.Observables {
		if err := tx.queryRow(`SELECT COUNT(*) FROM alert_observables o JOIN alerts a ON a.id = o.alert_id
			WHERE o.type = ? AND o.value = ? AND o.alert_id <> ? AND `+tx.alertVisible("a"), o.Type, o.Value, a.ID).Scan(&o.SeenInAlerts); err != nil {
			return err
		}
		if o.SeenInAlerts > 0 {
			// Last seen as of the last fold of repeats (about a second
			// old in a storm): summing the unfolded repeats here, for
			// each observable, would cost more than this hint is worth.
			o.SeenAlerts, err = queryAll(tx, func(r rowScanner) (ref vigil.AlertRef, err error) {
				err = r.Scan(&ref.ID, &ref.Title, &ref.Status, scanTime(&ref.LastSeen))
				return ref, err
			}, `SELECT a.id, a.title, a.status, a.last_seen FROM alert_observables o JOIN alerts a ON a.id = o.alert_id
				WHERE o.type = ? AND o.value = ? AND o.alert_id <> ? AND `+tx.alertVisible("a")+` ORDER BY a.last_seen DESC, a.id DESC LIMIT 5`,
				o.Type, o.Value, a.ID)
			if err != nil {
				return err
			}
		}
		o.SeenIn, err = queryAll(tx, scanIncidentRef, `SELECT `+incidentRefColumns+` FROM observables ob JOIN incidents i ON i.id = ob.incident_id
			WHERE ob.type = ? AND ob.value = ? AND `+vis+` ORDER BY i.created_at DESC LIMIT 5`, append([]any{o.Type, o.Value}, vargs...)...)
		if err != nil {
			return err
		}
	}
	return nil
}
