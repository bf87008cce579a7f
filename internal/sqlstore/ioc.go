package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ir/vigil"
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
