package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-ir/vigil"
)

const responseColumns = `r.id, a.reference, o.slug, o.name, r.status, r.note, r.responded_name, r.responded_at`

func scanResponse(r rowScanner) (*vigil.AdvisoryResponse, error) {
	var x vigil.AdvisoryResponse
	err := r.Scan(&x.ID, &x.Advisory, &x.Organisation, &x.OrganisationName, &x.Status, &x.Note, &x.RespondedBy, scanTime(&x.RespondedAt))
	return &x, err
}

// RespondToAdvisory records a member organisation's answer. The answering
// organisation is one the advisory is addressed to, at the actor's
// clearance there, where their role allows answering (above reporter);
// if they belong to several such, they must say which.
func (s *AdvisoryService) RespondToAdvisory(ctx context.Context, ref string, in vigil.AdvisoryResponseInput) (out *vigil.AdvisoryResponse, err error) {
	defer s.db.op("advisory.respond")(&err)
	if err := in.Prepare(); err != nil {
		return nil, err
	}
	return writeV(ctx, s.db, func(tx *Tx) (*vigil.AdvisoryResponse, error) {
		a, _, err := tx.findAdvisory(ref)
		if err != nil {
			return nil, err
		}
		if err := tx.fillAdvisory(a, vigil.AdvisoryAccess{Staff: true}, false); err != nil {
			return nil, err
		}
		if !a.Status.Published() {
			return nil, vigil.Invalid("status", "Members answer published advisories; this one is %s.", a.Status)
		}
		if a.Status == vigil.AdvisoryWithdrawn {
			return nil, vigil.Invalid("status", "The advisory was withdrawn: there is nothing to answer.")
		}
		org, err := tx.answeringOrg(a, in.Organisation)
		if err != nil {
			return nil, err
		}
		st, err := tx.touchOrg(org.ID) // the audit event is the member's
		if err != nil {
			return nil, err
		}
		if st.suspended {
			return nil, vigil.Errorf(vigil.EFORBIDDEN, "%s is suspended: it is read-only.", org.Name)
		}
		r := &vigil.AdvisoryResponse{Advisory: a.Reference, Organisation: org.Slug, OrganisationName: org.Name, Status: in.Status,
			Note: in.Note, RespondedBy: tx.actorName(), RespondedAt: tx.now}
		r.ID, err = tx.insert(`INSERT INTO advisory_responses (advisory_id, organisation_id, status, note, responded_by, responded_name, responded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, org.ID, r.Status, r.Note, tx.actorID(), r.RespondedBy, r.RespondedAt)
		if err != nil {
			return nil, fmt.Errorf("insert advisory response: %w", err)
		}
		tx.audit("advisory.respond", "advisory", a.ID, nil, r)
		return r, nil
	})
}

// answeringOrg picks the member organisation an answer is for (see
// RespondToAdvisory). a is filled as the coordinator's staff see it, so
// that its audience names its members.
func (tx *Tx) answeringOrg(a *vigil.Advisory, slug string) (*vigil.Organisation, error) {
	acc := vigil.AdvisoryAccessFor(tx.actor)
	orgs, err := tx.orgsByID(acc)
	if err != nil {
		return nil, err
	}
	var may, seen []*vigil.Organisation
	for _, m := range acc.Members {
		o := orgs[m.OrgID]
		if !(vigil.AdvisoryAccess{Members: []vigil.MemberClearance{m}}).CanSee(a, orgs) {
			continue
		}
		seen = append(seen, o)
		if tx.actor.CanIn(o.ID, vigil.PermAdvisoryRespond) {
			may = append(may, o)
		}
	}
	if slug != "" {
		i := slices.IndexFunc(seen, func(o *vigil.Organisation) bool { return o.Slug == slug })
		switch {
		case i < 0:
			return nil, vigil.Invalid("organisation", "The advisory is not addressed to an organisation %q of yours.", slug)
		case !slices.Contains(may, seen[i]):
			return nil, vigil.RequireIn(tx.actor, seen[i].ID, vigil.PermAdvisoryRespond)
		}
		return seen[i], nil
	}
	switch {
	case len(may) == 1:
		return may[0], nil
	case len(may) > 1:
		return nil, vigil.Invalid("organisation", "You belong to several organisations the advisory is for: say which one answers.")
	case len(seen) > 0:
		return nil, vigil.RequireIn(tx.actor, seen[0].ID, vigil.PermAdvisoryRespond)
	}
	return nil, vigil.Errorf(vigil.EFORBIDDEN, "Member organisations answer advisories; the coordinator reads their answers.")
}

// FindAdvisoryResponses returns the answers as the reader may see them:
// the coordinator's staff, the table of every member the advisory is for
// with its latest answer, and who has not answered; a member's users,
// their own organisations' answers.
func (s *AdvisoryService) FindAdvisoryResponses(ctx context.Context, ref string) (out *vigil.AdvisoryResponses, err error) {
	defer s.db.op("advisory.responses")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		a, acc, err := tx.findAdvisory(ref)
		if err != nil {
			return err
		}
		out = &vigil.AdvisoryResponses{Advisory: a.Reference}
		if !acc.Staff {
			ids := make([]any, 0, len(acc.Members))
			for _, m := range acc.Members {
				ids = append(ids, m.OrgID)
			}
			out.Answers, err = queryAll(tx, scanResponse, `SELECT `+responseColumns+` FROM advisory_responses r
				JOIN advisories a ON a.id = r.advisory_id JOIN organisations o ON o.id = r.organisation_id
				WHERE r.advisory_id = ? AND r.organisation_id IN (`+placeholders(len(ids))+`) ORDER BY r.id DESC`, append([]any{a.ID}, ids...)...)
			return err
		}
		if err := tx.fillAdvisory(a, acc, false); err != nil {
			return err
		}
		out.Answers, err = queryAll(tx, scanResponse, `SELECT `+responseColumns+` FROM advisory_responses r
			JOIN advisories a ON a.id = r.advisory_id JOIN organisations o ON o.id = r.organisation_id
			WHERE r.advisory_id = ? ORDER BY r.id DESC`, a.ID)
		if err != nil {
			return err
		}
		// Every member the advisory is for now, and any that answered
		// while it was (the audience may have changed since).
		members, err := queryAll(tx, scanOrg, `SELECT `+orgColumns+` FROM organisations o WHERE o.kind = 'member' ORDER BY o.name, o.slug`)
		if err != nil {
			return err
		}
		latest := map[string]*vigil.AdvisoryResponse{}
		for _, r := range out.Answers { // newest first
			if latest[r.Organisation] == nil {
				latest[r.Organisation] = r
			}
		}
		out.Counts = map[string]int{"none": 0}
		for _, st := range vigil.AdvisoryResponseStatuses {
			out.Counts[string(st)] = 0
		}
		out.Table, out.Silent = []*vigil.AdvisoryResponseRow{}, []string{}
		for _, o := range members {
			r := latest[o.Slug]
			if r == nil && !a.Audience.Includes(o) {
				continue
			}
			row := &vigil.AdvisoryResponseRow{Organisation: o.Slug, OrganisationName: o.Name, Sector: o.Sector}
			if r == nil {
				out.Counts["none"]++
				out.Silent = append(out.Silent, o.Slug)
			} else {
				row.Status, row.Note, row.RespondedBy, row.RespondedAt = r.Status, r.Note, r.RespondedBy, new(r.RespondedAt)
				out.Counts[string(r.Status)]++
			}
			out.Table = append(out.Table, row)
		}
		return nil
	})
	return out, err
}
