package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// IOCService implements vigil.IOCService.
//
// Matching runs in rounds, from the worker. Each round reads on from a
// cursor per source (ioc_state): new indicator versions in collections
// become ioc_entries, one row per value their patterns name; new entries
// are looked for among the observables and alerts already seen
// (retro-hunting); new observables and alerts are looked up among the
// entries. A value seen in both directions in one round is one hit (a
// hit is unique per target, indicator and value).
type IOCService struct{ db *DB }

// entry is an indicator value to match.
type entry struct {
	id         int64
	coll       string
	stixID     string
	typ        vigil.ObservableType
	value      string
	name       string
	confidence *int64
	tlp        string
	tlpRank    int
	validUntil *time.Time
	createdAt  time.Time
	isBlock    bool // an address block
	isDomain   bool
	isAddress  bool
}

// seen is an observable or an alert's observable: what a hit is on.
type seen struct {
	target       string // o:<id> or a:<id>
	incidentID   *int64
	observableID *int64
	alertID      *int64
	typ          vigil.ObservableType
	value        string
	at           time.Time
}

type hit struct {
	s     seen
	e     *entry
	kind  vigil.MatchKind
	retro bool
}

// MatchIOCs runs one round: it indexes up to limit new indicator
// versions, retro-hunts up to limit new entries, and matches up to limit
// new observables and alerts.
func (s *IOCService) MatchIOCs(ctx context.Context, limit int) (st vigil.MatchStats, err error) {
	defer s.db.op("ioc.match")(&err)
	if err := vigil.Require(vigil.ActorFromContext(ctx), vigil.PermSettingsAdmin); err != nil {
		return st, err
	}
	if limit <= 0 {
		limit = 1000
	}
	// 1. Index new indicator versions (a write: entries are replaced).
	var cur cursors
	st, err = writeV(ctx, s.db, func(tx *Tx) (vigil.MatchStats, error) {
		var st vigil.MatchStats
		c, ok, err := tx.lockIOCState()
		if err != nil || !ok {
			return st, err
		}
		cur = c
		n, vals, more, err := tx.indexIndicators(&cur, limit)
		if err != nil {
			return st, err
		}
		st.Indicators, st.Values, st.More = n, vals, more
		_, err = tx.exec(`UPDATE ioc_state SET stix_seq = ? WHERE id = 1`, cur.stixSeq)
		return st, err
	})
	if err != nil {
		return st, err
	}
	// 2. Match in a read snapshot; 3. record what was found, moving the
	// cursors only if no other instance moved them meanwhile.
	var hits []hit
	next := cur
	indexing := st.More
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.queryRow(`SELECT stix_seq, entry_id, observable_id, alert_id FROM ioc_state WHERE id = 1`).
			Scan(&cur.stixSeq, &cur.entryID, &cur.observableID, &cur.alertID); err != nil {
			return err
		}
		next = cur
		// Retro-hunting may pass once over the addresses and names seen,
		// whatever the number of entries: it waits for indexing to catch
		// up, then reads ten times as many entries a round.
		if !indexing {
			h, more, err := tx.retroHunt(&next, 10*limit)
			if err != nil {
				return err
			}
			hits = append(hits, h...)
			st.More = st.More || more
		}
		h, checked, more, err := tx.matchNew(&next, limit)
		if err != nil {
			return err
		}
		hits = append(hits, h...)
		st.Checked = checked
		st.More = st.More || more
		return nil
	})
	if err != nil {
		return st, err
	}
	if next == cur {
		return st, nil
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		now, ok, err := tx.lockIOCState()
		if err != nil || !ok || now.entryID != cur.entryID || now.observableID != cur.observableID || now.alertID != cur.alertID {
			return err // another instance matched these meanwhile
		}
		st.Hits, err = tx.recordHits(hits)
		if err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE ioc_state SET entry_id = ?, observable_id = ?, alert_id = ? WHERE id = 1`,
			next.entryID, next.observableID, next.alertID)
		return err
	})
	return st, err
}

type cursors struct{ stixSeq, entryID, observableID, alertID int64 }

// lockIOCState reads the cursors, locked; ok is false when another
// instance holds them (PostgreSQL), so this one skips the round.
func (tx *Tx) lockIOCState() (c cursors, ok bool, err error) {
	err = tx.queryRow(`SELECT stix_seq, entry_id, observable_id, alert_id FROM ioc_state WHERE id = 1`+tx.db.d.SkipLocked).
		Scan(&c.stixSeq, &c.entryID, &c.observableID, &c.alertID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// settled is the newest time a row may carry to be read past by a
// cursor: rows written before it are committed in the order of their ids.
func (tx *Tx) settled() time.Time { return tx.now.Add(-tx.db.d.CommitLag) }

// indexIndicators turns new indicator versions into entries. The last
// version of an indicator replaces the entries of the earlier ones; a
// revoked indicator, one Vigil cannot match value by value, or one the
// organisation made itself (shared from its own incidents) has none.
func (tx *Tx) indexIndicators(cur *cursors, limit int) (n, vals int, more bool, err error) {
	p, err := tx.profile()
	if err != nil {
		return 0, 0, false, err
	}
	own := stix.IdentityID(p.Name)
	// Versions are read in seq order up to the first one not yet settled,
	// never past it: a batch's date_added times may lie ahead of the clock
	// (each batch keeps whole milliseconds to itself), so a later seq can
	// be settled before an earlier one, and a cursor moved past an
	// unsettled row would never come back for it.
	rows, err := tx.query(`SELECT seq, date_added, collection_id, stix_id, is_last, tlp, tlp_rank, body FROM stix_objects
		WHERE type = 'indicator' AND seq > ? ORDER BY seq LIMIT ?`, cur.stixSeq, limit+1)
	if err != nil {
		return 0, 0, false, err
	}
	type version struct {
		seq           int64
		coll, id, tlp string
		last          bool
		rank          int
		body          string
	}
	settled := tx.settled()
	var vs []version
	for rows.Next() {
		var v version
		var added time.Time
		if err := rows.Scan(&v.seq, scanTime(&added), &v.coll, &v.id, &v.last, &v.tlp, &v.rank, &v.body); err != nil {
			rows.Close()
			return 0, 0, false, err
		}
		if added.After(settled) {
			break // this one and those after it wait for a later round
		}
		vs = append(vs, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, false, err
	}
	if len(vs) > limit {
		vs, more = vs[:limit], true
	}
	// One DELETE per collection and one load of entries for the round:
	// on PostgreSQL a statement per indicator was most of its cost.
	replaced := map[string][]any{}
	var entries [][]any
	for _, v := range vs {
		cur.stixSeq = v.seq
		if !v.last {
			continue // an older version, added after the newest: the newest holds
		}
		n++
		replaced[v.coll] = append(replaced[v.coll], v.id)
		entries = append(entries, tx.entryRows(v.seq, v.coll, v.id, v.tlp, v.rank, v.body, own)...)
	}
	for coll, ids := range replaced {
		for chunk := range slices.Chunk(ids, 500) {
			if _, err := tx.exec(`DELETE FROM ioc_entries WHERE collection_id = ? AND stix_id IN (`+placeholders(len(chunk))+`)`,
				append([]any{coll}, chunk...)...); err != nil {
				return 0, 0, false, err
			}
		}
	}
	if err := tx.insertRows("ioc_entries", entryInsertColumns, entries); err != nil {
		return 0, 0, false, err
	}
	vals = len(entries)
	return n, vals, more, nil
}

// indexVersion makes an indicator version's entries the indicator's
// entries in its collection.
func (tx *Tx) indexVersion(seq int64, coll, id, tlp string, rank int, body, own string) error {
	if _, err := tx.exec(`DELETE FROM ioc_entries WHERE collection_id = ? AND stix_id = ?`, coll, id); err != nil {
		return err
	}
	return tx.insertRows("ioc_entries", entryInsertColumns, tx.entryRows(seq, coll, id, tlp, rank, body, own))
}

var entryInsertColumns = []string{"object_seq", "collection_id", "stix_id", "type", "value", "name", "confidence", "tlp", "tlp_rank",
	"valid_until", "created_at"}

// entryRows are the entries of an indicator version, one per value its
// pattern names: none when it is revoked, made by the organisation
// itself, or not matchable value by value.
func (tx *Tx) entryRows(seq int64, coll, id, tlp string, rank int, body, own string) [][]any {
	ind, err := stix.ReadIndicator([]byte(body))
	if err != nil || ind.Revoked || (ind.CreatedBy != "" && ind.CreatedBy == own) {
		return nil
	}
	var conf any
	if ind.Confidence != nil {
		conf = int64(*ind.Confidence)
	}
	var out [][]any
	for _, iv := range ind.Values {
		out = append(out, []any{seq, coll, id, iv.Type, iv.Value, truncate(ind.Name, 500), conf, tlp, rank, ind.ValidUntil, tx.now})
	}
	return out
}

// reindexIndicator makes the entries of an indicator follow its last
// version in the collection after versions were deleted: the entries of
// the version left last, or none when no version is left.
func (tx *Tx) reindexIndicator(coll, id string) error {
	var seq int64
	var tlp, body string
	var rank int
	err := tx.queryRow(`SELECT seq, tlp, tlp_rank, body FROM stix_objects WHERE collection_id = ? AND stix_id = ? AND is_last AND type = 'indicator'`,
		coll, id).Scan(&seq, &tlp, &rank, &body)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.exec(`DELETE FROM ioc_entries WHERE collection_id = ? AND stix_id = ?`, coll, id)
		return err
	} else if err != nil {
		return err
	}
	p, err := tx.profile()
	if err != nil {
		return err
	}
	return tx.indexVersion(seq, coll, id, tlp, rank, body, stix.IdentityID(p.Name))
}

const entryColumns = `id, collection_id, stix_id, type, value, name, confidence, tlp, tlp_rank, valid_until, created_at`

func scanEntry(r rowScanner) (*entry, error) {
	var e entry
	if err := r.Scan(&e.id, &e.coll, &e.stixID, &e.typ, &e.value, &e.name, scanNullInt(&e.confidence), &e.tlp, &e.tlpRank,
		scanNullTime(&e.validUntil), scanTime(&e.createdAt)); err != nil {
		return nil, err
	}
	switch e.typ {
	case vigil.ObsIPv4, vigil.ObsIPv6:
		e.isAddress = true
		e.isBlock = strings.Contains(e.value, "/")
	case vigil.ObsDomain:
		e.isDomain = true
	}
	return &e, nil
}

// live says an entry still holds at t.
func (e *entry) live(t time.Time) bool { return e.validUntil == nil || !e.validUntil.Before(t) }

type valueKey struct {
	typ   vigil.ObservableType
	value string
}

// retroHunt looks for new entries among what was seen before, by index:
// the same value by its own, and the addresses in a block, the names
// under a domain and the URLs naming an address by their scope keys.
func (tx *Tx) retroHunt(cur *cursors, limit int) ([]hit, bool, error) {
	es, err := queryAll(tx, scanEntry, `SELECT `+entryColumns+` FROM ioc_entries WHERE id > ? ORDER BY id LIMIT ?`, cur.entryID, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(es) > limit
	if more {
		es = es[:limit]
	}
	if len(es) == 0 {
		return nil, false, nil
	}
	cur.entryID = es[len(es)-1].id
	byKey := map[valueKey][]*entry{}
	byType := map[vigil.ObservableType][]string{}
	bits := map[vigil.ObservableType]map[int]bool{} // the block sizes the entries name, by address type
	for _, e := range es {
		if !e.live(tx.now) {
			continue
		}
		k := valueKey{e.typ, e.value}
		if byKey[k] == nil {
			byType[e.typ] = append(byType[e.typ], e.value)
		}
		byKey[k] = append(byKey[k], e)
		if e.isBlock {
			if bits[e.typ] == nil {
				bits[e.typ] = map[int]bool{}
			}
			_, n, _ := strings.Cut(e.value, "/")
			b, _ := strconv.Atoi(n)
			bits[e.typ][b] = true
		}
	}
	var hits []hit
	add := func(s seen, k vigil.MatchKey) {
		for _, e := range byKey[valueKey{k.Type, k.Value}] {
			hits = append(hits, hit{s: s, e: e, kind: k.Kind, retro: s.at.Before(e.createdAt)})
		}
	}
	// The same value, by index.
	for typ, values := range byType {
		for chunk := range slices.Chunk(values, 500) {
			err := tx.eachSeen(`ob.type = ? AND ob.value IN (`+placeholders(len(chunk))+`)`, `o.type = ? AND o.value IN (`+placeholders(len(chunk))+`)`,
				append([]any{typ}, anySlice(chunk)...), func(s seen) {
					add(s, vigil.MatchKey{Type: s.typ, Value: s.value, Kind: vigil.MatchExact})
				})
			if err != nil {
				return nil, false, err
			}
		}
	}
	// Blocks, parent domains and the URLs naming an address, by index:
	// each is a range of scope keys (vigil.ScopeRange). A value found in
	// several ranges is checked once, against every entry of the round.
	// Single keys (an address, for the URLs naming it) go in IN lists,
	// ranges in ORs, many to a query: on PostgreSQL each query is a round
	// trip.
	type scopeRange struct{ lo, hi string }
	var points []any
	var spans []scopeRange
	have := map[scopeRange]bool{}
	for _, e := range es {
		if !e.live(tx.now) || !(e.isAddress || e.isDomain) {
			continue
		}
		lo, hi, ok := vigil.ScopeRange(e.typ, e.value)
		if !ok || have[scopeRange{lo, hi}] {
			continue
		}
		have[scopeRange{lo, hi}] = true
		if lo == hi {
			points = append(points, lo)
		} else {
			spans = append(spans, scopeRange{lo, hi})
		}
	}
	checked := map[string]bool{}
	check := func(s seen) {
		k := s.target + "\x00" + string(s.typ) + "\x00" + s.value
		if checked[k] {
			return
		}
		checked[k] = true
		if s.typ == vigil.ObsIPv4 || s.typ == vigil.ObsIPv6 {
			// Only the block sizes the entries name (MatchKeys would
			// make every one from /1 up).
			for b := range bits[s.typ] {
				if v, ok := vigil.BlockKey(s.value, b); ok {
					add(s, vigil.MatchKey{Type: s.typ, Value: v, Kind: vigil.MatchCIDR})
				}
			}
			return
		}
		for _, k := range vigil.MatchKeys(s.typ, s.value) {
			if k.Kind != vigil.MatchExact {
				add(s, k)
			}
		}
	}
	for chunk := range slices.Chunk(points, 500) {
		in := ` IN (` + placeholders(len(chunk)) + `)`
		if err := tx.eachSeen(`ob.scope_key`+in, `o.scope_key`+in, chunk, check); err != nil {
			return nil, false, err
		}
	}
	for chunk := range slices.Chunk(spans, 50) {
		var ob, o []string
		var args []any
		for _, r := range chunk {
			ob, o = append(ob, `ob.scope_key BETWEEN ? AND ?`), append(o, `o.scope_key BETWEEN ? AND ?`)
			args = append(args, r.lo, r.hi)
		}
		if err := tx.eachSeen(`(`+strings.Join(ob, ` OR `)+`)`, `(`+strings.Join(o, ` OR `)+`)`, args, check); err != nil {
			return nil, false, err
		}
	}
	return hits, more, nil
}

// eachSeen calls fn for each incident observable (alias ob) matching
// obWhere and each alert observable (alias o) matching alertWhere, both
// with args.
func (tx *Tx) eachSeen(obWhere, alertWhere string, args []any, fn func(seen)) error {
	rows, err := tx.query(`SELECT ob.id, ob.incident_id, ob.type, ob.value, ob.created_at FROM observables ob WHERE `+obWhere, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		s, err := scanObservableSeen(rows)
		if err != nil {
			rows.Close()
			return err
		}
		fn(s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.query(`SELECT o.alert_id, o.type, o.value, a.first_seen FROM alert_observables o JOIN alerts a ON a.id = o.alert_id WHERE `+alertWhere, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanAlertSeen(rows)
		if err != nil {
			return err
		}
		fn(s)
	}
	return rows.Err()
}

// scanObservableSeen scans an incident observable: id, incident_id, type,
// value, created_at.
func scanObservableSeen(r rowScanner) (s seen, err error) {
	var id, inc int64
	if err := r.Scan(&id, &inc, &s.typ, &s.value, scanTime(&s.at)); err != nil {
		return s, err
	}
	s.target, s.observableID, s.incidentID = "o:"+strconv.FormatInt(id, 10), &id, &inc
	return s, nil
}

// scanAlertSeen scans an alert observable: alert_id, type, value, the
// alert's first_seen.
func scanAlertSeen(r rowScanner) (s seen, err error) {
	var id int64
	if err := r.Scan(&id, &s.typ, &s.value, scanTime(&s.at)); err != nil {
		return s, err
	}
	s.target, s.alertID = "a:"+strconv.FormatInt(id, 10), &id
	return s, nil
}

// matchNew looks up new observables and the observables of new alerts
// among the entries.
func (tx *Tx) matchNew(cur *cursors, limit int) ([]hit, int, bool, error) {
	more := false
	// New incident observables.
	ss, err := queryAll(tx, scanObservableSeen, `SELECT id, incident_id, type, value, created_at FROM observables WHERE id > ? AND created_at <= ? ORDER BY id LIMIT ?`,
		cur.observableID, tx.settled(), limit+1)
	if err != nil {
		return nil, 0, false, err
	}
	if len(ss) > limit {
		ss, more = ss[:limit], true
	}
	if len(ss) > 0 {
		cur.observableID = *ss[len(ss)-1].observableID
	}
	checked := len(ss)
	// New alerts: their observables.
	alerts, err := queryAll(tx, scanInt64, `SELECT id FROM alerts WHERE id > ? AND first_seen <= ? ORDER BY id LIMIT ?`, cur.alertID, tx.settled(), limit+1)
	if err != nil {
		return nil, 0, false, err
	}
	if len(alerts) > limit {
		alerts, more = alerts[:limit], true
	}
	if len(alerts) > 0 {
		cur.alertID = alerts[len(alerts)-1]
		checked += len(alerts)
		for chunk := range slices.Chunk(alerts, 500) {
			found, err := queryAll(tx, scanAlertSeen, `SELECT o.alert_id, o.type, o.value, a.first_seen FROM alert_observables o JOIN alerts a ON a.id = o.alert_id
				WHERE o.alert_id IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
			if err != nil {
				return nil, 0, false, err
			}
			ss = append(ss, found...)
		}
	}
	// Look every key of every value up, a type at a time.
	type want struct {
		s seen
		k vigil.MatchKey
	}
	byKey := map[valueKey][]want{}
	byType := map[vigil.ObservableType][]string{}
	for _, s := range ss {
		for _, k := range vigil.MatchKeys(s.typ, s.value) {
			vk := valueKey{k.Type, k.Value}
			if byKey[vk] == nil {
				byType[k.Type] = append(byType[k.Type], k.Value)
			}
			byKey[vk] = append(byKey[vk], want{s, k})
		}
	}
	var hits []hit
	for typ, values := range byType {
		for chunk := range slices.Chunk(values, 500) {
			es, err := queryAll(tx, scanEntry, `SELECT `+entryColumns+` FROM ioc_entries WHERE type = ? AND value IN (`+placeholders(len(chunk))+`)`,
				append([]any{typ}, anySlice(chunk)...)...)
			if err != nil {
				return nil, 0, false, err
			}
			for _, e := range es {
				if !e.live(tx.now) {
					continue
				}
				for _, w := range byKey[valueKey{e.typ, e.value}] {
					hits = append(hits, hit{s: w.s, e: e, kind: w.k.Kind, retro: w.s.at.Before(e.createdAt)})
				}
			}
		}
	}
	return hits, checked, more, nil
}

