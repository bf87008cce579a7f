package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/duty"
)

// DutyService implements vigil.DutyService.
type DutyService struct{ db *DB }

var (
	packsOnce sync.Once
	packs     []*duty.Pack
	packsErr  error
)

// shippedPacks returns the packs Vigil ships, parsed once.
func shippedPacks() ([]*duty.Pack, error) {
	packsOnce.Do(func() { packs, packsErr = duty.Shipped() })
	return packs, packsErr
}

// dutyPacks returns the packs in force: the shipped ones, each replaced by
// an admin's pack of the same id, and the admins' own.
func (tx *Tx) dutyPacks() ([]*duty.Pack, error) {
	ship, err := shippedPacks()
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(`SELECT id, body FROM duty_packs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	custom := map[string]*duty.Pack{}
	var ids []string
	for rows.Next() {
		var id, body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, err
		}
		p, err := duty.Parse([]byte(body))
		if err != nil {
			// Stored packs were validated; one that no longer parses
			// (an older Vigil's rules) is skipped rather than stopping work.
			continue
		}
		custom[id] = p
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(custom) == 0 {
		return ship, nil
	}
	out := make([]*duty.Pack, 0, len(ship)+len(custom))
	for _, p := range ship {
		if c, ok := custom[p.ID]; ok {
			out = append(out, c)
			delete(custom, p.ID)
		} else {
			out = append(out, p)
		}
	}
	for _, id := range ids {
		if c, ok := custom[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// dutyConfig is the profile and packs duties are evaluated with, kept in
// memory for dutyConfigTTL: every incident write evaluates duties, and
// reading both from the database each time cost a quarter of the create
// throughput on SQLite. Changes through this instance clear it at once;
// other instances see them within the TTL. The operations that change
// the profile or a pack read them from their own transaction.
type dutyConfig struct {
	profile *vigil.OrgProfile
	packs   []*duty.Pack
	at      time.Time
}

const dutyConfigTTL = 5 * time.Second

func (tx *Tx) dutyConfig() (*vigil.OrgProfile, []*duty.Pack, error) {
	return tx.dutyConfigFor(vigil.DefaultOrganisationID)
}

// dutyConfigFor is dutyConfig for organisation org's profile: each
// organisation's regimes decide its incidents' duties.
func (tx *Tx) dutyConfigFor(org int64) (*vigil.OrgProfile, []*duty.Pack, error) {
	db := tx.db
	if !tx.dutyUncached {
		db.dutyMu.Lock()
		c := db.dutyCfg[org]
		db.dutyMu.Unlock()
		if c != nil && time.Since(c.at) < dutyConfigTTL {
			return c.profile, c.packs, nil
		}
	}
	profile, err := tx.profile(org)
	if err != nil {
		return nil, nil, err
	}
	packs, err := tx.dutyPacks()
	if err != nil {
		return nil, nil, err
	}
	if !tx.dutyUncached {
		db.dutyMu.Lock()
		if db.dutyCfg == nil {
			db.dutyCfg = map[int64]*dutyConfig{}
		}
		db.dutyCfg[org] = &dutyConfig{profile: profile, packs: packs, at: time.Now()}
		db.dutyMu.Unlock()
	}
	return profile, packs, nil
}

// forgetDutyConfig drops the cached profiles and packs after a change.
func (db *DB) forgetDutyConfig() {
	db.dutyMu.Lock()
	db.dutyCfg = nil
	db.dutyMu.Unlock()
}

// profileKey is the settings key of organisation org's profile.
func profileKey(org int64) string {
	if org == vigil.DefaultOrganisationID {
		return "profile"
	}
	return "profile:" + strconv.FormatInt(org, 10)
}

// profile reads organisation org's profile, or the default (vigil's, not
// the coordinator's: a member's regimes are its own).
func (tx *Tx) profile(org int64) (*vigil.OrgProfile, error) {
	p := vigil.DefaultOrgProfile()
	var v int
	err := tx.queryRow(`SELECT value, version FROM settings WHERE key = ?`, profileKey(org)).Scan(scanJSON(p), &v)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	} else if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	p.Version = v
	if p.Jurisdictions == nil {
		p.Jurisdictions = []string{}
	}
	if p.BankHolidays == nil {
		p.BankHolidays = []string{}
	}
	return p, nil
}

// obligationDetail is what the detail column holds: the words of the duty
// as the pack had them when it was made.
type obligationDetail struct {
	Title           string   `json:"title"`
	StageName       string   `json:"stage_name"`
	Authority       string   `json:"authority"`
	Basis           string   `json:"basis"`
	Source          string   `json:"source,omitempty"`
	Why             string   `json:"why"`
	NotRequiredHint string   `json:"not_required_hint,omitempty"`
	Content         []string `json:"content,omitempty"`
	Contact         string   `json:"contact,omitempty"`
	OnRequest       bool     `json:"on_request,omitempty"`
	// StrictDue is the deadline a relief moved (duty.Obligation.StrictDue).
	StrictDue *time.Time `json:"strict_due,omitempty"`
}

func detailOf(o *duty.Obligation) obligationDetail {
	return obligationDetail{o.Title, o.StageName, o.Authority, o.Basis, o.Source, o.Why, o.MayWaive, o.Content, o.Contact, o.OnRequest, o.StrictDue}
}

// obligationRow is what reconcileDuties reads of an obligation.
type obligationRow struct {
	id         int64
	round      int
	status     vigil.ObligationStatus
	submitted  *time.Time
	clockStart time.Time
	due        *time.Time
	asap       bool
	register   bool
	lateReason string
	detail     obligationDetail
}

// reconcileDuties brings an incident's obligations in line with its facts:
// new duties are added (pending), pending ones follow corrected clocks,
// ones that no longer apply are withdrawn with the reason, withdrawn ones
// that apply again are pending again. What was submitted or waived is kept
// as it is; a submitted duty's due time still follows a corrected clock,
// so that a submission the correction puts past the deadline shows as
// late and asks for the reasons for the delay (UK GDPR Art. 33(1)). Each
// change is on the timeline. fresh says the incident was just created, so
// it has none yet.
func (tx *Tx) reconcileDuties(inc *vigil.Incident, fresh bool) error {
	if inc.Source == vigil.SourceMember {
		// A member's incident reported up: the reporting duties are the
		// member's, on its own incident, not the coordinator's.
		return nil
	}
	profile, ps, err := tx.dutyConfigFor(inc.OrganisationID)
	if err != nil {
		return err
	}
	// rounds holds each stage's rows, by key, in the order of their
	// rounds: one for every stage but those asked for more than once.
	rounds := map[string][]*obligationRow{}
	submitted := duty.Submitted{}
	if !fresh {
		rows, err := tx.query(`SELECT id, pack, duty, stage, round, status, submitted_at, clock_start, due_at, asap, register, late_reason, detail
			FROM obligations WHERE incident_id = ? ORDER BY round`, inc.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r obligationRow
			var p, d, s string
			if err := rows.Scan(&r.id, &p, &d, &s, &r.round, &r.status, scanNullTime(&r.submitted), scanTime(&r.clockStart), scanNullTime(&r.due),
				&r.asap, &r.register, &r.lateReason, scanJSON(&r.detail)); err != nil {
				rows.Close()
				return err
			}
			key := p + "/" + d + "/" + s
			rounds[key] = append(rounds[key], &r)
			// A stage counts from the latest report of the one before
			// (DORA: the final report, a month after the latest update).
			if r.status == vigil.ObligationSubmitted && r.submitted != nil && r.submitted.After(submitted[key]) {
				submitted[key] = *r.submitted
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	obs, err := duty.Evaluate(ps, profile, inc, submitted)
	if err != nil {
		return err
	}
	loc, _ := profile.Location()
	applies := map[string]bool{}
	for _, o := range obs {
		key := o.Key()
		applies[key] = true
		if o.OnRequest {
			// A stage owed on request keeps the deadline it was opened
			// with; until then it is listed with none, without a word on
			// the timeline.
			if err := tx.reconcileOnRequest(inc, o, rounds[key], loc); err != nil {
				return err
			}
			continue
		}
		var r *obligationRow
		if rs := rounds[key]; len(rs) > 0 {
			r = rs[0]
		}
		if o.Voluntary {
			if err := tx.reconcileVoluntary(inc, o, r); err != nil {
				return err
			}
			continue
		}
		switch {
		case r == nil:
			if _, err := tx.insert(`INSERT INTO obligations (incident_id, pack, duty, stage, detail, clock_start, due_at, asap, register, status, created_at, updated_at, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 1)`, inc.ID, o.Pack, o.Duty, o.Stage, mustJSON(detailOf(o)), o.ClockStart,
				o.Due, o.ASAP, o.Register, tx.now, tx.now); err != nil {
				return fmt.Errorf("insert obligation: %w", err)
			}
			if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty: %s — %s, %s (%s; %s).",
				o.Title, o.StageName, dueWords(o, loc), o.Why, o.Basis), nil); err != nil {
				return err
			}
		case r.status == vigil.ObligationPending && (!r.clockStart.Equal(o.ClockStart) || !equalTime(r.due, o.Due) ||
			mustJSON(r.detail) != mustJSON(detailOf(o)) || r.asap != o.ASAP || r.register != o.Register):
			if _, err := tx.exec(`UPDATE obligations SET clock_start = ?, due_at = ?, asap = ?, register = ?, detail = ?, updated_at = ?,
				version = version + 1 WHERE id = ?`, o.ClockStart, o.Due, o.ASAP, o.Register, mustJSON(detailOf(o)), tx.now, r.id); err != nil {
				return err
			}
			if !equalTime(r.due, o.Due) {
				why := "the clock start changed"
				if r.clockStart.Equal(o.ClockStart) {
					why = "the rules for its deadline changed"
				}
				if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty %s — %s: now %s (%s).",
					o.Title, o.StageName, dueWords(o, loc), why), nil); err != nil {
					return err
				}
			}
		case r.status == vigil.ObligationSubmitted && r.submitted != nil && (!r.clockStart.Equal(o.ClockStart) ||
			!equalTime(cmp.Or(r.detail.StrictDue, r.due), cmp.Or(o.StrictDue, o.Due))):
			// The words stay those it was submitted under; the deadline
			// follows a corrected clock, and what moves it then is the
			// relief in force now. A change to the relief alone leaves a
			// report already sent as it was judged when it was sent.
			d := r.detail
			d.StrictDue = o.StrictDue
			if _, err := tx.exec(`UPDATE obligations SET clock_start = ?, due_at = ?, detail = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
				o.ClockStart, o.Due, mustJSON(d), tx.now, r.id); err != nil {
				return err
			}
			if equalTime(r.due, o.Due) {
				break
			}
			wasLate, late := r.due != nil && r.submitted.After(*r.due), o.Due != nil && r.submitted.After(*o.Due)
			msg := fmt.Sprintf("Reporting duty %s — %s: now %s (the clock start changed);", o.Title, o.StageName, dueWords(o, loc))
			sent := r.submitted.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
			switch {
			case late && !wasLate && r.lateReason == "":
				msg += fmt.Sprintf(" the submission of %s was late. Record the reasons for the delay: the authority asks for them.", sent)
			case late && !wasLate:
				msg += fmt.Sprintf(" the submission of %s was late; the reasons recorded with it stand.", sent)
			case wasLate && !late:
				msg += fmt.Sprintf(" the submission of %s was on time.", sent)
			default:
				msg += fmt.Sprintf(" submitted %s.", sent)
			}
			if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, msg, nil); err != nil {
				return err
			}
		case r.status == vigil.ObligationWithdrawn:
			if _, err := tx.exec(`UPDATE obligations SET status = 'pending', withdrawn_reason = '', clock_start = ?, due_at = ?, asap = ?,
				register = ?, detail = ?, updated_at = ?, version = version + 1 WHERE id = ?`, o.ClockStart, o.Due, o.ASAP, o.Register,
				mustJSON(detailOf(o)), tx.now, r.id); err != nil {
				return err
			}
			if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty applies again: %s — %s, %s (%s).",
				o.Title, o.StageName, dueWords(o, loc), o.Why), nil); err != nil {
				return err
			}
		}
	}
	reason := "The facts that made it apply have changed."
	switch {
	case inc.Status == vigil.StatusNotIncident:
		reason = "Triage found it was not an incident."
	case inc.Status == vigil.StatusDuplicate:
		reason = "It duplicates another incident, whose duties stand."
	case inc.Exercise:
		reason = "It is an exercise."
	}
	for key, rs := range rounds {
		for _, r := range rs {
			if err := tx.withdrawDuty(inc, r, applies[key], reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// withdrawDuty takes away an obligation that no longer applies: a stage
// never opened, or voluntary and never sent, goes; a pending one is
// withdrawn with the reason; what was done stays.
func (tx *Tx) withdrawDuty(inc *vigil.Incident, r *obligationRow, applies bool, reason string) error {
	switch {
	case applies:
		return nil
	case r.status == vigil.ObligationOnRequest || r.status == vigil.ObligationOptional:
		// Never opened, or never sent and nothing owed: nothing to keep.
		_, err := tx.exec(`DELETE FROM obligations WHERE id = ?`, r.id)
		return err
	case r.status != vigil.ObligationPending:
		return nil
	}
	if _, err := tx.exec(`UPDATE obligations SET status = 'withdrawn', withdrawn_reason = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		reason, tx.now, r.id); err != nil {
		return err
	}
	_, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty withdrawn: %s — %s. %s",
		r.detail.Title, stageLabel(r.detail.StageName, r.round), reason), nil)
	return err
}

// stageLabel names a stage's report, with the request for a stage asked
// for more than once: "Intermediate report (request 2)".
func stageLabel(name string, round int) string {
	if round > 1 {
		return fmt.Sprintf("%s (request %d)", name, round)
	}
	return name
}

// reconcileOnRequest brings the rows of a stage owed on request in line:
// listed (on_request) while it applies and nobody has opened it; opened
// ones keep their deadline, and come back as pending if they were
// withdrawn and apply again. Once the latest request's report is sent
// (or set aside), the stage is listed again for the next request: the
// CSIRT may ask for another intermediate report, and DORA's updated
// intermediate reports follow each significant change. Every report is
// a row of its own, kept as it was sent.
func (tx *Tx) reconcileOnRequest(inc *vigil.Incident, o *duty.Obligation, rows []*obligationRow, loc *time.Location) error {
	detail := mustJSON(detailOf(o))
	for _, r := range rows {
		switch {
		case r.status == vigil.ObligationWithdrawn:
			status := vigil.ObligationOnRequest
			if r.due != nil {
				status = vigil.ObligationPending
			}
			if _, err := tx.exec(`UPDATE obligations SET status = ?, withdrawn_reason = '', detail = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
				status, detail, tx.now, r.id); err != nil {
				return err
			}
			r.status = status
			if status == vigil.ObligationPending {
				if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty applies again: %s — %s, due %s (as requested; %s).",
					o.Title, stageLabel(o.StageName, r.round), r.due.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), o.Why), nil); err != nil {
					return err
				}
			}
		case (r.status == vigil.ObligationOnRequest || r.status == vigil.ObligationPending) && mustJSON(r.detail) != detail:
			if _, err := tx.exec(`UPDATE obligations SET detail = ?, updated_at = ?, version = version + 1 WHERE id = ?`, detail, tx.now, r.id); err != nil {
				return err
			}
		}
	}
	round := 1
	if n := len(rows); n > 0 {
		last := rows[n-1]
		if last.status != vigil.ObligationSubmitted && last.status != vigil.ObligationNotRequired {
			return nil // the latest request is still open, or listed
		}
		round = last.round + 1
	}
	_, err := tx.insert(`INSERT INTO obligations (incident_id, pack, duty, stage, round, detail, clock_start, due_at, asap, register, status,
		created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, 'on_request', ?, ?, 1)`, inc.ID, o.Pack, o.Duty, o.Stage, round, detail,
		o.ClockStart, false, false, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("insert obligation: %w", err)
	}
	return nil
}

