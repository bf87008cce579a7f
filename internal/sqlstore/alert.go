package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// AlertService implements vigil.AlertService.
type AlertService struct{ db *DB }

// integrationActor is who writes an integration's alerts: the integration
// itself, by name, in the timeline and audit log.
func integrationActor(in *vigil.Integration) *vigil.Actor {
	return vigil.SystemActor("integration:" + in.Name)
}

// IngestAlerts stores alerts, all in one transaction. Concurrent calls are
// merged into one write (see ingestBatcher), which is what lets an alert
// storm of small requests through: the answer still comes only after the
// commit. Alerts are records of machine input, not of anyone's decision,
// so they are not audited one by one; promotions, and every human action
// on them, are.
func (s *AlertService) IngestAlerts(ctx context.Context, in *vigil.Integration, alerts []*vigil.AlertInput) (res *vigil.IngestResult, err error) {
	defer s.db.op("alert.ingest")(&err)
	req := &ingestReq{ctx: ctx, in: in, alerts: alerts, done: make(chan error, 1)}
	if err := s.db.ingester().submit(req); err != nil {
		return nil, err
	}
	return req.res, nil
}

// ingestReq is one IngestAlerts call waiting for its batch.
type ingestReq struct {
	ctx    context.Context
	in     *vigil.Integration
	alerts []*vigil.AlertInput
	res    *vigil.IngestResult
	done   chan error
}

// ingestBatcher merges concurrent intake calls into one write operation:
// one transaction (one group-commit operation on SQLite) for many requests,
// and the repeats of firing alerts among them in one UPDATE per integration.
// It runs one batch at a time; the next one gathers while it does.
type ingestBatcher struct {
	db    *DB
	queue chan *ingestReq
	stop  chan struct{}
	done  chan struct{}
	// repeats is about how many repeats were logged since the last fold
	// of the alert_repeats log, at folded.
	repeats int
	folded  time.Time
}

// maxIngestBatch bounds the alerts in one batch. A batch of fewer than
// ingestLingerBelow requests waits up to ingestLinger for more. The log of
// repeats is folded into the alerts every foldEvery, or sooner once it
// holds foldAt repeats: every read of an alert sums the log, so its size
// bounds what that costs (~2.5 ms at 5,000 rows, 9 ms at 24,000).
const (
	maxIngestBatch    = 4000
	ingestLingerBelow = 16
	ingestLinger      = 500 * time.Microsecond
	foldEvery         = time.Second
	foldAt            = 5000
)

func (db *DB) ingester() *ingestBatcher {
	db.ingestOnce.Do(func() {
		db.ingest = &ingestBatcher{db: db, queue: make(chan *ingestReq, 1024), stop: make(chan struct{}), done: make(chan struct{}),
			repeats: 1} // what an earlier process left, folded with the first batch
		go db.ingest.run()
	})
	return db.ingest
}

func (b *ingestBatcher) close() {
	close(b.stop)
	<-b.done
}

func (b *ingestBatcher) submit(r *ingestReq) error {
	select {
	case b.queue <- r:
	case <-r.ctx.Done():
		return r.ctx.Err()
	case <-b.stop:
		return errClosed
	}
	// Once queued, the request is written or refused as a whole; its
	// caller waits for the outcome even if its context ends, or until the
	// batcher has stopped without taking it.
	select {
	case err := <-r.done:
		return err
	case <-b.done:
		select {
		case err := <-r.done:
			return err
		default:
			return errClosed
		}
	}
}