// recordHits stores hits not stored before (and whose observable or alert
// still exists), and writes one timeline entry per incident that has new
// ones. It returns how many were new.
func (tx *Tx) recordHits(hits []hit) (int, error) {
	n := 0
	byIncident := map[int64][]hit{}
	var incidents []int64
	for _, h := range hits {
		exists := `SELECT 1 FROM alerts WHERE id = ?`
		ref := h.s.alertID
		if h.s.observableID != nil {
			exists, ref = `SELECT 1 FROM observables WHERE id = ?`, h.s.observableID
		}
		var one int
		if err := tx.queryRow(exists, ref).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			continue // deleted since it was matched
		} else if err != nil {
			return n, err
		}
		res, err := tx.exec(`INSERT INTO ioc_hits (target, incident_id, observable_id, alert_id, type, value, seen_at, match, indicator_type,
			indicator_value, indicator_id, indicator_name, confidence, tlp, tlp_rank, collection_id, retro, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (target, indicator_id, indicator_value) DO NOTHING`,
			h.s.target, h.s.incidentID, h.s.observableID, h.s.alertID, h.s.typ, h.s.value, h.s.at, h.kind, h.e.typ, h.e.value,
			h.e.stixID, h.e.name, h.e.confidence, h.e.tlp, h.e.tlpRank, h.e.coll, h.retro, tx.now)
		if err != nil {
			return n, err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			continue
		}
		n++
		if h.s.incidentID != nil {
			id := *h.s.incidentID
			if byIncident[id] == nil {
				incidents = append(incidents, id)
			}
			byIncident[id] = append(byIncident[id], h)
		}
	}
	for _, id := range incidents {
		hs := byIncident[id]
		var b strings.Builder
		fmt.Fprintf(&b, "Threat intelligence: %d observable match(es) with indicators received from partners or feeds.", len(hs))
		for i, h := range hs {
			if i == 20 {
				fmt.Fprintf(&b, " And %d more.", len(hs)-20)
				break
			}
			fmt.Fprintf(&b, " %s %s matches %s", h.s.typ, h.s.value, describeEntry(h.e))
			if h.kind != vigil.MatchExact && h.e.tlpRank <= vigil.TLPAmberStrict.Rank() {
				fmt.Fprintf(&b, " (%s %s)", h.e.typ, h.e.value)
			}
			if h.retro {
				b.WriteString(", seen here before the indicator arrived")
			}
			b.WriteString(".")
		}
		if _, err := tx.addTimeline(id, vigil.KindIntel, tx.now, b.String(), nil); err != nil {
			return n, err
		}
		// One notification per incident per round; the message names no
		// indicator (a RED one among them stays in Vigil).
		if _, err := tx.emit(vigil.Event{Kind: vigil.EventIntelHit, IncidentID: id, Count: len(hs)}, ""); err != nil {
			return n, err
		}
	}
	return n, nil
}

