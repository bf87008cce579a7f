package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vigil-ir/vigil"
)

// SharingService implements vigil.SharingService.
type SharingService struct{ db *DB }

// unmarkedRank is the TLP rank an object without a TLP marking is shared
// at: AMBER, so that nothing unlabelled reaches a partner cleared only for
// GREEN.
const unmarkedRank = 2

func tlpRank(t vigil.TLP) int {
	if t == "" {
		return unmarkedRank
	}
	return t.Rank()
}

// access is what the actor may do with a collection, and the highest TLP
// rank it may read. A partner without access to a collection, or a
// collection that does not exist, is ENOTFOUND: a partner learns nothing of
// collections it was not given.
type access struct {
	read, write bool
	maxRank     int
}

func (tx *Tx) collectionAccess(id string) (access, error) {
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM taxii_collections WHERE id = ?`, id).Scan(&n); err != nil {
		return access{}, err
	}
	notFound := vigil.Errorf(vigil.ENOTFOUND, "No collection %q.", id)
	if n == 0 {
		return access{}, notFound
	}
	a := tx.actor
	switch {
	case a == nil:
		return access{}, vigil.Errorf(vigil.EUNAUTHORIZED, "Log in.")
	case a.PartnerID != 0:
		var revoked bool
		if err := tx.queryRow(`SELECT revoked FROM partners WHERE id = ?`, a.PartnerID).Scan(&revoked); err != nil || revoked {
			return access{}, vigil.Errorf(vigil.EUNAUTHORIZED, "Unknown or revoked partner credentials.")
		}
		var acc access
		err := tx.queryRow(`SELECT can_read, can_write FROM partner_access WHERE partner_id = ? AND collection_id = ?`, a.PartnerID, id).
			Scan(&acc.read, &acc.write)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !acc.read && !acc.write) {
			return access{}, notFound
		}
		acc.maxRank = min(a.PartnerTLP.Rank(), vigil.TLPAmber.Rank())
		return acc, err
	}
	if a.Role == vigil.RoleReporter {
		return access{}, notFound // reporters see only their own reports, not the organisation's intelligence
	}
	// The collections are the default organisation's, used through a
	// role in it (docs/organisations.md).
	acc := access{read: a.CanIn(vigil.DefaultOrganisationID, vigil.PermIncidentRead), write: a.CanIn(vigil.DefaultOrganisationID, vigil.PermIncidentEdit),
		maxRank: vigil.TLPAmberStrict.Rank()}
	if a.Role == vigil.RoleAdmin {
		acc.maxRank = vigil.TLPRed.Rank()
	}
	if !acc.read && !acc.write {
		return access{}, notFound
	}
	return acc, nil
}

// CreateCollection adds a collection (admins).
func (s *SharingService) CreateCollection(ctx context.Context, c *vigil.Collection) (err error) {
	defer s.db.op("collection.create")(&err)
	if err := c.Validate(); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		if c.ID == "" {
			c.ID = uuid.NewString()
		} else if _, err := uuid.Parse(c.ID); err != nil {
			return vigil.Invalid("id", "A collection id is a UUID.")
		}
		c.CreatedAt, c.CanRead, c.CanWrite = tx.now, true, true
		if _, err := tx.exec(`INSERT INTO taxii_collections (id, title, description, created_at) VALUES (?, ?, ?, ?)`,
			c.ID, c.Title, c.Description, tx.now); err != nil {
			return err
		}
		tx.audit("collection.create", "collection", 0, nil, c)
		return nil
	})
}

// FindCollections lists the collections the actor may use.
func (s *SharingService) FindCollections(ctx context.Context) (out []*vigil.Collection, err error) {
	defer s.db.op("collection.list")(&err)
	out = []*vigil.Collection{}
	err = s.db.read(ctx, func(tx *Tx) error {
		ids, err := queryAll(tx, scanString, `SELECT id FROM taxii_collections ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		for _, id := range ids {
			c, err := tx.findCollection(id)
			if vigil.ErrorCode(err) == vigil.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			out = append(out, c)
		}
		if tx.actor == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "Log in.")
		}
		return nil
	})
	return out, err
}