func (b *ingestBatcher) run() {
	defer close(b.done)
	idle := time.NewTimer(foldEvery)
	defer idle.Stop()
	for {
		var first *ingestReq
		idle.Reset(foldEvery)
		select {
		case first = <-b.queue:
		case <-idle.C:
			// Quiet: fold what the last batches logged.
			if b.repeats > 0 {
				b.fold()
			}
			continue
		case <-b.stop:
			for {
				select {
				case r := <-b.queue:
					r.done <- errClosed
				default:
					return
				}
			}
		}
		batch, n := []*ingestReq{first}, len(first.alerts)
		// Gather what is queued; when that is little, linger a moment for
		// more, as a storm of small requests arrives just behind: one
		// commit for many requests is what keeps up with it.
		linger := time.NewTimer(ingestLinger)
	fill:
		for n < maxIngestBatch {
			select {
			case r := <-b.queue:
				batch, n = append(batch, r), n+len(r.alerts)
				continue
			default:
			}
			if len(batch) >= ingestLingerBelow {
				break fill
			}
			select {
			case r := <-b.queue:
				batch, n = append(batch, r), n+len(r.alerts)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		live := batch[:0:0]
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				r.done <- err
			} else {
				live = append(live, r)
			}
		}
		if len(live) == 0 {
			continue
		}
		ctx := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("intake"))
		err := b.db.write(ctx, func(tx *Tx) error { return tx.ingestBatch(live) })
		if err != nil && (len(live) > 1 || vigil.ErrorCode(err) == vigil.ECONFLICT) {
			// One request's failure must not fail the others: the batch
			// rolled back whole, so write each request on its own.
			for _, r := range live {
				err := b.writeAlone(ctx, r)
				if err == nil {
					b.repeats += r.res.Repeated // before the caller has it
				}
				r.done <- err
			}
		} else {
			for _, r := range live {
				if err == nil {
					b.repeats += r.res.Repeated // before the caller has it
				}
				r.done <- err
			}
		}
		if b.repeats > 0 && (b.repeats >= foldAt || time.Since(b.folded) >= foldEvery) {
			b.fold()
		}
	}
}

// fold adds the alert_repeats log to the alerts. If it fails, nothing is
// lost: reads still add the log, and the next fold takes it up.
func (b *ingestBatcher) fold() {
	var err error
	defer b.db.op("alert.fold")(&err)
	ctx := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("intake"))
	err = b.db.write(ctx, func(tx *Tx) error { return tx.foldRepeats() })
	b.folded = time.Now()
	if err == nil {
		b.repeats = 0
	}
}