// describeEntry names an indicator on a timeline, which every reader of
// the incident sees: a TLP:RED indicator only by its label.
func describeEntry(e *entry) string {
	if e.tlpRank > vigil.TLPAmberStrict.Rank() {
		return "an indicator marked TLP:RED"
	}
	s := "an indicator"
	if e.name != "" {
		s = strconv.Quote(e.name)
	}
	if e.confidence != nil {
		s += fmt.Sprintf(" (confidence %d)", *e.confidence)
	}
	return s
}

const hitColumns = `h.id, h.incident_id, h.observable_id, h.alert_id, h.type, h.value, h.seen_at, h.match, h.indicator_type, h.indicator_value,
	h.indicator_id, h.indicator_name, h.confidence, h.tlp, h.collection_id, h.retro, h.created_at, c.title,
	i.reference, i.title, i.status, a.title, coalesce(i.tlp, a.tlp), h.shared_at`

const hitFrom = ` FROM ioc_hits h JOIN taxii_collections c ON c.id = h.collection_id
	LEFT JOIN incidents i ON i.id = h.incident_id LEFT JOIN alerts a ON a.id = h.alert_id`

func scanHit(r rowScanner) (*vigil.IOCHit, error) {
	var h vigil.IOCHit
	var conf *int64
	var ref, title, status, alertTitle, seenTLP sql.NullString
	if err := r.Scan(&h.ID, scanNullInt(&h.IncidentID), scanNullInt(&h.ObservableID), scanNullInt(&h.AlertID), &h.Type, &h.Value,
		scanTime(&h.SeenAt), &h.Match, &h.IndicatorType, &h.IndicatorValue, &h.IndicatorID, &h.IndicatorName, scanNullInt(&conf),
		&h.TLP, &h.CollectionID, &h.Retro, scanTime(&h.CreatedAt), &h.Source, &ref, &title, &status, &alertTitle,
		&seenTLP, scanNullTime(&h.SharedAt)); err != nil {
		return nil, err
	}
	if conf != nil {
		c := int(*conf)
		h.Confidence = &c
	}
	if h.IncidentID != nil {
		h.Incident = &vigil.IncidentRef{ID: *h.IncidentID, Reference: ref.String, Title: title.String, Status: vigil.Status(status.String)}
	}
	h.AlertTitle, h.SeenTLP = alertTitle.String, vigil.TLP(seenTLP.String)
	return &h, nil
}