func (tx *Tx) findCollection(id string) (*vigil.Collection, error) {
	acc, err := tx.collectionAccess(id)
	if err != nil {
		return nil, err
	}
	c := &vigil.Collection{ID: id, CanRead: acc.read, CanWrite: acc.write}
	err = tx.queryRow(`SELECT title, description, created_at FROM taxii_collections WHERE id = ?`, id).Scan(&c.Title, &c.Description, scanTime(&c.CreatedAt))
	return c, err
}

// FindCollection returns one collection the actor may use.
func (s *SharingService) FindCollection(ctx context.Context, id string) (c *vigil.Collection, err error) {
	defer s.db.op("collection.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		c, err = tx.findCollection(id)
		return err
	})
	return c, err
}

// AddObjects stores a batch of objects in a collection in one
// transaction. Objects get strictly increasing date_added times (the
// collection row is locked), so added_after and the page cursor see them
// in the order they were added, and paging is stable while more arrive.
// A version already in the collection is a success, stored once.
func (s *SharingService) AddObjects(ctx context.Context, collectionID string, objs []*vigil.IncomingObject, into *vigil.TAXIIStatus) (st *vigil.TAXIIStatus, err error) {
	defer s.db.op("stix.add")(&err)
	st, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.TAXIIStatus, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var st *vigil.TAXIIStatus
		st, err = tx.addToCollection(collectionID, objs, into)
		return st, err
	})
	if err == nil {
		s.db.afterStixAdded(ctx, len(objs))
	}
	return st, err
}

// afterStixAdded refreshes the planner's statistics of stix_objects on
// PostgreSQL as it grows (after 10,000 objects added by this process, then
// 20,000, 40,000, …): a big import into an empty table otherwise leaves
// the planner thinking it small until autovacuum comes round, and it then
// scans whole collections for what an index finds (seen: pages of GET
// objects at 150 ms instead of a few). It runs beside the import, which
// it would otherwise hold up for a fraction of a second each time.
func (db *DB) afterStixAdded(ctx context.Context, n int) {
	if db.d.Name != "postgres" {
		return
	}
	total := db.stixAdded.Add(int64(n))
	at := db.stixAnalyzeAt.Load()
	next := at
	if next == 0 {
		next = 10000
	}
	if total < next || !db.stixAnalyzeAt.CompareAndSwap(at, next*2) {
		return // not yet, or another request is refreshing them
	}
	go db.Write.ExecContext(context.WithoutCancel(ctx), `ANALYZE stix_objects`)
}

// PublishIncident adds objects exported from an incident to a collection
// and records it on the incident's timeline, in one transaction.
func (s *SharingService) PublishIncident(ctx context.Context, incidentID int64, collectionID string, objs []*vigil.IncomingObject) (st *vigil.TAXIIStatus, err error) {
	defer s.db.op("stix.publish")(&err)
	st, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.TAXIIStatus, error) {
		var st *vigil.TAXIIStatus
		if err := tx.require(vigil.PermIncidentEdit); err != nil {
			return st, err
		}
		inc, err := tx.findIncidentByID(incidentID)
		if err != nil {
			return st, err
		}
		if err := sharable(inc); err != nil {
			return st, err
		}
		if st, err = tx.addToCollection(collectionID, objs, nil); err != nil {
			return st, err
		}
		var title string
		tx.queryRow(`SELECT title FROM taxii_collections WHERE id = ?`, collectionID).Scan(&title)
		types := map[string]int{}
		for _, o := range objs {
			types[o.Type]++
		}
		msg := fmt.Sprintf("Shared %d indicators (%d STIX objects in all) to the TAXII collection %q; %d were there already.",
			types["indicator"], len(objs), title, countMessages(st.Successes))
		if _, err := tx.addTimeline(inc.ID, vigil.KindSharing, tx.now, msg, nil); err != nil {
			return st, err
		}
		tx.audit("stix.publish", "incident", inc.ID, nil, map[string]any{"collection": collectionID, "status": st.ID, "objects": len(objs)})
		return st, nil
	})
	return st, err
}

