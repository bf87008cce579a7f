package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// ReportService implements vigil.ReportService.
type ReportService struct{ db *DB }

// reportActor is who files staff reports and their additions: the public
// page itself, recorded under this name in the timeline and audit log.
var reportActor = vigil.SystemActor("staff-report")

func (s *ReportService) ctx(ctx context.Context) context.Context {
	return vigil.NewContextWithActor(ctx, reportActor)
}

// errNoReportPage is the answer for an organisation without a report
// page: unknown and suspended alike, so that the public pages tell nobody
// which organisations exist, or which of them are suspended.
var errNoReportPage = vigil.Errorf(vigil.ENOTFOUND, "There is no report page at this address. Check it with your IT service desk.")

// reportOrg loads the organisation of a report page: slug, or the default
// organisation for "". Unknown and suspended are errNoReportPage.
func (tx *Tx) reportOrg(slug string) (*vigil.Organisation, error) {
	slug = strings.ToLower(strings.TrimSpace(slug))
	if slug == "" {
		slug = vigil.DefaultOrganisationSlug
	}
	if vigil.ValidSlug("organisation", slug) != nil {
		return nil, errNoReportPage
	}
	o, err := tx.findOrg(slug)
	switch {
	case vigil.ErrorCode(err) == vigil.ENOTFOUND:
		return nil, errNoReportPage
	case err != nil:
		return nil, err
	case o.SuspendedAt != nil:
		return nil, errNoReportPage
	}
	return o, nil
}

// FindReportPage returns the slug and name of an organisation with a
// report page.
func (s *ReportService) FindReportPage(ctx context.Context, org string) (p *vigil.ReportPage, err error) {
	defer s.db.op("report.page")(&err)
	err = s.db.read(s.ctx(ctx), func(tx *Tx) error {
		o, err := tx.reportOrg(org)
		if err != nil {
			return err
		}
		p = &vigil.ReportPage{Organisation: o.Slug, Name: o.Name}
		return nil
	})
	return p, err
}

// SubmitReport files r as an incident in triage, in the organisation of
// its page, and the report row that ties the receipt code to it, in one
// transaction.
func (s *ReportService) SubmitReport(ctx context.Context, r *vigil.StaffReport) (receipt, reference string, err error) {
	defer s.db.op("report.submit")(&err)
	r.Normalize()
	if err := r.Validate(s.db.Now()); err != nil {
		return "", "", err
	}
	receipt = vigil.NewReceiptCode()
	norm, _ := vigil.NormalizeReceiptCode(receipt)
	reference, err = writeV(s.ctx(ctx), s.db, func(tx *Tx) (string, error) {
		o, err := tx.reportOrg(r.Organisation)
		if err != nil {
			return "", err
		}
		inc := r.Incident()
		inc.Organisation = o.Slug
		if err := tx.createIncident(inc); err != nil {
			return "", err
		}
		id, err := tx.insert(`INSERT INTO reports (incident_id, receipt_hash, system, personal_data, contact_name, contact_email, contact_phone, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, inc.ID, vigil.HashReceiptCode(norm), r.System, r.PersonalData, r.Name, r.Email, r.Phone, tx.now)
		if err != nil {
			return "", fmt.Errorf("insert report: %w", err)
		}
		// The audit event names the report, never the receipt code.
		tx.audit("report.submit", "report", id, nil, map[string]any{"incident_id": inc.ID, "organisation": o.Slug, "anonymous": r.Anonymous()})
		return inc.Reference, nil
	})
	if err != nil {
		return "", "", err
	}
	return receipt, reference, nil
}

// errNoReport is the answer for a receipt code that names no report of
// the page's organisation: one of another organisation's reports is
// answered alike, so that a code tells nothing on another's page.
var errNoReport = vigil.Errorf(vigil.ENOTFOUND, "We cannot find a report with that receipt code. Check it and try again.")

// findReport returns the report's ID and incident for a receipt code of
// organisation org's report page. The report is found by the
// organisation its incident is in now.
func (tx *Tx) findReport(org, receipt string) (reportID int64, inc *vigil.Incident, err error) {
	o, err := tx.reportOrg(org)
	if err != nil {
		return 0, nil, err
	}
	norm, ok := vigil.NormalizeReceiptCode(receipt)
	if !ok {
		return 0, nil, errNoReport
	}
	var incidentID int64
	err = tx.queryRow(`SELECT r.id, r.incident_id FROM reports r JOIN incidents i ON i.id = r.incident_id
		WHERE r.receipt_hash = ? AND i.organisation_id = ?`, vigil.HashReceiptCode(norm), o.ID).Scan(&reportID, &incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, errNoReport
	} else if err != nil {
		return 0, nil, err
	}
	inc, err = tx.findIncidentByID(incidentID)
	return reportID, inc, err
}

// FindReport returns what the reporter may know about their report.
func (s *ReportService) FindReport(ctx context.Context, org, receipt string) (st *vigil.ReportStatus, err error) {
	defer s.db.op("report.find")(&err)
	err = s.db.read(s.ctx(ctx), func(tx *Tx) error {
		id, inc, err := tx.findReport(org, receipt)
		if err != nil {
			return err
		}
		st = &vigil.ReportStatus{Reference: inc.Reference, Status: vigil.PublicStatus(inc.Status),
			SubmittedAt: inc.CreatedAt, UpdatedAt: inc.UpdatedAt}
		st.Additions, err = queryAll(tx, func(r rowScanner) (a vigil.ReportAddition, err error) {
			err = r.Scan(&a.Text, scanTime(&a.At))
			return a, err
		}, `SELECT body, created_at FROM report_additions WHERE report_id = ? ORDER BY id`, id)
		return err
	})
	return st, err
}

// AddToReport records more information from the reporter on the report and
// as a note on the incident's timeline.
func (s *ReportService) AddToReport(ctx context.Context, org, receipt, text string) (err error) {
	defer s.db.op("report.add")(&err)
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return vigil.Invalid("text", "Write what you want to add.")
	case utf8.RuneCountInString(text) > vigil.MaxReportAddInfo || !utf8.ValidString(text):
		return vigil.Invalid("text", "Please keep it under %d characters.", vigil.MaxReportAddInfo)
	}
	return s.db.write(s.ctx(ctx), func(tx *Tx) error {
		id, inc, err := tx.findReport(org, receipt)
		if err != nil {
			return err
		}
		aid, err := tx.insert(`INSERT INTO report_additions (report_id, body, created_at) VALUES (?, ?, ?)`, id, text, tx.now)
		if err != nil {
			return fmt.Errorf("insert report addition: %w", err)
		}
		e, err := tx.addTimeline(inc.ID, vigil.KindNote, tx.now, "The reporter added: "+text, nil)
		if err != nil {
			return err
		}
		if err := tx.indexDoc(inc.ID, vigil.SearchNote, e.ID, e.Message); err != nil {
			return err
		}
		if err := tx.touchIncident(inc.ID); err != nil {
			return err
		}
		tx.audit("report.add", "report", id, nil, map[string]any{"addition_id": aid, "incident_id": inc.ID})
		return nil
	})
}