// hitVisible limits hits to those on incidents and alerts the actor may
// read, of indicators at a TLP it may read in collections.
func (tx *Tx) hitVisible() (string, []any, error) {
	a := tx.actor
	if a == nil {
		return "", nil, vigil.Errorf(vigil.EUNAUTHORIZED, "Log in.")
	}
	if a.PartnerID != 0 || a.Role == vigil.RoleReporter {
		return "", nil, vigil.Errorf(vigil.EFORBIDDEN, "You may not see threat intelligence hits.")
	}
	if err := tx.require(vigil.PermIncidentRead); err != nil {
		return "", nil, err
	}
	maxRank := vigil.TLPAmberStrict.Rank()
	if a.Role == vigil.RoleAdmin {
		maxRank = vigil.TLPRed.Rank()
	}
	vis, args := tx.visible()
	return `h.tlp_rank <= ? AND ((h.incident_id IS NOT NULL AND ` + vis + `) OR (h.alert_id IS NOT NULL AND ` + tx.alertVisible("a") + `))`,
		append([]any{maxRank}, args...), nil
}

// FindHits lists hits, newest first.
func (s *IOCService) FindHits(ctx context.Context, f vigil.HitFilter) (page *vigil.HitPage, err error) {
	defer s.db.op("ioc.hits")(&err)
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	page = &vigil.HitPage{Hits: []*vigil.IOCHit{}}
	err = s.db.read(ctx, func(tx *Tx) error {
		where, args, err := tx.hitVisible()
		if err != nil {
			return err
		}
		if f.IncidentID != 0 {
			where += ` AND h.incident_id = ?`
			args = append(args, f.IncidentID)
		}
		if f.AlertID != 0 {
			where += ` AND h.alert_id = ?`
			args = append(args, f.AlertID)
		}
		if f.Before > 0 {
			where += ` AND h.id < ?`
			args = append(args, f.Before)
		}
		page.Hits, err = queryAll(tx, scanHit, `SELECT `+hitColumns+hitFrom+` WHERE `+where+` ORDER BY h.id DESC LIMIT ?`, append(args, f.Limit+1)...)
		if err != nil {
			return err
		}
		if len(page.Hits) > f.Limit {
			page.Hits = page.Hits[:f.Limit]
			page.Next = page.Hits[f.Limit-1].ID
		}
		return tx.fillHitSources(page.Hits)
	})
	return page, err
}

