package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

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
	if err := tx.require(vigil.PermIncidentRead); err != nil {
		return "", nil, err
	}
	if a.PartnerID != 0 || (!tx.vis.All && len(tx.vis.Full)+len(tx.vis.Staff) == 0) {
		// Reporters (everywhere they belong) are not shown threat intelligence.
		return "", nil, vigil.Errorf(vigil.EFORBIDDEN, "You may not see threat intelligence hits.")
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
		if h.IncidentID != nil {
			inc, err := tx.findIncidentByID(*h.IncidentID)
			if err != nil {
				return st, err
			}
			if err := sharable(inc); err != nil {
				return st, err
			}
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