// sharable refuses to share what was seen in another organisation's
// incident: the collections are the default organisation's, and another
// organisation's intelligence goes out only through it
// (docs/organisations.md, "Sharing across members").
func sharable(inc *vigil.Incident) error {
	if inc.OrganisationID != vigil.DefaultOrganisationID {
		return vigil.Errorf(vigil.EFORBIDDEN, "Only the default organisation's incidents are shared through its TAXII collections.")
	}
	return nil
}

func countMessages(ds []vigil.StatusDetail) int {
	n := 0
	for _, d := range ds {
		if d.Message != "" {
			n++
		}
	}
	return n
}

// addToCollection is AddObjects inside a transaction.
func (tx *Tx) addToCollection(collectionID string, objs []*vigil.IncomingObject, into *vigil.TAXIIStatus) (st *vigil.TAXIIStatus, err error) {
	acc, err := tx.collectionAccess(collectionID)
	if err != nil {
		return nil, err
	}
	if !acc.write {
		return nil, vigil.Errorf(vigil.EFORBIDDEN, "You may not add objects to this collection.")
	}
	var last *time.Time
	if err := tx.queryRow(`SELECT last_added FROM taxii_collections WHERE id = ?`+tx.forUpdate(), collectionID).Scan(scanNullTime(&last)); err != nil {
		return nil, err
	}
	next := tx.now
	if last != nil && !next.After(*last) {
		next = last.Add(time.Microsecond)
	}
	fresh := into == nil || into.ID == ""
	if fresh {
		st = &vigil.TAXIIStatus{ID: uuid.NewString(), Status: vigil.StatusComplete, RequestTimestamp: tx.now,
			Successes: []vigil.StatusDetail{}, Failures: []vigil.StatusDetail{}, Pendings: []vigil.StatusDetail{}}
	} else {
		cp := *into
		cp.Successes, cp.Failures = slices.Clone(into.Successes), slices.Clone(into.Failures)
		st = &cp
	}
	st.TotalCount += len(objs)
	failures := 0
	var valid []*vigil.IncomingObject
	for _, o := range objs {
		if o.Err != nil {
			failures++
			if st.FailureCount+failures > MaxStatusDetails {
				continue
			}
			v := o.Version
			if v.IsZero() {
				v = tx.now
			}
			st.Failures = append(st.Failures, vigil.StatusDetail{ID: o.ID, Version: versionString(v), Message: o.Err.Error()})
			continue
		}
		valid = append(valid, o)
	}
	before := len(st.Successes)
	omitted := st.SuccessCount > len(st.Successes)
	added, err := tx.addObjects(collectionID, valid, next, st)
	successes := len(st.Successes) - before
	if omitted {
		st.Successes = nil
	}
	if err != nil {
		return nil, err
	}
	st.SuccessCount += successes
	st.FailureCount += failures
	if st.SuccessCount > MaxStatusDetails {
		// A big import lists its failures, not a million successes:
		// success_count says how many (TAXII's successes is optional).
		st.Successes = nil
	}
	if added > 0 {
		// A batch keeps whole milliseconds of date_added times to itself
		// (last_added is where they end, which may be ahead of the clock):
		// where the next batch starts then tells a reader nothing of how
		// many objects it could not see in this one, for batches of up to
		// 1,000 objects (TAXII requests are stored 1,000 at a time; a
		// bigger batch shows its size in thousands). How long a batch
		// took to store still shows.
		end := next.Add(time.Duration((added+999)/1000)*time.Millisecond - time.Microsecond)
		if _, err := tx.exec(`UPDATE taxii_collections SET last_added = ? WHERE id = ?`, end, collectionID); err != nil {
			return nil, err
		}
	}
	var partner, user any
	if tx.actor.PartnerID != 0 {
		partner = tx.actor.PartnerID
	} else if id := tx.actorID(); id != nil {
		user = *id
	}
	if fresh {
		if _, err := tx.exec(`INSERT INTO taxii_status (id, collection_id, partner_id, user_id, request_timestamp, body) VALUES (?, ?, ?, ?, ?, ?)`,
			st.ID, collectionID, partner, user, tx.now, mustJSON(st)); err != nil {
			return nil, err
		}
	} else if _, err := tx.exec(`UPDATE taxii_status SET body = ? WHERE id = ?`, mustJSON(st), st.ID); err != nil {
		return nil, err
	}
	tx.audit("stix.add", "collection", 0, nil, map[string]any{"collection": collectionID, "status": st.ID,
		"added": added, "successes": st.SuccessCount, "failures": st.FailureCount})
	return st, nil
}