// CountHitsByGroup counts the visible hits on each group's alerts.
func (s *IOCService) CountHitsByGroup(ctx context.Context, groupIDs []int64) (out map[int64]int, err error) {
	defer s.db.op("ioc.hits_by_group")(&err)
	out = map[int64]int{}
	if len(groupIDs) == 0 {
		return out, nil
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		where, args, err := tx.hitVisible()
		if err != nil {
			return err
		}
		out, err = queryMap(tx, func(r rowScanner) (g int64, n int, err error) {
			err = r.Scan(&g, &n)
			return g, n, err
		}, `SELECT a.group_id, count(*)`+hitFrom+` WHERE `+where+` AND h.alert_id IS NOT NULL AND a.group_id IN (`+
			placeholders(len(groupIDs))+`) GROUP BY a.group_id`, append(args, anySlice(groupIDs)...)...)
		return err
	})
	return out, err
}

// FindHit returns one hit.
func (s *IOCService) FindHit(ctx context.Context, id int64) (h *vigil.IOCHit, err error) {
	defer s.db.op("ioc.hit")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		where, args, err := tx.hitVisible()
		if err != nil {
			return err
		}
		h, err = scanHit(tx.queryRow(`SELECT `+hitColumns+hitFrom+` WHERE h.id = ? AND `+where, append([]any{id}, args...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return vigil.Errorf(vigil.ENOTFOUND, "Hit #%d not found.", id)
		} else if err != nil {
			return err
		}
		return tx.fillHitSources([]*vigil.IOCHit{h})
	})
	return h, err
}

