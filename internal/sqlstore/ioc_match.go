package sqlstore

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

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
