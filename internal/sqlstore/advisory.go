package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/vigil-ir/vigil"
)

// AdvisoryService implements vigil.AdvisoryService.
type AdvisoryService struct{ db *DB }

const advisoryColumns = `a.id, a.uuid, a.reference, a.title, a.kind, a.severity, a.tlp, a.summary, a.affected, a.actions, a.detection,
	a.iocs, a.refs, a.audience_kind, a.audience_label, a.status, a.revision, a.source_incident_id, a.created_by_name,
	a.created_at, a.updated_at, a.published_at, a.withdrawn_at, a.version`

func scanAdvisory(r rowScanner) (*vigil.Advisory, error) {
	var a vigil.Advisory
	var source *int64
	err := r.Scan(&a.ID, &a.UUID, &a.Reference, &a.Title, &a.Kind, &a.Severity, &a.TLP, &a.Summary, scanJSON(&a.Affected),
		&a.Actions, &a.Detection, scanJSON(&a.IOCs), scanJSON(&a.Refs), &a.Audience.Kind, &a.Audience.Sector, &a.Status,
		&a.Revision, scanNullInt(&source), &a.CreatedBy, scanTime(&a.CreatedAt), scanTime(&a.UpdatedAt),
		scanNullTime(&a.PublishedAt), scanNullTime(&a.WithdrawnAt), &a.Version)
	if source != nil {
		a.SourceIncident = &vigil.IncidentRef{ID: *source}
	}
	for _, l := range []*[]string{&a.Affected.Products, &a.Affected.CPEs, &a.Affected.CVEs, &a.Refs} {
		if *l == nil {
			*l = []string{}
		}
	}
	if a.IOCs == nil {
		a.IOCs = []vigil.AdvisoryIOC{}
	}
	return &a, err
}

// advisoryVisible is the SQL form of vigil.AdvisoryAccess.CanSee for the
// transaction's actor: every advisory for the coordinator's staff; for a
// member's users, the published ones that are not TLP:RED, at or below
// their clearance in a member organisation they belong to and addressed
// to it (all members, its sector, or by name).
func (tx *Tx) advisoryVisible() (acc vigil.AdvisoryAccess, clause string, args []any, err error) {
	acc = vigil.AdvisoryAccessFor(tx.actor)
	switch {
	case acc.None:
		return acc, "1=0", nil, nil
	case acc.Staff:
		return acc, "1=1", nil, nil
	}
	orgs, err := tx.orgsByID(acc)
	if err != nil {
		return acc, "", nil, err
	}
	var parts []string
	for _, m := range acc.Members {
		o := orgs[m.OrgID]
		if o == nil || o.Kind != vigil.OrgMember {
			continue
		}
		who := []string{`a.audience_kind = 'all'`, `a.id IN (SELECT aa.advisory_id FROM advisory_audience aa WHERE aa.organisation_id = ` + strconv.FormatInt(o.ID, 10) + `)`}
		if s := vigil.NormalizeSector(o.Sector); s != "" {
			who = append(who, `(a.audience_kind = 'sector' AND a.audience_sector = ?)`)
			args = append(args, s)
		}
		parts = append(parts, `(a.tlp_rank <= `+strconv.Itoa(m.Clearance.Rank())+` AND (`+strings.Join(who, " OR ")+`))`)
	}
	if len(parts) == 0 {
		return acc, "1=0", nil, nil
	}
	return acc, `(a.status IN ('published', 'updated', 'withdrawn') AND a.tlp <> 'RED' AND (` + strings.Join(parts, " OR ") + `))`, args, nil
}

// orgsByID loads the member organisations acc names.
func (tx *Tx) orgsByID(acc vigil.AdvisoryAccess) (map[int64]*vigil.Organisation, error) {
	out := map[int64]*vigil.Organisation{}
	if len(acc.Members) == 0 {
		return out, nil
	}
	ids := make([]string, len(acc.Members))
	for i, m := range acc.Members {
		ids[i] = strconv.FormatInt(m.OrgID, 10)
	}
	orgs, err := queryAll(tx, scanOrg, `SELECT `+orgColumns+` FROM organisations o WHERE o.id IN (`+strings.Join(ids, ", ")+`)`)
	if err != nil {
		return nil, fmt.Errorf("organisations: %w", err)
	}
	for _, o := range orgs {
		out[o.ID] = o
	}
	return out, nil
}

var errAdvisoryNotFound = vigil.Errorf(vigil.ENOTFOUND, "Advisory not found.")

