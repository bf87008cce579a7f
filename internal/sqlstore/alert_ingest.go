package sqlstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"golang.org/x/sync/errgroup"
)

// IngestAlerts stores alerts, all in one transaction. Concurrent calls are
// merged into one write (see ingestBatcher), which is what lets an alert
// storm of small requests through: the answer still comes only after the
// commit. Alerts are records of machine input, not of anyone's decision,
// so they are not audited one by one; promotions, and every human action
// on them, are.
func (s *AlertService) IngestAlerts(ctx context.Context, in *vigil.Integration, alerts []*vigil.AlertInput) (res *vigil.IngestResult, err error) {
	defer s.db.op("alert.ingest")(&err)
	if err := s.putAlertFiles(alerts); err != nil {
		return nil, err
	}
	req := &ingestReq{ctx: ctx, in: in, alerts: alerts, done: make(chan error, 1)}
	if err := s.db.ingester().submit(req); err != nil {
		return nil, err
	}
	return req.res, nil
}

// putAlertFiles stores the alerts' files in the blob store before the
// transaction (as AddEvidence does), so that no transaction waits on them;
// the transaction records each as evidence of its alert if the alert is
// new (a retry of the same message adds none). Empty files are dropped.
// Bytes the store holds already (a campaign's attachment, reported again)
// are not written again; the others are written side by side, each
// waiting on its own sync.
func (s *AlertService) putAlertFiles(alerts []*vigil.AlertInput) error {
	var g errgroup.Group
	for _, a := range alerts {
		if len(a.Files) == 0 {
			continue
		}
		blobs, err := s.db.blobs()
		if err != nil {
			return err
		}
		max := s.db.MaxEvidenceBytes
		if max <= 0 {
			max = vigil.DefaultMaxEvidenceBytes
		}
		kept := a.Files[:0]
		for _, f := range a.Files {
			if len(f.Content) == 0 {
				continue
			}
			kept = append(kept, f)
			if int64(len(f.Content)) <= max {
				s256, s1, m5 := sha256.Sum256(f.Content), sha1.Sum(f.Content), md5.Sum(f.Content)
				if sum := hex.EncodeToString(s256[:]); blobs.Exists(sum) {
					// The transaction checks again, after counting its
					// reference, that a deletion did not take it away.
					f.Evidence.Digests = vigil.Digests{Size: int64(len(f.Content)), SHA256: sum, SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])}
					continue
				}
			}
			g.Go(func() error {
				d, err := blobs.Put(bytes.NewReader(f.Content), max)
				if err != nil {
					if vigil.ErrorCode(err) == vigil.ESTORAGEFULL {
						s.db.noteFull(VolumeEvidence, err)
					}
					return err
				}
				f.Evidence.Digests = d
				return nil
			})
		}
		a.Files = kept
	}
	return g.Wait()
}

// integrationActor is who writes an integration's alerts: the integration
// itself, by name, in the timeline and audit log.
func integrationActor(in *vigil.Integration) *vigil.Actor {
	return vigil.SystemActor("integration:" + in.Name)
}

// alertKey names an alert across integrations.
type alertKey struct {
	integration int64
	fingerprint string
}

