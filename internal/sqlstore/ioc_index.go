package sqlstore

import (
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// indexIndicators turns new indicator versions into entries. The last
// version of an indicator replaces the entries of the earlier ones; a
// revoked indicator, one Vigil cannot match value by value, or one the
// organisation made itself (shared from its own incidents) has none.
func (tx *Tx) indexIndicators(cur *cursors, limit int) (n, vals int, more bool, err error) {
	p, err := tx.profile(vigil.DefaultOrganisationID)
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
	if tlp == "" && rank >= 0 && rank < len(vigil.TLPs) {
		// Unmarked: the TLP it is shared and matched at (unmarkedRank),
		// so that a hit on it says so rather than "".
		tlp = string(vigil.TLPs[rank])
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
	p, err := tx.profile(vigil.DefaultOrganisationID)
	if err != nil {
		return err
	}
	return tx.indexVersion(seq, coll, id, tlp, rank, body, stix.IdentityID(p.Name))
}