// findAdvisory loads the advisory ref if the actor may see it (ENOTFOUND
// otherwise, as for one that does not exist), locked in a write.
func (tx *Tx) findAdvisory(ref string) (*vigil.Advisory, vigil.AdvisoryAccess, error) {
	if tx.actor == nil {
		return nil, vigil.AdvisoryAccess{None: true}, vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
	}
	ref = strings.ToUpper(strings.TrimSpace(ref))
	acc, vis, args, err := tx.advisoryVisible()
	if err != nil {
		return nil, acc, err
	}
	if !vigil.IsAdvisoryReference(ref) {
		return nil, acc, errAdvisoryNotFound
	}
	lock := ""
	if tx.write {
		lock = tx.db.d.ForUpdate
	}
	a, err := scanAdvisory(tx.queryRow(`SELECT `+advisoryColumns+` FROM advisories a WHERE a.reference = ? AND `+vis+lock, append([]any{ref}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, acc, errAdvisoryNotFound
	} else if err != nil {
		return nil, acc, fmt.Errorf("find advisory: %w", err)
	}
	return a, acc, nil
}

// fillAdvisory adds what is kept beside the row — the members it is
// addressed to, the incident it came from, its publications if history —
// and clears what a member's reader does not see.
func (tx *Tx) fillAdvisory(a *vigil.Advisory, acc vigil.AdvisoryAccess, history bool) error {
	a.History = []vigil.AdvisoryRevision{}
	if history {
		revs, err := queryAll(tx, func(r rowScanner) (vigil.AdvisoryRevision, error) {
			var v vigil.AdvisoryRevision
			err := r.Scan(&v.Revision, &v.Status, &v.ChangeNote, &v.PublishedBy, scanTime(&v.PublishedAt))
			return v, err
		}, `SELECT revision, status, change_note, published_by, published_at FROM advisory_revisions WHERE advisory_id = ? ORDER BY revision`, a.ID)
		if err != nil {
			return fmt.Errorf("advisory revisions: %w", err)
		}
		a.History = revs
	}
	if !acc.Staff {
		a.ForMember()
		return nil
	}
	if a.Audience.Kind == vigil.AudienceMembers {
		slugs, err := queryAll(tx, func(r rowScanner) (string, error) {
			var s string
			return s, r.Scan(&s)
		}, `SELECT o.slug FROM advisory_audience aa JOIN organisations o ON o.id = aa.organisation_id WHERE aa.advisory_id = ? ORDER BY o.slug`, a.ID)
		if err != nil {
			return fmt.Errorf("advisory audience: %w", err)
		}
		a.Audience.Members = slugs
	}
	if a.SourceIncident != nil {
		// Only as the reader may see the incident: its reference and
		// title are the incident's.
		vis, vargs := visibleClause(tx.vis, false)
		ref := &vigil.IncidentRef{}
		err := tx.queryRow(`SELECT `+incidentRefColumns+` FROM incidents i WHERE i.id = ? AND `+vis, append([]any{a.SourceIncident.ID}, vargs...)...).
			Scan(&ref.ID, &ref.Reference, &ref.Title, &ref.Status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			a.SourceIncident = nil
		case err != nil:
			return fmt.Errorf("advisory's incident: %w", err)
		default:
			a.SourceIncident = ref
		}
	}
	return nil
}

// resolveAudience checks that the members an audience names exist and
// are members, and returns their IDs.
func (tx *Tx) resolveAudience(au vigil.Audience) ([]int64, error) {
	if au.Kind != vigil.AudienceMembers {
		return nil, nil
	}
	var p vigil.Problems
	ids := make([]int64, 0, len(au.Members))
	for i, slug := range au.Members {
		o, err := tx.findOrg(slug)
		switch {
		case vigil.ErrorCode(err) == vigil.ENOTFOUND || (err == nil && o.Kind != vigil.OrgMember):
			p.Add(fmt.Sprintf("audience.members[%d]", i), "No member organisation %q.", slug)
		case err != nil:
			return nil, err
		default:
			ids = append(ids, o.ID)
		}
	}
	return ids, p.Err()
}

// saveAudience replaces the members an advisory is addressed to by name.
func (tx *Tx) saveAudience(id int64, orgs []int64) error {
	if _, err := tx.exec(`DELETE FROM advisory_audience WHERE advisory_id = ?`, id); err != nil {
		return fmt.Errorf("advisory audience: %w", err)
	}
	rows := make([][]any, len(orgs))
	for i, o := range orgs {
		rows[i] = []any{id, o}
	}
	return tx.insertRows("advisory_audience", []string{"advisory_id", "organisation_id"}, rows)
}

// createAdvisory writes a new draft: its reference, its row and audience.
func (tx *Tx) createAdvisory(a *vigil.Advisory, source *int64) error {
	a.SourceIncident = nil // only DraftAdvisoryFromIncident sets one
	if err := a.Prepare(); err != nil {
		return err
	}
	orgs, err := tx.resolveAudience(a.Audience)
	if err != nil {
		return err
	}
	a.Status, a.Revision, a.PublishedAt, a.WithdrawnAt = vigil.AdvisoryDraft, 0, nil, nil
	a.CreatedBy = tx.actorName()
	a.CreatedAt, a.UpdatedAt, a.Version = tx.now, tx.now, 1
	a.UUID = uuid.NewString()
	year := tx.now.Year()
	var n int64
	if err := tx.queryRow(`INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, vigil.AdvisoryCounter(year)).Scan(&n); err != nil {
		return fmt.Errorf("next advisory reference: %w", err)
	}
	a.Reference = vigil.FormatAdvisoryReference(year, n)
	id, err := tx.insert(`INSERT INTO advisories (uuid, reference, title, kind, severity, tlp, tlp_rank, summary, affected, actions, detection,
		iocs, refs, audience_kind, audience_sector, audience_label, status, revision, source_incident_id, created_by, created_by_name,
		created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.UUID, a.Reference, a.Title, a.Kind, a.Severity, a.TLP, a.TLP.Rank(), a.Summary, mustJSON(a.Affected), a.Actions, a.Detection,
		mustJSON(a.IOCs), mustJSON(a.Refs), a.Audience.Kind, vigil.NormalizeSector(a.Audience.Sector), a.Audience.Sector, a.Status, a.Revision,
		source, tx.actorID(), a.CreatedBy, a.CreatedAt, a.UpdatedAt, a.Version)
	if err != nil {
		return fmt.Errorf("insert advisory: %w", err)
	}
	a.ID = id
	if err := tx.saveAudience(id, orgs); err != nil {
		return err
	}
	a.History = []vigil.AdvisoryRevision{}
	tx.audit("advisory.create", "advisory", a.ID, nil, a)
	return nil
}

// CreateAdvisory saves a new draft.
func (s *AdvisoryService) CreateAdvisory(ctx context.Context, a *vigil.Advisory) (err error) {
	defer s.db.op("advisory.create")(&err)
	out, err := writeV(ctx, s.db, func(tx *Tx) (*vigil.Advisory, error) {
		if err := tx.require(vigil.PermAdvisoryIssue); err != nil {
			return nil, err
		}
		n := cloneAdvisory(a)
		if err := tx.createAdvisory(n, nil); err != nil {
			return nil, err
		}
		return n, tx.fillAdvisory(n, vigil.AdvisoryAccess{Staff: true}, true)
	})
	if err != nil {
		return err
	}
	*a = *out
	return nil
}

// cloneAdvisory copies a with its lists, for a write that may run twice.
func cloneAdvisory(a *vigil.Advisory) *vigil.Advisory {
	n := *a
	n.IOCs = slices.Clone(a.IOCs)
	n.Refs = slices.Clone(a.Refs)
	n.Affected.Products = slices.Clone(a.Affected.Products)
	n.Affected.CPEs = slices.Clone(a.Affected.CPEs)
	n.Affected.CVEs = slices.Clone(a.Affected.CVEs)
	n.Audience.Members = slices.Clone(a.Audience.Members)
	return &n
}

// DraftAdvisoryFromIncident drafts an advisory from an incident the actor
// may see, with only what d chooses of it.
func (s *AdvisoryService) DraftAdvisoryFromIncident(ctx context.Context, incidentID int64, d vigil.AdvisoryFromIncident) (out *vigil.Advisory, err error) {
	defer s.db.op("advisory.from_incident")(&err)
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.Advisory, error) {
		if err := tx.require(vigil.PermAdvisoryIssue); err != nil {
			return nil, err
		}
		// Read as the actor may read (not as a write, which would ask
		// for the right to change it): a full grant shows a member's
		// incident and its observables; a summary grant does not.
		vis, vargs := visibleClause(tx.vis, false)
		inc, err := scanIncident(tx.queryRow(`SELECT `+incidentColumns+` FROM incidents i WHERE i.id = ? AND `+vis, append([]any{incidentID}, vargs...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "Incident not found.")
		} else if err != nil {
			return nil, fmt.Errorf("find incident: %w", err)
		}
		a := &vigil.Advisory{Title: d.Title, Kind: d.Kind, Severity: d.Severity, TLP: d.TLP, Audience: d.Audience}
		a.Audience.Members = slices.Clone(d.Audience.Members)
		if strings.TrimSpace(a.Title) == "" {
			a.Title = inc.Title
		}
		if d.IncludeSummary {
			a.Summary = inc.Summary
		}
		if a.Severity == "" {
			a.Severity = inc.Severity
		}
		top := inc.TLP
		var p vigil.Problems
		for i, id := range d.Observables {
			var o vigil.AdvisoryIOC
			err := tx.queryRow(`SELECT type, value, tlp FROM observables WHERE id = ? AND incident_id = ?`, id, inc.ID).Scan(&o.Type, &o.Value, &o.TLP)
			if errors.Is(err, sql.ErrNoRows) {
				p.Add(fmt.Sprintf("observables[%d]", i), "The incident has no observable %d.", id)
				continue
			} else if err != nil {
				return nil, fmt.Errorf("observable: %w", err)
			}
			if o.TLP.Rank() > top.Rank() {
				top = o.TLP
			}
			a.IOCs = append(a.IOCs, o)
		}
		if err := p.Err(); err != nil {
			return nil, err
		}
		if a.TLP == "" {
			// The incident's (or its IOCs') TLP, but not RED: members
			// see no TLP:RED advisory yet, so a RED IOC is refused with
			// its reason rather than making the whole advisory unseen.
			a.TLP = top
			if a.TLP.Rank() > vigil.TLPAmberStrict.Rank() {
				a.TLP = vigil.TLPAmberStrict
			}
		}
		source := inc.ID
		if err := tx.createAdvisory(a, &source); err != nil {
			return nil, err
		}
		a.SourceIncident = &vigil.IncidentRef{ID: inc.ID}
		return a, tx.fillAdvisory(a, vigil.AdvisoryAccess{Staff: true}, true)
	})
}

// FindAdvisory returns one advisory the actor may see, with its history.
func (s *AdvisoryService) FindAdvisory(ctx context.Context, ref string) (a *vigil.Advisory, err error) {
	defer s.db.op("advisory.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		var acc vigil.AdvisoryAccess
		if a, acc, err = tx.findAdvisory(ref); err != nil {
			return err
		}
		return tx.fillAdvisory(a, acc, true)
	})
	return a, err
}

// FindAdvisories lists the advisories the actor may see, newest change
// first.
func (s *AdvisoryService) FindAdvisories(ctx context.Context, f vigil.AdvisoryFilter) (out []*vigil.Advisory, total int, err error) {
	defer s.db.op("advisory.list")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if tx.actor == nil {
			return vigil.Errorf(vigil.EUNAUTHORIZED, "You must be logged in.")
		}
		acc, vis, args, err := tx.advisoryVisible()
		if err != nil {
			return err
		}
		where := []string{vis}
		in := func(col string, n int, vals func(i int) any) {
			if n == 0 {
				return
			}
			where = append(where, col+` IN (`+placeholders(n)+`)`)
			for i := range n {
				args = append(args, vals(i))
			}
		}
		in("a.status", len(f.Status), func(i int) any { return string(f.Status[i]) })
		in("a.kind", len(f.Kind), func(i int) any { return string(f.Kind[i]) })
		in("a.severity", len(f.Severity), func(i int) any { return string(f.Severity[i]) })
		if f.Feed {
			where = append(where, `a.status IN ('published', 'updated', 'withdrawn') AND a.tlp <> 'RED'`)
		}
		cond := strings.Join(where, " AND ")
		if err := tx.queryRow(`SELECT count(*) FROM advisories a WHERE `+cond, args...).Scan(&total); err != nil {
			return fmt.Errorf("count advisories: %w", err)
		}
		limit := f.Limit
		if limit <= 0 || limit > vigil.MaxPageSize {
			limit = 50
		}
		out, err = queryAll(tx, scanAdvisory, `SELECT `+advisoryColumns+` FROM advisories a WHERE `+cond+
			` ORDER BY a.updated_at DESC, a.id DESC LIMIT `+strconv.Itoa(limit)+` OFFSET `+strconv.Itoa(max(f.Offset, 0)), args...)
		if err != nil {
			return fmt.Errorf("list advisories: %w", err)
		}
		for _, a := range out {
			if err := tx.fillAdvisory(a, acc, false); err != nil {
				return err
			}
		}
		return nil
	})
	return out, total, err
}