// reconcileVoluntary brings the row of a voluntary stage in line: listed
// as optional while it applies and has not been sent or set aside, with a
// word on the timeline when it first is.
func (tx *Tx) reconcileVoluntary(inc *vigil.Incident, o *duty.Obligation, r *obligationRow) error {
	detail := mustJSON(detailOf(o))
	switch {
	case r == nil:
		if _, err := tx.insert(`INSERT INTO obligations (incident_id, pack, duty, stage, detail, clock_start, due_at, asap, register, voluntary, status,
			created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, 'optional', ?, ?, 1)`, inc.ID, o.Pack, o.Duty, o.Stage, detail,
			o.ClockStart, false, false, true, tx.now, tx.now); err != nil {
			return fmt.Errorf("insert obligation: %w", err)
		}
		_, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Voluntary, if you choose: %s — %s (%s; %s).",
			o.Title, o.StageName, o.Why, o.Basis), nil)
		return err
	case r.status == vigil.ObligationOptional && (mustJSON(r.detail) != detail || !r.clockStart.Equal(o.ClockStart)):
		_, err := tx.exec(`UPDATE obligations SET detail = ?, clock_start = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			detail, o.ClockStart, tx.now, r.id)
		return err
	}
	return nil
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// dueWords says when an obligation is due, in the organisation's zone.
func dueWords(o *duty.Obligation, loc *time.Location) string {
	switch {
	case o.OnRequest:
		return "on request"
	case o.ASAP:
		return "as soon as possible"
	case o.Register:
		return "to be recorded"
	case o.Due != nil && o.StrictDue != nil:
		return fmt.Sprintf("due %s (its deadline, %s, falls on a weekend day or bank holiday)", o.Due.In(loc).Format("Mon 2 Jan 2006 15:04 MST"),
			o.StrictDue.In(loc).Format("Mon 2 Jan 2006 15:04 MST"))
	case o.Due != nil:
		return "due " + o.Due.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
	}
	return ""
}

const obligationColumns = `o.id, o.incident_id, o.pack, o.duty, o.stage, o.round, o.detail, o.clock_start, o.due_at, o.asap, o.register, o.voluntary, o.status,
	o.submitted_at, o.submitted_by, o.submitted_name, o.reference, o.submitted_text, o.late_reason, o.justification,
	o.withdrawn_reason, o.created_at, o.updated_at, o.version`

func scanObligation(r rowScanner, extra ...any) (*vigil.Obligation, error) {
	var o vigil.Obligation
	var d obligationDetail
	dest := []any{&o.ID, &o.IncidentID, &o.Pack, &o.Duty, &o.Stage, &o.Round, scanJSON(&d), scanTime(&o.ClockStart), scanNullTime(&o.DueAt),
		&o.ASAP, &o.Register, &o.Voluntary, &o.Status, scanNullTime(&o.SubmittedAt), scanNullInt(&o.SubmittedBy), &o.SubmittedByName, &o.Reference,
		&o.SubmittedText, &o.LateReason, &o.Justification, &o.WithdrawnReason, scanTime(&o.CreatedAt), scanTime(&o.UpdatedAt), &o.Version}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	o.Title, o.StageName, o.Authority, o.Basis, o.Source, o.Why = d.Title, d.StageName, d.Authority, d.Basis, d.Source, d.Why
	o.NotRequiredHint, o.Content, o.Contact, o.OnRequest, o.StrictDueAt = d.NotRequiredHint, d.Content, d.Contact, d.OnRequest, d.StrictDue
	if o.Content == nil {
		o.Content = []string{}
	}
	return &o, nil
}

// FindProfile returns the default organisation's profile (the default
// until set), to those who hold a role in it: another organisation's
// people read their own (FindOrgProfile).
func (s *DutyService) FindProfile(ctx context.Context) (p *vigil.OrgProfile, err error) {
	defer s.db.op("profile.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := vigil.RequireIn(tx.actor, vigil.DefaultOrganisationID, vigil.PermIncidentRead); err != nil {
			return err
		}
		p, err = tx.profile(vigil.DefaultOrganisationID)
		return err
	})
	return p, err
}

// UpdateProfile sets the default organisation's profile and re-evaluates
// the duties of its open incidents (the most recently updated thousand).
func (s *DutyService) UpdateProfile(ctx context.Context, p *vigil.OrgProfile) (err error) {
	defer s.db.op("profile.update")(&err)
	if err := p.Validate(); err != nil {
		return err
	}
	want := p.Version // fn may run twice (group commit): keep the caller's version apart
	defer s.db.forgetDutyConfig()
	return s.db.write(ctx, func(tx *Tx) error {
		tx.dutyUncached = true
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		return tx.saveProfile(vigil.DefaultOrganisationID, p, want)
	})
}

// FindOrgProfile returns an organisation's profile, for its members and
// PermOrgAdmin.
func (s *DutyService) FindOrgProfile(ctx context.Context, slug string) (p *vigil.OrgProfile, err error) {
	defer s.db.op("profile.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		o, err := tx.findOrgFor(slug)
		if err != nil {
			return err
		}
		p, err = tx.profile(o.ID)
		return err
	})
	return p, err
}

// UpdateOrgProfile sets an organisation's profile (its admins; for the
// default organisation, as UpdateProfile) and re-evaluates the duties of
// its open incidents.
func (s *DutyService) UpdateOrgProfile(ctx context.Context, slug string, p *vigil.OrgProfile) (err error) {
	defer s.db.op("profile.update")(&err)
	if err := p.Validate(); err != nil {
		return err
	}
	want := p.Version
	defer s.db.forgetDutyConfig()
	return s.db.write(ctx, func(tx *Tx) error {
		tx.dutyUncached = true
		o, err := tx.findOrgFor(slug)
		if err != nil {
			return err
		}
		if o.ID == vigil.DefaultOrganisationID {
			err = tx.require(vigil.PermSettingsAdmin)
		} else {
			err = tx.requireOrgAdmin(o)
		}
		if err != nil {
			return err
		}
		return tx.saveProfile(o.ID, p, want)
	})
}

// saveProfile stores organisation org's profile p if want is its current
// version (0: any), and re-evaluates the duties of its open incidents.
func (tx *Tx) saveProfile(org int64, p *vigil.OrgProfile, want int) error {
	before, err := tx.profile(org)
	if err != nil {
		return err
	}
	if want != 0 && want != before.Version {
		return staleVersion(before.Version)
	}
	p.Version = before.Version + 1
	if before.Version == 0 {
		_, err = tx.exec(`INSERT INTO settings (key, value, updated_at, version) VALUES (?, ?, ?, ?)`, profileKey(org), mustJSON(p), tx.now, p.Version)
	} else {
		_, err = tx.exec(`UPDATE settings SET value = ?, updated_at = ?, version = ? WHERE key = ?`, mustJSON(p), tx.now, p.Version, profileKey(org))
	}
	if err != nil {
		return fmt.Errorf("save profile: %w", err)
	}
	tx.audit("settings.profile", "settings", org, before, p)
	return tx.reevaluateOpen(org)
}

// reevaluateOpen evaluates the duties of the open incidents again (the
// thousand most recently updated; organisation org's, or every one's for
// 0), after a profile or a pack changed. It changes them: only those the
// actor may see, not through a coordinator's grant (grants are to read),
// of organisations that are not suspended.
func (tx *Tx) reevaluateOpen(org int64) error {
	v := tx.vis
	v.Coordinator = false
	vis, args := visibleClause(v, false)
	where := vis + ` AND ` + inClause("i.status", quoteAll(vigil.OpenStatuses)) +
		` AND i.organisation_id NOT IN (SELECT o.id FROM organisations o WHERE o.suspended_at IS NOT NULL)`
	if org != 0 {
		where += " AND i.organisation_id = " + strconv.FormatInt(org, 10)
	}
	ids, err := queryAll(tx, scanInt64, `SELECT i.id FROM incidents i WHERE `+where+` ORDER BY i.updated_at DESC LIMIT 1000`, args...)
	if err != nil {
		return err
	}
	for _, id := range ids {
		inc, err := tx.findIncidentByID(id)
		if err != nil {
			return err
		}
		if err := tx.reconcileDuties(inc, false); err != nil {
			return err
		}
	}
	return nil
}

// FindObligations lists an incident's obligations.
func (s *DutyService) FindObligations(ctx context.Context, incidentID int64) (out []*vigil.Obligation, err error) {
	defer s.db.op("obligation.find")(&err)
	out = []*vigil.Obligation{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		if _, err := tx.findIncidentByID(incidentID); err != nil {
			return err
		}
		out, err = queryAll(tx, noExtra(scanObligation), `SELECT `+obligationColumns+` FROM obligations o WHERE o.incident_id = ?
			ORDER BY CASE o.status WHEN 'pending' THEN 0 WHEN 'submitted' THEN 1 WHEN 'not_required' THEN 2 WHEN 'on_request' THEN 3 WHEN 'optional' THEN 4 ELSE 5 END,
			CASE WHEN o.asap THEN 0 WHEN o.due_at IS NOT NULL THEN 1 ELSE 2 END, o.due_at, o.round, o.id`, incidentID)
		if err != nil {
			return err
		}
		now := s.db.Now()
		for _, o := range out {
			o.SetLate(now)
		}
		return nil
	})
	return out, err
}

// FindObligationByID returns one obligation.
func (s *DutyService) FindObligationByID(ctx context.Context, id int64) (o *vigil.Obligation, err error) {
	defer s.db.op("obligation.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		o, _, err = tx.findObligation(id)
		return err
	})
	if o != nil {
		o.SetLate(s.db.Now())
	}
	return o, err
}

// FindDueObligations lists pending obligations due before before (and
// those due as soon as possible), on incidents the actor may see.
func (s *DutyService) FindDueObligations(ctx context.Context, before time.Time, limit int) (out []*vigil.Obligation, err error) {
	defer s.db.op("obligation.due")(&err)
	if limit <= 0 || limit > vigil.MaxPageSize {
		limit = 50
	}
	out = []*vigil.Obligation{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		vis, vargs := tx.visible()
		now := s.db.Now()
		out, err = queryAll(tx, func(r rowScanner) (*vigil.Obligation, error) {
			ref := &vigil.IncidentRef{}
			o, err := scanObligation(r, &ref.Reference, &ref.Title, &ref.Status)
			if err != nil {
				return nil, err
			}
			ref.ID = o.IncidentID
			o.Incident = ref
			o.SetLate(now)
			return o, nil
		}, `SELECT `+obligationColumns+`, i.reference, i.title, i.status FROM obligations o JOIN incidents i ON i.id = o.incident_id
			WHERE o.status = 'pending' AND (o.due_at < ? OR o.asap) AND `+vis+`
			ORDER BY CASE WHEN o.due_at IS NULL THEN 1 ELSE 0 END, o.due_at, o.id LIMIT ?`, append(append([]any{before}, vargs...), limit)...)
		return err
	})
	return out, err
}

// findObligation loads an obligation and its incident, for a change.
func (tx *Tx) findObligation(id int64) (*vigil.Obligation, *vigil.Incident, error) {
	o, err := scanObligation(tx.queryRow(`SELECT `+obligationColumns+` FROM obligations o WHERE o.id = ?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, vigil.Errorf(vigil.ENOTFOUND, "Reporting duty not found.")
	} else if err != nil {
		return nil, nil, err
	}
	inc, err := tx.findIncidentByID(o.IncidentID)
	if err != nil {
		return nil, nil, vigil.Errorf(vigil.ENOTFOUND, "Reporting duty not found.")
	}
	return o, inc, nil
}