// MaxStatusDetails is how many successes and failures a status lists:
// past it, a big import lists no successes (success_count says how many)
// and the first MaxStatusDetails failures, with their reasons, beside a
// failure_count of all of them.
const MaxStatusDetails = 1000

// versionString formats a version as TAXII does (microseconds, UTC).
func versionString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// span is what the collection holds of one object: its versions.
type span struct {
	lo, hi   time.Time
	versions map[int64]bool // UnixMicro
	pending  []*pendingRow  // rows of this batch, not yet inserted
	// maxRank is the highest TLP rank of its versions stored before the
	// batch, and newMax with the batch's rows.
	maxRank, newMax int
}

type pendingRow struct {
	o           *vigil.IncomingObject
	version     time.Time
	added       time.Time
	first, last bool
}

// addObjects inserts a batch of objects: one query reads the versions the
// collection already holds of them, the first/last flags are worked out
// in memory, and the rows go in with multi-row INSERTs. A version already
// held is a success, stored once. It returns how many were added, with
// date_added times from next on.
func (tx *Tx) addObjects(coll string, objs []*vigil.IncomingObject, next time.Time, st *vigil.TAXIIStatus) (int, error) {
	spans := map[string]*span{}
	var ids []string
	for _, o := range objs {
		if spans[o.ID] == nil {
			spans[o.ID] = &span{versions: map[int64]bool{}}
			ids = append(ids, o.ID)
		}
	}
	inDB := map[string]bool{}
	for chunk := range slices.Chunk(ids, 500) {
		rows, err := tx.query(`SELECT stix_id, version, max_tlp_rank FROM stix_objects WHERE collection_id = ? AND stix_id IN (`+placeholders(len(chunk))+`)`,
			append([]any{coll}, anySlice(chunk)...)...)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var id string
			var v time.Time
			var rank int
			if err := rows.Scan(&id, scanTime(&v), &rank); err != nil {
				rows.Close()
				return 0, err
			}
			sp := spans[id]
			sp.maxRank, sp.newMax = rank, rank
			if len(sp.versions) == 0 || v.Before(sp.lo) {
				sp.lo = v
			}
			if len(sp.versions) == 0 || v.After(sp.hi) {
				sp.hi = v
			}
			sp.versions[v.UnixMicro()] = true
			inDB[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	clearLast, clearFirst := map[string]bool{}, map[string]bool{}
	var rows []*pendingRow
	for _, o := range objs {
		version := o.Version
		if version.IsZero() {
			version = next // the batch's start: a version tells nothing of the order
		}
		version = vigil.TruncateTime(version)
		sp := spans[o.ID]
		if sp.versions[version.UnixMicro()] || (o.Version.IsZero() && len(sp.versions) > 0) {
			// The same version again, or an object without created or
			// modified (a cyber-observable, whose id comes from its
			// content) already held: stored once.
			msg := "Already in the collection."
			if tx.actor != nil && tx.actor.PartnerID != 0 {
				msg = "" // a partner learns nothing of versions it may not read
			}
			st.Successes = append(st.Successes, vigil.StatusDetail{ID: o.ID, Version: versionString(version), Message: msg})
			continue
		}
		r := &pendingRow{o: o, version: version, first: true, last: true}
		if len(sp.versions) > 0 {
			r.first, r.last = version.Before(sp.lo), version.After(sp.hi)
			for _, p := range sp.pending {
				p.first = p.first && !r.first
				p.last = p.last && !r.last
			}
			if inDB[o.ID] {
				clearFirst[o.ID] = clearFirst[o.ID] || r.first
				clearLast[o.ID] = clearLast[o.ID] || r.last
			}
		}
		if len(sp.versions) == 0 || version.Before(sp.lo) {
			sp.lo = version
		}
		if len(sp.versions) == 0 || version.After(sp.hi) {
			sp.hi = version
		}
		sp.versions[version.UnixMicro()] = true
		sp.newMax = max(sp.newMax, tlpRank(o.TLP))
		sp.pending = append(sp.pending, r)
		rows = append(rows, r)
		st.Successes = append(st.Successes, vigil.StatusDetail{ID: o.ID, Version: versionString(version)})
	}
	for _, c := range []struct {
		col string
		ids map[string]bool
	}{{"is_last", clearLast}, {"is_first", clearFirst}} {
		var list []string
		for id, ok := range c.ids {
			if ok {
				list = append(list, id)
			}
		}
		for chunk := range slices.Chunk(list, 500) {
			if _, err := tx.exec(`UPDATE stix_objects SET `+c.col+` = ? WHERE collection_id = ? AND `+c.col+` AND stix_id IN (`+placeholders(len(chunk))+`)`,
				append([]any{false, coll}, anySlice(chunk)...)...); err != nil {
				return 0, err
			}
		}
	}
	// A version more restricted than those stored raises their rank too.
	raised := map[int][]string{}
	for id, sp := range spans {
		if inDB[id] && sp.newMax > sp.maxRank {
			raised[sp.newMax] = append(raised[sp.newMax], id)
		}
	}
	for rank, ids := range raised {
		for chunk := range slices.Chunk(ids, 500) {
			if _, err := tx.exec(`UPDATE stix_objects SET max_tlp_rank = ? WHERE collection_id = ? AND stix_id IN (`+placeholders(len(chunk))+`)`,
				append([]any{rank, coll}, anySlice(chunk)...)...); err != nil {
				return 0, err
			}
		}
	}
	// The batch goes in the order of who may read it, the least restricted
	// objects first: a reader's objects of one batch then follow each
	// other a microsecond apart, and no gap between two of them tells how
	// many it may not read.
	slices.SortStableFunc(rows, func(a, b *pendingRow) int { return spans[a.o.ID].newMax - spans[b.o.ID].newMax })
	for i, r := range rows {
		r.added = next.Add(time.Duration(i) * time.Microsecond)
	}
	all := make([][]any, len(rows))
	for i, r := range rows {
		all[i] = []any{coll, r.o.ID, r.o.Type, r.o.SpecVersion, r.version, r.added, r.o.TLP, tlpRank(r.o.TLP), spans[r.o.ID].newMax,
			r.last, r.first, string(r.o.Raw)}
	}
	if err := tx.insertRows("stix_objects", []string{"collection_id", "stix_id", "type", "spec_version", "version", "date_added", "tlp",
		"tlp_rank", "max_tlp_rank", "is_last", "is_first", "body"}, all); err != nil {
		return 0, err
	}
	return len(rows), nil
}

// objectWhere builds the WHERE clause of a filter.
func objectWhere(coll string, f vigil.ObjectFilter, maxRank int) (string, []any, error) {
	// An object with a version the reader may not see is hidden whole:
	// otherwise "last" and "all" would differ and show that a newer, more
	// restricted version exists. Every row carries its object's highest
	// rank for this.
	where := []string{"collection_id = ?", "max_tlp_rank <= ?"}
	args := []any{coll, maxRank}
	if f.After > 0 {
		where, args = append(where, "seq > ?"), append(args, f.After)
	}
	if f.AddedAfter != nil {
		where, args = append(where, "date_added > ?"), append(args, *f.AddedAfter)
	}
	if len(f.IDs) > 0 {
		where, args = append(where, "stix_id IN ("+placeholders(len(f.IDs))+")"), append(args, anySlice(f.IDs)...)
	}
	if len(f.Types) > 0 {
		where, args = append(where, "type IN ("+placeholders(len(f.Types))+")"), append(args, anySlice(f.Types)...)
	}
	if len(f.SpecVersions) > 0 {
		where, args = append(where, "spec_version IN ("+placeholders(len(f.SpecVersions))+")"), append(args, anySlice(f.SpecVersions)...)
	}
	versions := f.Versions
	if len(versions) == 0 {
		versions = []string{"last"}
	}
	var or []string
	for _, v := range versions {
		switch v {
		case "all":
			if len(versions) > 1 {
				return "", nil, vigil.Invalid("match[version]", "\"all\" cannot be combined with other values.")
			}
		case "last":
			or = append(or, "is_last")
		case "first":
			or = append(or, "is_first")
		default:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil || !strings.HasSuffix(v, "Z") {
				return "", nil, vigil.Invalid("match[version]", "%q is not first, last, all or a timestamp such as 2026-11-30T09:15:00.000Z.", v)
			}
			or, args = append(or, "version = ?"), append(args, vigil.TruncateTime(t))
		}
	}
	if len(or) > 0 {
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	return strings.Join(where, " AND "), args, nil
}

// MaxObjectPage bounds a page of objects.
const MaxObjectPage = 5000

// FindObjects returns a page of a collection's objects the actor may read,
// in the order they were added.
func (s *SharingService) FindObjects(ctx context.Context, coll string, f vigil.ObjectFilter) (page *vigil.ObjectPage, err error) {
	defer s.db.op("stix.list")(&err)
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, MaxObjectPage)
	err = s.db.read(ctx, func(tx *Tx) error {
		acc, err := tx.collectionAccess(coll)
		if err != nil {
			return err
		}
		if !acc.read {
			return vigil.Errorf(vigil.EFORBIDDEN, "You may not read this collection.")
		}
		where, args, err := objectWhere(coll, f, acc.maxRank)
		if err != nil {
			return err
		}
		objs, err := queryAll(tx, func(r rowScanner) (*vigil.StoredObject, error) {
			o := &vigil.StoredObject{}
			var body string
			if err := r.Scan(&o.Seq, &o.ID, &o.Type, &o.SpecVersion, scanTime(&o.Version), scanTime(&o.DateAdded), &o.TLP, &body); err != nil {
				return nil, err
			}
			o.Body = []byte(body)
			return o, nil
		}, `SELECT seq, stix_id, type, spec_version, version, date_added, tlp, body FROM stix_objects WHERE `+where+
			` ORDER BY seq LIMIT ?`, append(args, f.Limit+1)...)
		if err != nil {
			return err
		}
		page = &vigil.ObjectPage{Objects: objs}
		if len(page.Objects) > f.Limit {
			page.Objects, page.More = page.Objects[:f.Limit], true
			page.Next = page.Objects[f.Limit-1].Seq
		}
		return nil
	})
	return page, err
}

// DeleteObject deletes the versions of an object that f.Versions names
// (default the last). Partners need both read and write rights: with
// neither the collection is not found, with one the answer is forbidden.
func (s *SharingService) DeleteObject(ctx context.Context, coll, id string, f vigil.ObjectFilter) (err error) {
	defer s.db.op("stix.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		acc, err := tx.collectionAccess(coll)
		if err != nil {
			return err
		}
		if !acc.read || !acc.write {
			return vigil.Errorf(vigil.EFORBIDDEN, "Deleting needs both read and write rights on the collection.")
		}
		// Serialised with additions, which keep the first/last flags too.
		var last *time.Time
		if err := tx.queryRow(`SELECT last_added FROM taxii_collections WHERE id = ?`+tx.forUpdate(), coll).Scan(scanNullTime(&last)); err != nil {
			return err
		}
		f.IDs, f.After, f.AddedAfter = []string{id}, 0, nil
		where, args, err := objectWhere(coll, f, acc.maxRank)
		if err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM stix_objects WHERE `+where, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "No object %q (at that version) in the collection.", id)
		}
		for _, q := range []string{
			`UPDATE stix_objects SET is_last = (version = (SELECT max(version) FROM stix_objects o WHERE o.collection_id = ? AND o.stix_id = ?)) WHERE collection_id = ? AND stix_id = ?`,
			`UPDATE stix_objects SET is_first = (version = (SELECT min(version) FROM stix_objects o WHERE o.collection_id = ? AND o.stix_id = ?)) WHERE collection_id = ? AND stix_id = ?`,
			`UPDATE stix_objects SET max_tlp_rank = (SELECT max(tlp_rank) FROM stix_objects o WHERE o.collection_id = ? AND o.stix_id = ?) WHERE collection_id = ? AND stix_id = ?`,
		} {
			if _, err := tx.exec(q, coll, id, coll, id); err != nil {
				return err
			}
		}
		// Matching follows the indicator's version now last, or forgets it.
		if strings.HasPrefix(id, "indicator--") {
			if err := tx.reindexIndicator(coll, id); err != nil {
				return err
			}
		}
		tx.audit("stix.delete", "collection", 0, nil, map[string]any{"collection": coll, "id": id, "versions": f.Versions})
		return nil
	})
}

// FindStatus returns a status resource to whoever made it (and admins).
func (s *SharingService) FindStatus(ctx context.Context, id string) (st *vigil.TAXIIStatus, err error) {
	defer s.db.op("taxii.status")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		var partner, user *int64
		var body string
		err := tx.queryRow(`SELECT partner_id, user_id, body FROM taxii_status WHERE id = ?`, id).Scan(scanNullInt(&partner), scanNullInt(&user), &body)
		notFound := vigil.Errorf(vigil.ENOTFOUND, "No status %q.", id)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		} else if err != nil {
			return err
		}
		a := tx.actor
		mine := a != nil && ((a.PartnerID != 0 && partner != nil && *partner == a.PartnerID) ||
			(a.PartnerID == 0 && (a.Role == vigil.RoleAdmin || (user != nil && *user == a.UserID))))
		if !mine {
			return notFound
		}
		st = &vigil.TAXIIStatus{}
		return scanJSON(st).Scan(body)
	})
	return st, err
}

// ServerKey returns the shared key of that name, made on first use; the
// first instance to insert it wins, the others read it.
func (s *SharingService) ServerKey(ctx context.Context, name string) (key []byte, err error) {
	defer s.db.op("server_key")(&err)
	var fresh [32]byte
	if _, err := rand.Read(fresh[:]); err != nil {
		return nil, err
	}
	key, err = writeV(ctx, s.db, func(tx *Tx) ([]byte, error) {
		var key []byte
		if _, err := tx.exec(`INSERT INTO server_keys (name, key) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name,
			tx.db.Secrets.seal(colServerKey, hex.EncodeToString(fresh[:]))); err != nil {
			return key, err
		}
		var h string
		if err := tx.queryRow(`SELECT key FROM server_keys WHERE name = ?`, name).Scan(&h); err != nil {
			return key, err
		}
		h, err := tx.db.Secrets.open(colServerKey, h)
		if err != nil {
			return key, err
		}
		key, err = hex.DecodeString(h)
		return key, err
	})
	return key, err
}