// ingestBatch writes a batch of requests. Repeats of firing alerts go first,
// in one UPDATE per integration; everything else (new alerts, resolutions,
// re-fires, and any fingerprint the batch also resolves) goes one by one in
// the order received.
func (tx *Tx) ingestBatch(reqs []*ingestReq) error {
	slots := make([][]slot, len(reqs))
	// How many times each fingerprint fires in the batch, and whether the
	// batch also resolves it (then order matters: no shortcut).
	fires := map[alertKey]int{}
	mixed := map[alertKey]bool{}
	for ri, r := range reqs {
		r.res = &vigil.IngestResult{Received: len(r.alerts), AlertIDs: make([]int64, len(r.alerts)),
			GroupIDs: make([]int64, len(r.alerts)), Promoted: []int64{}, Incidents: []int64{}}
		slots[ri] = make([]slot, len(r.alerts))
		for _, a := range r.alerts {
			k := alertKey{r.in.ID, a.Fingerprint}
			if a.Status == vigil.AlertFiring {
				fires[k]++
			} else {
				mixed[k] = true
			}
		}
	}
	// The shortcut: bump every firing alert the batch repeats.
	byIntegration := map[int64][]string{}
	for k := range fires {
		if !mixed[k] {
			byIntegration[k.integration] = append(byIntegration[k.integration], k.fingerprint)
		}
	}
	bumped := map[alertKey]slot{}
	// What the shortcut looked for and did not find is not firing: its
	// first alert in the batch need not look again.
	missed := map[alertKey]bool{}
	for integ, fps := range byIntegration {
		if err := tx.bumpFiring(integ, fps, fires, bumped); err != nil {
			return err
		}
		for _, fp := range fps {
			if _, ok := bumped[alertKey{integ, fp}]; !ok {
				missed[alertKey{integ, fp}] = true
			}
		}
	}
	for ri, r := range reqs {
		tx.actor = integrationActor(r.in)
		for ai, a := range r.alerts {
			k := alertKey{r.in.ID, a.Fingerprint}
			if s, ok := bumped[k]; ok {
				slots[ri][ai] = s
				r.res.Repeated++
				continue
			}
			notFiring := missed[k]
			delete(missed, k) // once written, it may be firing
			id, gid, err := tx.ingestAlert(r.in, a, r.res, notFiring)
			if err != nil {
				return err
			}
			slots[ri][ai] = slot{id, gid}
		}
		for ai, s := range slots[ri] {
			r.res.AlertIDs[ai], r.res.GroupIDs[ai] = s.id, s.gid
		}
	}
	return nil
}