// writeAlone writes one request in a transaction of its own. A conflict
// (another instance on the same PostgreSQL database raised the same new
// alert in the same instant) is tried again, as the alert is then a
// repeat; so a tool is not told to give up on notifications that would
// store fine (Alertmanager does not retry a 4xx).
func (b *ingestBatcher) writeAlone(ctx context.Context, r *ingestReq) error {
	var err error
	for range 3 {
		err = b.db.write(ctx, func(tx *Tx) error { return tx.ingestBatch([]*ingestReq{r}) })
		if vigil.ErrorCode(err) != vigil.ECONFLICT {
			return err
		}
	}
	return err
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
		if id, gid, ok, err := tx.repeatAlert(in, a, ` AND status = 'firing'`); err != nil {
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
		resolved_at = NULL WHERE id = ?`, occ, g.id, a.Title, a.Description, a.Severity.Rank(), a.TLP, a.SourceRef, a.URL,
		mustJSON(a.Labels), rawArg(a), startTime(a, tx.now), tx.now, id); err != nil {
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
// resolved (counted as a repeat), or of one never seen firing (a new alert,
// resolved from the start).
func (tx *Tx) ingestResolved(in *vigil.Integration, a *vigil.AlertInput, res *vigil.IngestResult) (id, gid int64, err error) {
	var occ int
	ended := endTime(a, tx.now)
	err = tx.queryRow(`UPDATE alerts SET status = 'resolved', count = count + 1, last_seen = ?, resolved_at = ?
		WHERE integration_id = ? AND fingerprint = ? AND status = 'firing' RETURNING id, group_id, occurrence`,
		tx.now, ended, in.ID, a.Fingerprint).Scan(&id, &gid, &occ)
	if err == nil {
		if _, err := tx.exec(`UPDATE alert_occurrences SET resolved_at = ? WHERE alert_id = ? AND n = ?`, ended, id, occ); err != nil {
			return 0, 0, fmt.Errorf("resolve occurrence: %w", err)
		}
		res.Resolved++
		return id, gid, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("resolve alert: %w", err)
	}
	if id, gid, ok, err := tx.repeatAlert(in, a, ` AND status <> 'firing'`); err != nil {
		return 0, 0, err
	} else if ok {
		// Told again that it is resolved.
		res.Repeated++
		return id, gid, nil
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
// (and it meets cond, "" or " AND …").
func (tx *Tx) repeatAlert(in *vigil.Integration, a *vigil.AlertInput, cond string) (id, gid int64, ok bool, err error) {
	err = tx.queryRow(`UPDATE alerts SET count = count + 1, last_seen = ?
		WHERE integration_id = ? AND fingerprint = ?`+cond+` RETURNING id, group_id`, tx.now, in.ID, a.Fingerprint).Scan(&id, &gid)
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
	var resolved any
	if a.Status == vigil.AlertResolved {
		resolved = tx.db.timeArg(endTime(a, tx.now))
	}
	err = tx.queryRow(`INSERT INTO alerts (integration_id, group_id, fingerprint, status, title, description, severity, tlp,
		source_ref, url, labels, raw, count, occurrence, started_at, first_seen, last_seen, resolved_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?, ?)
		ON CONFLICT (integration_id, fingerprint) DO NOTHING RETURNING id`,
		in.ID, gid, a.Fingerprint, a.Status, a.Title, a.Description, a.Severity.Rank(), a.TLP, a.SourceRef, a.URL,
		mustJSON(a.Labels), rawArg(a), startTime(a, tx.now), tx.now, tx.now, resolved).Scan(&id)
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
func (tx *Tx) joinGroup(in *vigil.Integration, a *vigil.AlertInput) (*groupRow, error) {
	key := in.Grouping.GroupKey(in.ID, a)
	since := tx.now.Add(-time.Duration(in.Grouping.Window))
	g := &groupRow{}
	err := tx.queryRow(`SELECT id, state, severity, tlp, incident_id, alert_count, title FROM alert_groups
		WHERE group_key = ? AND state IN ('new', 'acknowledged', 'promoted') AND last_seen >= ?
		ORDER BY last_seen DESC LIMIT 1`+tx.forUpdate(), key, since).
		Scan(&g.id, &g.state, &g.severity, &g.tlp, scanNullInt(&g.incidentID), &g.count, &g.title)
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

func stricterTLP(a, b vigil.TLP) vigil.TLP {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
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
		return fmt.Sprintf("%d alerts in the group.", g.count)
	}
	return ""
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
		Summary: fmt.Sprintf("From alert group #%d: %d alerts. %s", g.ID, g.AlertCount, why),
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
	fmt.Fprintf(&b, "Alert group #%d (%d alerts) %s:", g.ID, g.AlertCount, what)
	for i, a := range alerts {
		if i == 20 {
			fmt.Fprintf(&b, "\n… and %d more.", len(alerts)-i)
			break
		}
		fmt.Fprintf(&b, "\n- Alert #%d (%s, %s, seen %d times): %s", a.ID, a.Severity, a.Status, a.Count, a.Title)
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

func firstNonEmpty[T ~string](vs ...T) T {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// --- reads ---

// alertVisible limits alerts or groups (alias) to those the actor may see:
// TLP:RED ones only to administrators and managers, who own triage of
// what may not be shared.
func (tx *Tx) alertVisible(alias string) string {
	switch {
	case tx.vis.None:
		return "1=0"
	case tx.vis.All || (tx.actor != nil && tx.actor.Role == vigil.RoleManager):
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
	a.severity, a.tlp, a.source_ref, a.url, a.labels, a.count + COALESCE(p.n, 0), a.occurrence, a.started_at, a.first_seen, ` + alertLastSeen + `, a.resolved_at`
	alertFrom = ` FROM alerts a JOIN integrations n ON n.id = a.integration_id JOIN alert_groups g ON g.id = a.group_id
	LEFT JOIN (SELECT alert_id, CAST(SUM(n) AS BIGINT) AS n, MAX(last_seen) AS last_seen FROM alert_repeats GROUP BY alert_id) p ON p.alert_id = a.id`
)

func scanAlert(r rowScanner, extra ...any) (*vigil.Alert, error) {
	var a vigil.Alert
	var sev int
	dest := []any{&a.ID, &a.IntegrationID, &a.IntegrationName, &a.Kind, &a.GroupID, scanNullInt(&a.IncidentID), &a.Fingerprint,
		&a.Status, &a.Title, &a.Description, &sev, &a.TLP, &a.SourceRef, &a.URL, scanJSON(&a.Labels), &a.Count, &a.Occurrence,
		scanTime(&a.StartedAt), scanTime(&a.FirstSeen), scanTime(&a.LastSeen), scanNullTime(&a.ResolvedAt)}
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
// see them.
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
			g.Incident = refs[*g.IncidentID]
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
		return err
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
		a.Occurrences, err = queryAll(tx, func(r rowScanner) (*vigil.AlertOccurrence, error) {
			var o vigil.AlertOccurrence
			err := r.Scan(&o.N, scanTime(&o.StartedAt), scanTime(&o.FirstSeen), scanNullTime(&o.ResolvedAt))
			return &o, err
		}, `SELECT n, started_at, first_seen, resolved_at FROM alert_occurrences WHERE alert_id = ? ORDER BY n DESC`, id)
		if err != nil {
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

// --- triage actions ---

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