// fillHitSources adds the feeds that fill each hit's collection to its
// source.
func (tx *Tx) fillHitSources(hs []*vigil.IOCHit) error {
	feeds := map[string]string{}
	for _, h := range hs {
		if _, ok := feeds[h.CollectionID]; ok {
			continue
		}
		names, err := queryAll(tx, scanString, `SELECT name FROM taxii_feeds WHERE collection_id = ? ORDER BY name`, h.CollectionID)
		if err != nil {
			return err
		}
		feeds[h.CollectionID] = strings.Join(names, ", ")
	}
	for _, h := range hs {
		if f := feeds[h.CollectionID]; f != "" {
			h.Source += " (feed " + f + ")"
		}
	}
	return nil
}

// ShareHit shares objects made of a hit (its sighting) to a collection.
func (s *IOCService) ShareHit(ctx context.Context, id int64, collectionID string, objs []*vigil.IncomingObject) (st *vigil.TAXIIStatus, err error) {
	defer s.db.op("ioc.share")(&err)
	st, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.TAXIIStatus, error) {
		var st *vigil.TAXIIStatus
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return st, err
		}
		where, args, err := tx.hitVisible()
		if err != nil {
			return st, err
		}
		h, err := scanHit(tx.queryRow(`SELECT `+hitColumns+hitFrom+` WHERE h.id = ? AND `+where, append([]any{id}, args...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return st, vigil.Errorf(vigil.ENOTFOUND, "Hit #%d not found.", id)
		} else if err != nil {
			return st, err
		}
		if st, err = tx.addToCollection(collectionID, objs, nil); err != nil {
			return st, err
		}
		if _, err := tx.exec(`UPDATE ioc_hits SET shared_at = ? WHERE id = ?`, tx.now, id); err != nil {
			return st, err
		}
		var title string
		tx.queryRow(`SELECT title FROM taxii_collections WHERE id = ?`, collectionID).Scan(&title)
		if h.IncidentID != nil {
			msg := fmt.Sprintf("Shared a sighting of indicator %s (matched by %s %s) to the TAXII collection %q.", h.IndicatorID, h.Type, h.Value, title)
			if _, err := tx.addTimeline(*h.IncidentID, vigil.KindSharing, tx.now, msg, nil); err != nil {
				return st, err
			}
		}
		tx.audit("ioc.share", "hit", id, nil, map[string]any{"collection": collectionID, "status": st.ID, "indicator": h.IndicatorID})
		return st, nil
	})
	return st, err
}