// SubmitObligation records that a duty was done. What was submitted is
// kept as it was: a submitted obligation does not change again.
func (s *DutyService) SubmitObligation(ctx context.Context, id int64, sub vigil.Submission) (out *vigil.Obligation, err error) {
	defer s.db.op("obligation.submit")(&err)
	sub.Reference, sub.LateReason = strings.TrimSpace(sub.Reference), strings.TrimSpace(sub.LateReason)
	var p vigil.Problems
	if utf8.RuneCountInString(sub.Reference) > 200 {
		p.Add("reference", "At most 200 characters.")
	}
	if utf8.RuneCountInString(sub.Text) > vigil.MaxSubmissionText || !utf8.ValidString(sub.Text) {
		p.Add("text", "At most %d characters of text.", vigil.MaxSubmissionText)
	}
	if utf8.RuneCountInString(sub.LateReason) > vigil.MaxReasonText {
		p.Add("late_reason", "At most %d characters.", vigil.MaxReasonText)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Obligation, error) { return tx.submitObligation(id, sub) })
	if out != nil {
		out.SetLate(s.db.Now())
	}
	return out, err
}

// WaiveObligation records that a duty does not apply, with the reason.
func (s *DutyService) WaiveObligation(ctx context.Context, id int64, justification string, version int) (out *vigil.Obligation, err error) {
	defer s.db.op("obligation.waive")(&err)
	justification = strings.TrimSpace(justification)
	switch {
	case justification == "":
		return nil, vigil.Invalid("justification", "Say why the duty does not apply; the record is what shows the decision was made.")
	case utf8.RuneCountInString(justification) > vigil.MaxReasonText:
		return nil, vigil.Invalid("justification", "At most %d characters.", vigil.MaxReasonText)
	}
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Obligation, error) { return tx.waiveObligation(id, justification, version) })
	if out != nil {
		out.SetLate(s.db.Now())
	}
	return out, err
}