// saveAdvisory writes a changed advisory under optimistic concurrency,
// and the publication it made, if any, with the advisory as published.
func (tx *Tx) saveAdvisory(a *vigil.Advisory, rev *vigil.AdvisoryRevision, audienceChanged bool) error {
	if audienceChanged {
		orgs, err := tx.resolveAudience(a.Audience)
		if err != nil {
			return err
		}
		if err := tx.saveAudience(a.ID, orgs); err != nil {
			return err
		}
	}
	res, err := tx.exec(`UPDATE advisories SET title = ?, kind = ?, severity = ?, tlp = ?, tlp_rank = ?, summary = ?, affected = ?, actions = ?,
		detection = ?, iocs = ?, refs = ?, audience_kind = ?, audience_sector = ?, audience_label = ?, status = ?, revision = ?,
		updated_at = ?, published_at = ?, withdrawn_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
		a.Title, a.Kind, a.Severity, a.TLP, a.TLP.Rank(), a.Summary, mustJSON(a.Affected), a.Actions, a.Detection, mustJSON(a.IOCs),
		mustJSON(a.Refs), a.Audience.Kind, vigil.NormalizeSector(a.Audience.Sector), a.Audience.Sector, a.Status, a.Revision,
		a.UpdatedAt, a.PublishedAt, a.WithdrawnAt, a.ID, a.Version)
	if err != nil {
		return fmt.Errorf("update advisory: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errAdvisoryStale
	}
	a.Version++
	if rev == nil {
		return nil
	}
	snap := *a
	snap.History = nil
	_, err = tx.exec(`INSERT INTO advisory_revisions (advisory_id, revision, status, change_note, snapshot, published_by, published_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, rev.Revision, rev.Status, rev.ChangeNote, mustJSON(&snap), rev.PublishedBy, rev.PublishedAt)
	if err != nil {
		return fmt.Errorf("insert advisory revision: %w", err)
	}
	return nil
}

var errAdvisoryStale = vigil.Errorf(vigil.ECONFLICT, "Someone else changed this advisory since you loaded it. Reload and try again.")

// loadForChange loads an advisory the actor may change: PermAdvisoryIssue
// and the version they loaded.
func (tx *Tx) loadForChange(ref string, version int) (*vigil.Advisory, error) {
	if err := tx.require(vigil.PermAdvisoryIssue); err != nil {
		if _, _, ferr := tx.findAdvisory(ref); ferr != nil {
			return nil, ferr // not even seen: the same answer as none
		}
		return nil, err
	}
	a, acc, err := tx.findAdvisory(ref)
	if err != nil {
		return nil, err
	}
	if err := tx.fillAdvisory(a, acc, false); err != nil {
		return nil, err
	}
	if version != a.Version {
		return nil, errAdvisoryStale
	}
	return a, nil
}

// UpdateAdvisory changes an advisory (vigil.Advisory.Apply has the rules).
func (s *AdvisoryService) UpdateAdvisory(ctx context.Context, ref string, upd vigil.AdvisoryUpdate) (out *vigil.Advisory, err error) {
	defer s.db.op("advisory.update")(&err)
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.Advisory, error) {
		a, err := tx.loadForChange(ref, upd.Version)
		if err != nil {
			return nil, err
		}
		before := cloneAdvisory(a)
		rev, err := a.Apply(upd, tx.now, tx.actorName())
		if err != nil {
			return nil, err
		}
		if err := tx.saveAdvisory(a, rev, upd.Audience != nil); err != nil {
			return nil, err
		}
		action := "advisory.update"
		switch {
		case rev != nil && rev.Status == vigil.AdvisoryWithdrawn:
			action = "advisory.withdraw"
		case rev != nil:
			action = "advisory.publish_update"
		}
		tx.audit(action, "advisory", a.ID, before, a)
		return a, tx.fillAdvisory(a, vigil.AdvisoryAccess{Staff: true}, true)
	})
}

// PublishAdvisory publishes an advisory that is in review.
func (s *AdvisoryService) PublishAdvisory(ctx context.Context, ref string, p vigil.AdvisoryPublish) (out *vigil.Advisory, err error) {
	defer s.db.op("advisory.publish")(&err)
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.Advisory, error) {
		a, err := tx.loadForChange(ref, p.Version)
		if err != nil {
			return nil, err
		}
		before := cloneAdvisory(a)
		rev, err := a.Publish(p.ChangeNote, tx.now, tx.actorName())
		if err != nil {
			return nil, err
		}
		// The audience's members must still be members.
		if err := tx.saveAdvisory(a, rev, true); err != nil {
			return nil, err
		}
		tx.audit("advisory.publish", "advisory", a.ID, before, a)
		return a, tx.fillAdvisory(a, vigil.AdvisoryAccess{Staff: true}, true)
	})
}