// bumpFiring adds their repeats to the firing alerts of one integration
// among fps, recording each one found in bumped. The alerts are looked up
// with IN lists padded to a power of two (so that few statements are
// prepared); their repeats go to the alert_repeats log (see logRepeats).
func (tx *Tx) bumpFiring(integ int64, fps []string, fires map[alertKey]int, bumped map[alertKey]slot) error {
	var found []repeat
	for len(fps) > 0 {
		chunk := fps[:min(len(fps), 256)]
		fps = fps[len(chunk):]
		size := 8
		for size < len(chunk) {
			size *= 2
		}
		args := make([]any, 0, size+1)
		args = append(args, integ)
		for i := range size {
			fp := "" // padding: no alert has an empty fingerprint
			if i < len(chunk) {
				fp = chunk[i]
			}
			args = append(args, fp)
		}
		rows, err := tx.query(`SELECT fingerprint, id, group_id FROM alerts
			WHERE integration_id = ? AND status = 'firing' AND fingerprint IN (`+placeholders(size)+`)`, args...)
		if err != nil {
			return fmt.Errorf("repeat alerts: %w", err)
		}
		for rows.Next() {
			var fp string
			var s slot
			if err := rows.Scan(&fp, &s.id, &s.gid); err != nil {
				rows.Close()
				return err
			}
			bumped[alertKey{integ, fp}] = s
			found = append(found, repeat{s.id, fires[alertKey{integ, fp}]})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return tx.logRepeats(found)
}

// repeat is n repeats of a firing alert.
type repeat struct {
	alertID int64
	n       int
}

// logRepeats appends repeats to the alert_repeats log, in multi-row
// INSERTs of power-of-two sizes (so that few statements are prepared).
// The log is folded into the alerts about once a second (foldRepeats);
// until then reads add it. Appending a narrow row to one end of a table
// writes a page or two per batch, where rewriting each repeated alert's row
// wrote a page of the alerts table for nearly every repeat: most of the
// WAL of an alert storm, and of the checkpoints that copy it back.
func (tx *Tx) logRepeats(reps []repeat) error {
	for size := 256; len(reps) > 0; size /= 2 {
		for len(reps) >= size {
			args := make([]any, 0, 3*size)
			for _, r := range reps[:size] {
				args = append(args, r.alertID, r.n, tx.now)
			}
			q := `INSERT INTO alert_repeats (alert_id, n, last_seen) VALUES ` + strings.TrimSuffix(strings.Repeat(`(?, ?, ?), `, size), ", ")
			if _, err := tx.exec(q, args...); err != nil {
				return fmt.Errorf("log repeats: %w", err)
			}
			reps = reps[size:]
		}
	}
	return nil
}

// foldRepeats adds the alert_repeats log to the alerts' count and
// last_seen, and empties it, in one transaction.
func (tx *Tx) foldRepeats() error {
	for _, q := range tx.db.d.FoldRepeats {
		if _, err := tx.exec(q); err != nil {
			return fmt.Errorf("fold repeats: %w", err)
		}
	}
	return nil
}

// slot is where an alert of a batch ended up.
type slot struct{ id, gid int64 }

// ingestAlert deduplicates one alert. notFiring says the batch has just
// looked for a firing alert with its fingerprint and found none.
func (tx *Tx) ingestAlert(in *vigil.Integration, a *vigil.AlertInput, res *vigil.IngestResult, notFiring bool) (id, gid int64, err error) {
	if a.Status == vigil.AlertFiring {
		return tx.ingestFiring(in, a, res, notFiring)
	}
	return tx.ingestResolved(in, a, res)
}

// ingestFiring takes a firing alert: a repeat of a firing alert bumps it
// (one UPDATE); otherwise it is a new alert (one INSERT), or one that fires
// again after it was resolved.
func (tx *Tx) ingestFiring(in *vigil.Integration, a *vigil.AlertInput, res *vigil.IngestResult, notFiring bool) (id, gid int64, err error) {
	if !notFiring {
		if id, gid, ok, err := tx.repeatAlert(in, a); err != nil {
			return 0, 0, err
		} else if ok {
			res.Repeated++
			return id, gid, nil
		}
	}
	g, id, created, err := tx.newAlert(in, a)
	if err != nil {
		return 0, 0, err
	}
	if created {
		res.Created++
		return id, g.id, tx.afterJoin(in, g, id, a, "raised", res)
	}
	// Firing again after it was resolved: a new occurrence.
	var occ int
	var status vigil.AlertStatus
	if err := tx.queryRow(`SELECT id, occurrence, status FROM alerts WHERE integration_id = ? AND fingerprint = ?`,
		in.ID, a.Fingerprint).Scan(&id, &occ, &status); err != nil {
		return 0, 0, fmt.Errorf("find alert: %w", err)
	}
	if status == vigil.AlertFiring {
		// Raised by another instance's transaction since this one looked
		// (PostgreSQL); the batch is written again, request by request,
		// and then this is a repeat.
		return 0, 0, vigil.Errorf(vigil.ECONFLICT, "Alert %q was raised by another request at the same moment; retry.", a.Fingerprint)
	}
	occ++
	if _, err := tx.exec(`UPDATE alerts SET status = 'firing', occurrence = ?, count = count + 1, group_id = ?, title = ?,
		description = ?, severity = ?, tlp = ?, source_ref = ?, url = ?, labels = ?, raw = ?, started_at = ?, last_seen = ?,
		resolved_at = NULL, warnings = ? WHERE id = ?`, occ, g.id, a.Title, a.Description, a.Severity.Rank(), a.TLP, a.SourceRef, a.URL,
		mustJSON(a.Labels), rawArg(a), startTime(a, tx.now), tx.now, warningsArg(a.Warnings), id); err != nil {
		return 0, 0, fmt.Errorf("refire alert: %w", err)
	}
	if err := tx.addOccurrence(id, occ, g.id, a); err != nil {
		return 0, 0, err
	}
	if err := tx.addAlertObservables(id, a.Observables); err != nil {
		return 0, 0, err
	}
	res.Refired++
	return id, g.id, tx.afterJoin(in, g, id, a, "fired again", res)
}

// ingestResolved takes a resolution: of a firing alert, of one already
// resolved (a repeat in the result), or of one never seen firing (a new
// alert, resolved from the start). None adds to the alert's count, which
// counts firing notifications: how long and how loudly it fired.
func (tx *Tx) ingestResolved(in *vigil.Integration, a *vigil.AlertInput, res *vigil.IngestResult) (id, gid int64, err error) {
	var occ int
	var warnings []vigil.FieldError
	ended := endTime(a, tx.now)
	err = tx.queryRow(`UPDATE alerts SET status = 'resolved', last_seen = ?, resolved_at = ?
		WHERE integration_id = ? AND fingerprint = ? AND status = 'firing' RETURNING id, group_id, occurrence, warnings`,
		tx.now, ended, in.ID, a.Fingerprint).Scan(&id, &gid, &occ, scanJSON(&warnings))
	if err == nil {
		if _, err := tx.exec(`UPDATE alert_occurrences SET resolved_at = ? WHERE alert_id = ? AND n = ?`, ended, id, occ); err != nil {
			return 0, 0, fmt.Errorf("resolve occurrence: %w", err)
		}
		if len(a.Warnings) > 0 {
			// The occurrence's warnings: its start's, and now its end's.
			if _, err := tx.exec(`UPDATE alerts SET warnings = ? WHERE id = ?`, warningsArg(append(warnings, a.Warnings...)), id); err != nil {
				return 0, 0, fmt.Errorf("resolve alert: %w", err)
			}
		}
		res.Resolved++
		return id, gid, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("resolve alert: %w", err)
	}
	// Told again that it is resolved: heard of, not counted.
	err = tx.queryRow(`UPDATE alerts SET last_seen = ? WHERE integration_id = ? AND fingerprint = ? AND status <> 'firing'
		RETURNING id, group_id`, tx.now, in.ID, a.Fingerprint).Scan(&id, &gid)
	if err == nil {
		res.Repeated++
		return id, gid, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("repeat resolution: %w", err)
	}
	g, id, created, err := tx.newAlert(in, a)
	if err != nil {
		return 0, 0, err
	}
	if !created {
		// Raised by another instance's transaction since this one looked
		// (PostgreSQL); written again, this resolves it.
		return 0, 0, vigil.Errorf(vigil.ECONFLICT, "Alert %q was raised by another request at the same moment; retry.", a.Fingerprint)
	}
	res.Created++
	return id, g.id, tx.afterJoin(in, g, id, a, "raised", res)
}

// repeatAlert counts a repeat of a's alert, if the integration has one
// firing.
func (tx *Tx) repeatAlert(in *vigil.Integration, a *vigil.AlertInput) (id, gid int64, ok bool, err error) {
	err = tx.queryRow(`UPDATE alerts SET count = count + 1, last_seen = ?
		WHERE integration_id = ? AND fingerprint = ? AND status = 'firing' RETURNING id, group_id`, tx.now, in.ID, a.Fingerprint).Scan(&id, &gid)
	switch {
	case err == nil:
		return id, gid, true, nil
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, false, nil
	}
	return 0, 0, false, fmt.Errorf("repeat alert: %w", err)
}

// newAlert scans a for observables, puts it in its group, and adds it as
// a new alert unless the integration already has one with its fingerprint
// (created false: only the group was joined).
func (tx *Tx) newAlert(in *vigil.Integration, a *vigil.AlertInput) (g *groupRow, id int64, created bool, err error) {
	a.PrepareObservables()
	if g, err = tx.joinGroup(in, a); err != nil {
		return nil, 0, false, err
	}
	id, created, err = tx.insertAlert(in, a, g.id)
	return g, id, created, err
}

// insertAlert adds a as a new alert in group gid, with its first
// occurrence and its observables; created is false, and nothing written,
// if the integration already has an alert with a's fingerprint.
func (tx *Tx) insertAlert(in *vigil.Integration, a *vigil.AlertInput, gid int64) (id int64, created bool, err error) {
	// count is the firing notifications: none yet for an alert first
	// heard of resolved.
	var resolved any
	count := 1
	if a.Status == vigil.AlertResolved {
		resolved, count = tx.db.timeArg(endTime(a, tx.now)), 0
	}
	err = tx.queryRow(`INSERT INTO alerts (integration_id, group_id, fingerprint, status, title, description, severity, tlp,
		source_ref, url, labels, raw, count, occurrence, started_at, first_seen, last_seen, resolved_at, warnings)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (integration_id, fingerprint) DO NOTHING RETURNING id`,
		in.ID, gid, a.Fingerprint, a.Status, a.Title, a.Description, a.Severity.Rank(), a.TLP, a.SourceRef, a.URL,
		mustJSON(a.Labels), rawArg(a), count, startTime(a, tx.now), tx.now, tx.now, resolved, warningsArg(a.Warnings)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("insert alert: %w", err)
	}
	if err := tx.addOccurrence(id, 1, gid, a); err != nil {
		return 0, false, err
	}
	if err := tx.addAlertObservables(id, a.Observables); err != nil {
		return 0, false, err
	}
	for _, f := range a.Files {
		if err := tx.addAlertEvidence(id, &f.Evidence); err != nil {
			return 0, false, err
		}
	}
	return id, true, nil
}

func startTime(a *vigil.AlertInput, now time.Time) time.Time {
	if a.At.IsZero() || a.At.After(now) {
		return now
	}
	return vigil.TruncateTime(a.At)
}

func endTime(a *vigil.AlertInput, now time.Time) time.Time {
	if a.EndedAt.IsZero() || a.EndedAt.After(now) {
		return now
	}
	return vigil.TruncateTime(a.EndedAt)
}

// warningsArg is an alert's warnings as stored: NULL when there are none,
// as for nearly every alert.
func warningsArg(w []vigil.FieldError) any {
	if len(w) == 0 {
		return nil
	}
	return mustJSON(w)
}

func rawArg(a *vigil.AlertInput) any {
	if len(a.Raw) == 0 {
		return nil
	}
	return string(a.Raw)
}

func (tx *Tx) addOccurrence(alertID int64, n int, groupID int64, a *vigil.AlertInput) error {
	var resolved any
	if a.Status == vigil.AlertResolved {
		resolved = tx.db.timeArg(endTime(a, tx.now))
	}
	_, err := tx.exec(`INSERT INTO alert_occurrences (alert_id, n, group_id, started_at, first_seen, resolved_at) VALUES (?, ?, ?, ?, ?, ?)`,
		alertID, n, groupID, startTime(a, tx.now), tx.now, resolved)
	if err != nil {
		return fmt.Errorf("insert occurrence: %w", err)
	}
	return nil
}

func (tx *Tx) addAlertObservables(alertID int64, obs []vigil.ObservableInput) error {
	for _, o := range obs {
		if _, err := tx.exec(`INSERT INTO alert_observables (alert_id, type, value, scope_key) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			alertID, o.Type, o.Value, scopeArg(o.Type, o.Value)); err != nil {
			return fmt.Errorf("insert alert observable: %w", err)
		}
	}
	return nil
}

// groupRow is what ingest needs of an alert group.
type groupRow struct {
	id         int64
	state      vigil.GroupState
	severity   int
	tlp        vigil.TLP
	incidentID *int64
	count      int
	title      string
	created    bool
}

// joinGroup puts a into the open group its grouping key names, if that
// group saw an alert within the window, or into a new group.
//
// Under a rule that matches on any key (Match "any"), the alert has one key
// per value; it joins the open group, seen within the window, that holds
// any of them (the most recently seen), and the group takes all of them.
func (tx *Tx) joinGroup(in *vigil.Integration, a *vigil.AlertInput) (*groupRow, error) {
	if in.Grouping.Match == "any" {
		return tx.joinGroupAny(in, a)
	}
	key := in.Grouping.GroupKey(in.ID, a)
	since := tx.now.Add(-time.Duration(in.Grouping.Window))
	g := &groupRow{}
	err := tx.queryRow(`SELECT id, state, severity, tlp, incident_id, alert_count, title FROM alert_groups
		WHERE group_key = ? AND state IN ('new', 'acknowledged', 'promoted') AND last_seen >= ?
		ORDER BY last_seen DESC LIMIT 1`+tx.forUpdate(), key, since).
		Scan(&g.id, &g.state, &g.severity, &g.tlp, scanNullInt(&g.incidentID), &g.count, &g.title)
	return tx.joinFound(in, a, g, key, err)
}

func (tx *Tx) joinGroupAny(in *vigil.Integration, a *vigil.AlertInput) (*groupRow, error) {
	keys := in.Grouping.GroupKeys(in.ID, a)
	since := tx.now.Add(-time.Duration(in.Grouping.Window))
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, since)
	g := &groupRow{}
	err := tx.queryRow(`SELECT g.id, g.state, g.severity, g.tlp, g.incident_id, g.alert_count, g.title FROM alert_groups g
		WHERE g.id IN (SELECT group_id FROM alert_group_keys WHERE group_key IN (?`+strings.Repeat(", ?", len(keys)-1)+`))
		AND g.state IN ('new', 'acknowledged', 'promoted') AND g.last_seen >= ?
		ORDER BY g.last_seen DESC, g.id DESC LIMIT 1`+tx.forUpdateOf("g"), args...).
		Scan(&g.id, &g.state, &g.severity, &g.tlp, scanNullInt(&g.incidentID), &g.count, &g.title)
	g, err = tx.joinFound(in, a, g, keys[0], err)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if _, err := tx.exec(`INSERT INTO alert_group_keys (group_key, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, k, g.id); err != nil {
			return nil, fmt.Errorf("insert group key: %w", err)
		}
	}
	return g, nil
}

// joinFound joins the group found (err nil) or makes a new one with key
// (err sql.ErrNoRows).
func (tx *Tx) joinFound(in *vigil.Integration, a *vigil.AlertInput, g *groupRow, key string, err error) (*groupRow, error) {
	switch {
	case err == nil:
		g.severity = max(g.severity, a.Severity.Rank())
		g.tlp = stricterTLP(g.tlp, a.TLP)
		g.count++
		if _, err := tx.exec(`UPDATE alert_groups SET alert_count = ?, last_seen = ?, severity = ?, tlp = ?, updated_at = ? WHERE id = ?`,
			g.count, tx.now, g.severity, g.tlp, tx.now, g.id); err != nil {
			return nil, fmt.Errorf("join group: %w", err)
		}
		return g, nil
	case errors.Is(err, sql.ErrNoRows):
		g = &groupRow{state: vigil.GroupNew, severity: a.Severity.Rank(), tlp: a.TLP, count: 1, title: a.Title, created: true}
		g.id, err = tx.insert(`INSERT INTO alert_groups (group_key, integration_id, title, state, severity, tlp, alert_count, first_seen, last_seen, updated_at)
			VALUES (?, ?, ?, 'new', ?, ?, 1, ?, ?, ?)`, key, in.ID, a.Title, g.severity, g.tlp, tx.now, tx.now, tx.now)
		if err != nil {
			return nil, fmt.Errorf("insert group: %w", err)
		}
		return g, nil
	}
	return nil, fmt.Errorf("find group: %w", err)
}

// afterJoin records an alert that joined a group feeding an incident on
// that incident's timeline, or promotes the group if its rule says so.
func (tx *Tx) afterJoin(in *vigil.Integration, g *groupRow, alertID int64, a *vigil.AlertInput, what string, res *vigil.IngestResult) error {
	if g.incidentID != nil {
		msg := fmt.Sprintf("Alert #%d %s (%s, from %s): %s", alertID, what, a.Severity, in.Name, a.Title)
		if err := tx.recordAlertOnIncident(*g.incidentID, msg, a.Observables, a.TLP); err != nil {
			return err
		}
		if !slices.Contains(res.Incidents, *g.incidentID) {
			res.Incidents = append(res.Incidents, *g.incidentID)
		}
		return nil
	}
	if g.state != vigil.GroupNew && g.state != vigil.GroupAcknowledged {
		return nil
	}
	why := promotionReason(in.Promotion, g)
	if why == "" {
		return nil
	}
	incID, err := tx.promoteGroup(g.id, groupIncident{Type: in.DefaultType}, "Promoted automatically: "+why)
	if err != nil {
		return err
	}
	res.Promoted = append(res.Promoted, incID)
	res.Incidents = append(res.Incidents, incID)
	return nil
}

// promotionReason says which condition of r the group now meets, or "".
func promotionReason(r vigil.PromotionRule, g *groupRow) string {
	if r.MinSeverity != "" && g.severity >= r.MinSeverity.Rank() {
		return fmt.Sprintf("an alert of %s severity or higher.", r.MinSeverity)
	}
	if r.Count > 0 && g.count >= r.Count {
		return vigil.Plural(g.count, "alert", "alerts") + " in the group."
	}
	return ""
}