// submitObligation records a submission in tx (SubmitObligation).
func (tx *Tx) submitObligation(id int64, sub vigil.Submission) (*vigil.Obligation, error) {
	var out *vigil.Obligation
	if err := tx.require(vigil.PermDutySubmit); err != nil {
		return out, err
	}
	o, inc, err := tx.findObligation(id)
	if err != nil {
		return out, err
	}
	if sub.Version != 0 && sub.Version != o.Version {
		return out, staleVersion(o.Version)
	}
	if o.Status != vigil.ObligationPending && o.Status != vigil.ObligationOptional {
		return out, vigil.Invalid("status", "This duty is %s; only a pending duty, or a voluntary one, can be submitted.", strings.ReplaceAll(string(o.Status), "_", " "))
	}
	at := tx.now
	if sub.At != nil {
		at = vigil.TruncateTime(*sub.At)
		if at.After(tx.now) {
			return out, vigil.Invalid("at", "The submission time cannot be in the future.")
		}
		if at.Before(o.ClockStart) {
			return out, vigil.Invalid("at", "The submission time is before the duty's clock started.")
		}
	}
	if o.DueAt != nil && at.After(*o.DueAt) && sub.LateReason == "" {
		return out, vigil.Invalid("late_reason", "This is after the due time: say why it is late (the ICO asks for the reasons for a delay, UK GDPR Art. 33(1)).")
	}
	if _, err := tx.exec(`UPDATE obligations SET status = 'submitted', submitted_at = ?, submitted_by = ?, submitted_name = ?, reference = ?,
		submitted_text = ?, late_reason = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		at, tx.actorID(), tx.actorName(), sub.Reference, sub.Text, sub.LateReason, tx.now, id); err != nil {
		return out, err
	}
	msg := fmt.Sprintf("Reporting duty submitted: %s — %s, to %s", o.Title, stageLabel(o.StageName, o.Round), o.Authority)
	if o.Voluntary {
		msg = fmt.Sprintf("Voluntary notification sent: %s — %s, to %s", o.Title, stageLabel(o.StageName, o.Round), o.Authority)
	}
	if sub.Reference != "" {
		msg += " (reference " + sub.Reference + ")"
	}
	if sub.LateReason != "" {
		msg += ". Late because: " + sub.LateReason
	}
	if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, at, msg+".", nil); err != nil {
		return out, err
	}
	tx.audit("obligation.submit", "obligation", id, map[string]any{"status": o.Status},
		map[string]any{"status": vigil.ObligationSubmitted, "at": at, "reference": sub.Reference, "late_reason": sub.LateReason})
	// A later stage may count from this submission.
	if err := tx.reconcileDuties(inc, false); err != nil {
		return out, err
	}
	out, _, err = tx.findObligation(id)
	return out, err
}

// waiveObligation records in tx that a duty is not required (WaiveObligation).
func (tx *Tx) waiveObligation(id int64, justification string, version int) (*vigil.Obligation, error) {
	var out *vigil.Obligation
	if err := tx.require(vigil.PermDutySubmit); err != nil {
		return out, err
	}
	o, inc, err := tx.findObligation(id)
	if err != nil {
		return out, err
	}
	if version != 0 && version != o.Version {
		return out, staleVersion(o.Version)
	}
	if o.Status != vigil.ObligationPending && o.Status != vigil.ObligationOptional {
		return out, vigil.Invalid("status", "Only a pending duty, or a voluntary one not sent, can be recorded as not required.")
	}
	if o.NotRequiredHint == "" {
		return out, vigil.Invalid("justification", "This duty cannot be set aside; it applies whenever its conditions hold.")
	}
	if _, err := tx.exec(`UPDATE obligations SET status = 'not_required', justification = ?, submitted_by = ?, submitted_name = ?,
		updated_at = ?, version = version + 1 WHERE id = ?`, justification, tx.actorID(), tx.actorName(), tx.now, id); err != nil {
		return out, err
	}
	msg := fmt.Sprintf("Reporting duty recorded as not required: %s — %s. Why: %s", o.Title, stageLabel(o.StageName, o.Round), justification)
	if o.Voluntary {
		msg = fmt.Sprintf("Voluntary notification not to be sent: %s — %s. Why: %s", o.Title, o.StageName, justification)
	}
	if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, msg, nil); err != nil {
		return out, err
	}
	tx.audit("obligation.waive", "obligation", id, map[string]any{"status": o.Status},
		map[string]any{"status": vigil.ObligationNotRequired, "justification": justification})
	out, _, err = tx.findObligation(id)
	return out, err
}

// ExplainDelay records the reasons for the delay of a duty submitted after
// its due time without them.
func (s *DutyService) ExplainDelay(ctx context.Context, id int64, reason string, version int) (out *vigil.Obligation, err error) {
	defer s.db.op("obligation.explain_delay")(&err)
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, vigil.Invalid("late_reason", "Give the reasons for the delay.")
	case utf8.RuneCountInString(reason) > vigil.MaxReasonText:
		return nil, vigil.Invalid("late_reason", "At most %d characters.", vigil.MaxReasonText)
	}
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Obligation, error) {
		var out *vigil.Obligation
		if err := tx.require(vigil.PermDutySubmit); err != nil {
			return out, err
		}
		o, inc, err := tx.findObligation(id)
		if err != nil {
			return out, err
		}
		if version != 0 && version != o.Version {
			return out, staleVersion(o.Version)
		}
		o.SetLate(tx.now)
		if !o.DelayUnexplained {
			if o.Status == vigil.ObligationSubmitted && o.Late {
				return out, vigil.Invalid("late_reason", "The reasons for the delay are already recorded.")
			}
			return out, vigil.Invalid("late_reason", "Only a duty submitted after its due time takes reasons for a delay.")
		}
		if _, err := tx.exec(`UPDATE obligations SET late_reason = ?, updated_at = ?, version = version + 1 WHERE id = ?`, reason, tx.now, id); err != nil {
			return out, err
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty %s — %s: late because: %s.",
			o.Title, stageLabel(o.StageName, o.Round), reason), nil); err != nil {
			return out, err
		}
		tx.audit("obligation.explain_delay", "obligation", id, map[string]any{"late_reason": o.LateReason}, map[string]any{"late_reason": reason})
		out, _, err = tx.findObligation(id)
		return out, err
	})
	if out != nil {
		out.SetLate(s.db.Now())
	}
	return out, err
}

// RequestObligation opens a stage owed on request, due when the request says.
func (s *DutyService) RequestObligation(ctx context.Context, id int64, due time.Time, version int) (out *vigil.Obligation, err error) {
	defer s.db.op("obligation.request")(&err)
	if due.IsZero() {
		return nil, vigil.Invalid("due_at", "Give the deadline the request set.")
	}
	due = vigil.TruncateTime(due)
	out, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Obligation, error) {
		var out *vigil.Obligation
		if err := tx.require(vigil.PermDutySubmit); err != nil {
			return out, err
		}
		o, inc, err := tx.findObligation(id)
		if err != nil {
			return out, err
		}
		if version != 0 && version != o.Version {
			return out, staleVersion(o.Version)
		}
		switch {
		case !o.OnRequest:
			return out, vigil.Invalid("due_at", "This duty is not opened on request: its deadline comes from its pack.")
		case o.Status == vigil.ObligationSubmitted || o.Status == vigil.ObligationNotRequired:
			var next int64
			if err := tx.queryRow(`SELECT id FROM obligations WHERE incident_id = ? AND pack = ? AND duty = ? AND stage = ? AND status = 'on_request'`,
				o.IncidentID, o.Pack, o.Duty, o.Stage).Scan(&next); err == nil {
				return out, vigil.Invalid("status", "This report is %s and kept as it was; record a new request on the next one (duty %d).",
					strings.ReplaceAll(string(o.Status), "_", " "), next)
			}
			return out, vigil.Invalid("status", "This duty is %s; only one not yet sent can be requested.", strings.ReplaceAll(string(o.Status), "_", " "))
		case o.Status != vigil.ObligationOnRequest && o.Status != vigil.ObligationPending:
			return out, vigil.Invalid("status", "This duty is %s; only one not yet sent can be requested.", strings.ReplaceAll(string(o.Status), "_", " "))
		case due.Before(o.ClockStart):
			return out, vigil.Invalid("due_at", "The deadline is before the duty's clock started.")
		}
		if _, err := tx.exec(`UPDATE obligations SET status = 'pending', clock_start = ?, due_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			tx.now, due, tx.now, id); err != nil {
			return out, err
		}
		profile, _, err := tx.dutyConfigFor(inc.OrganisationID)
		if err != nil {
			return out, err
		}
		loc, _ := profile.Location()
		verb := "requested"
		if o.Status == vigil.ObligationPending {
			verb = "requested again"
		}
		if _, err := tx.addTimeline(inc.ID, vigil.KindDuty, tx.now, fmt.Sprintf("Reporting duty %s: %s — %s, due %s (%s).",
			verb, o.Title, stageLabel(o.StageName, o.Round), due.In(loc).Format("Mon 2 Jan 2006 15:04 MST"), o.Basis), nil); err != nil {
			return out, err
		}
		tx.audit("obligation.request", "obligation", id, map[string]any{"status": o.Status, "due_at": o.DueAt},
			map[string]any{"status": vigil.ObligationPending, "due_at": due})
		out, _, err = tx.findObligation(id)
		return out, err
	})
	if out != nil {
		out.SetLate(s.db.Now())
	}
	return out, err
}