// scopeArg is an observed value's scope key as a query argument (NULL
// when it has none).
func scopeArg(t vigil.ObservableType, v string) any {
	if k := vigil.ScopeKey(t, v); k != "" {
		return k
	}
	return nil
}

// FillScopeKeys gives the observables and alert observables stored before
// scope keys existed theirs, in batches, once: migration 00023 left a
// settings row saying the work is pending, removed when it is done. It is
// safe to run on several instances at once.
func (db *DB) FillScopeKeys(ctx context.Context) error {
	var pending int
	if err := db.Read.QueryRowContext(ctx, db.rebind(`SELECT count(*) FROM settings WHERE key = 'scope_keys'`)).Scan(&pending); err != nil || pending == 0 {
		return err
	}
	ctx = vigil.NewContextWithActor(ctx, vigil.SystemActor("migration"))
	types := anySlice([]vigil.ObservableType{vigil.ObsIPv4, vigil.ObsIPv6, vigil.ObsDomain, vigil.ObsHostname, vigil.ObsEmail, vigil.ObsURL})
	in := `type IN (` + placeholders(len(types)) + `)`
	for _, t := range []struct{ table, key string }{{"observables", "id"}, {"alert_observables", "alert_id"}} {
		var last sql.NullInt64
		if err := db.Read.QueryRowContext(ctx, `SELECT max(`+t.key+`) FROM `+t.table).Scan(&last); err != nil {
			return err
		}
		for lo := int64(0); lo < last.Int64; lo += 1000 {
			err := db.write(ctx, func(tx *Tx) error {
				type row struct {
					id  int64
					typ vigil.ObservableType
					v   string
				}
				rs, err := queryAll(tx, func(sc rowScanner) (r row, err error) {
					err = sc.Scan(&r.id, &r.typ, &r.v)
					return r, err
				}, `SELECT `+t.key+`, type, value FROM `+t.table+` WHERE `+t.key+` > ? AND `+t.key+` <= ? AND `+in+` AND scope_key IS NULL`,
					append([]any{lo, lo + 1000}, types...)...)
				if err != nil {
					return err
				}
				for _, r := range rs {
					if k := scopeArg(r.typ, r.v); k != nil {
						if _, err := tx.exec(`UPDATE `+t.table+` SET scope_key = ? WHERE `+t.key+` = ? AND type = ? AND value = ?`, k, r.id, r.typ, r.v); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("fill scope keys of %s: %w", t.table, err)
			}
		}
	}
	return db.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`DELETE FROM settings WHERE key = 'scope_keys'`)
		return err
	})
}