// FindPacks lists the packs in force.
func (s *DutyService) FindPacks(ctx context.Context) (out []*vigil.PackInfo, err error) {
	defer s.db.op("pack.find")(&err)
	bodies, err := duty.ShippedBodies()
	if err != nil {
		return nil, err
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		ps, err := tx.dutyPacks()
		if err != nil {
			return err
		}
		updated, err := queryMap(tx, func(r rowScanner) (id string, at time.Time, err error) {
			err = r.Scan(&id, scanTime(&at))
			return id, at, err
		}, `SELECT id, updated_at FROM duty_packs`)
		if err != nil {
			return err
		}
		for _, p := range ps {
			info := &vigil.PackInfo{ID: p.ID, Name: p.Name, Version: p.Version, Status: p.Status, Basis: p.Basis, Duties: len(p.Duties)}
			_, info.Shipped = bodies[p.ID]
			if at, ok := updated[p.ID]; ok {
				info.Custom, info.UpdatedAt = true, &at
			}
			info.Body = []byte(mustJSON(p))
			out = append(out, info)
		}
		return nil
	})
	return out, err
}

// SavePack validates and stores an admin's pack.
func (s *DutyService) SavePack(ctx context.Context, body []byte) (info *vigil.PackInfo, err error) {
	defer s.db.op("pack.save")(&err)
	if len(body) > 256<<10 {
		return nil, vigil.Invalid("body", "A pack is at most 256 KB.")
	}
	p, err := duty.Parse(body)
	if err != nil {
		return nil, err
	}
	defer s.db.forgetDutyConfig()
	info, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.PackInfo, error) {
		var info *vigil.PackInfo
		tx.dutyUncached = true
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return info, err
		}
		norm := mustJSON(p)
		res, err := tx.exec(`UPDATE duty_packs SET body = ?, updated_at = ?, version = version + 1 WHERE id = ?`, norm, tx.now, p.ID)
		if err != nil {
			return info, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.exec(`INSERT INTO duty_packs (id, body, updated_at, version) VALUES (?, ?, ?, 1)`, p.ID, norm, tx.now); err != nil {
				return info, err
			}
		}
		tx.audit("duty_pack.save", "duty_pack", 0, nil, map[string]any{"id": p.ID, "version": p.Version, "pack": p})
		if err := tx.reevaluateOpen(0); err != nil {
			return info, err
		}
		at := tx.now
		info = &vigil.PackInfo{ID: p.ID, Name: p.Name, Version: p.Version, Status: p.Status, Basis: p.Basis, Duties: len(p.Duties), Custom: true,
			UpdatedAt: &at, Body: []byte(norm)}
		return info, nil
	})
	if err != nil {
		return nil, err
	}
	if bodies, err := duty.ShippedBodies(); err == nil {
		_, info.Shipped = bodies[info.ID]
	}
	return info, nil
}

// DeletePack removes an admin's pack.
func (s *DutyService) DeletePack(ctx context.Context, id string) (err error) {
	defer s.db.op("pack.delete")(&err)
	defer s.db.forgetDutyConfig()
	return s.db.write(ctx, func(tx *Tx) error {
		tx.dutyUncached = true
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM duty_packs WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "No pack of yours with the id %q (shipped packs are replaced by saving one with their id).", id)
		}
		tx.audit("duty_pack.delete", "duty_pack", 0, map[string]any{"id": id}, nil)
		return tx.reevaluateOpen(0)
	})
}
