package vigil

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// StaffReport is what a member of staff tells us on the public report page.
// Everything but What is optional, contact details included: the NCSC asks
// for a culture where people report without fear, so anonymous is allowed.
type StaffReport struct {
	// Organisation is the slug of the organisation whose report page it
	// came from ("" is the default organisation): the incident is filed
	// there, and its receipt code works only on that page.
	Organisation string     `json:"organisation"`
	What         string     `json:"what"`          // what happened, in their words
	When         *time.Time `json:"when"`          // when it happened, if they know
	System       string     `json:"system"`        // which system, service or device
	PersonalData string     `json:"personal_data"` // "yes", "no" or "unsure"
	Name         string     `json:"name"`
	Email        string     `json:"email"`
	Phone        string     `json:"phone"`
}

// Limits on a staff report.
const (
	MaxReportWhat    = 10000
	MaxReportField   = 200
	MaxReportAddInfo = 10000
)

// Normalize trims the report's fields.
func (r *StaffReport) Normalize() {
	for _, p := range []*string{&r.Organisation, &r.What, &r.System, &r.PersonalData, &r.Name, &r.Email, &r.Phone} {
		*p = strings.TrimSpace(*p)
	}
	if r.PersonalData == "" {
		r.PersonalData = "unsure"
	}
}

// Validate checks the report, with messages a member of staff understands.
func (r *StaffReport) Validate(now time.Time) error {
	var p Problems
	switch {
	case r.What == "":
		p.Add("what", "Please tell us what happened, in your own words.")
	case utf8.RuneCountInString(r.What) > MaxReportWhat || !utf8.ValidString(r.What):
		p.Add("what", "Please keep the description under %d characters.", MaxReportWhat)
	}
	if r.When != nil && r.When.After(now.Add(time.Hour)) {
		p.Add("when", "That time is in the future.")
	}
	for _, f := range []struct{ name, v string }{{"system", r.System}, {"name", r.Name}, {"email", r.Email}, {"phone", r.Phone}} {
		if utf8.RuneCountInString(f.v) > MaxReportField || !utf8.ValidString(f.v) {
			p.Add(f.name, "Please keep this under %d characters.", MaxReportField)
		}
	}
	if r.Email != "" {
		if _, err := NormalizeEmail(r.Email); err != nil {
			p.Add("email", "That does not look like an e-mail address. Leave it empty to stay anonymous.")
		}
	}
	if r.PersonalData != "yes" && r.PersonalData != "no" && r.PersonalData != "unsure" {
		p.Add("personal_data", "Choose yes, no or not sure.")
	}
	return p.Err()
}

// Anonymous reports whether the reporter left no contact details.
func (r *StaffReport) Anonymous() bool { return r.Name == "" && r.Email == "" && r.Phone == "" }

// Incident turns the report into a new incident in triage.
func (r *StaffReport) Incident() *Incident {
	title := r.What
	if i := strings.IndexAny(title, "\r\n"); i >= 0 {
		title = title[:i]
	}
	if utf8.RuneCountInString(title) > 100 {
		title = string([]rune(title)[:97]) + "..."
	}
	var b strings.Builder
	b.WriteString(r.What)
	b.WriteString("\n\n--\nReported on the staff report page.")
	if r.System != "" {
		fmt.Fprintf(&b, "\nSystem: %s", r.System)
	}
	fmt.Fprintf(&b, "\nPersonal data involved: %s", r.PersonalData)
	if r.Anonymous() {
		b.WriteString("\nReporter: anonymous")
	} else {
		fmt.Fprintf(&b, "\nReporter: %s", strings.Join(nonEmpty(r.Name, r.Email, r.Phone), ", "))
	}
	inc := &Incident{
		Title:        "Staff report: " + title,
		Summary:      b.String(),
		Type:         TypeOther,
		Severity:     SeverityMedium,
		TLP:          TLPAmber,
		Status:       StatusTriage,
		Source:       SourceStaffReport,
		PersonalData: r.PersonalData == "yes",
	}
	if r.System != "" {
		inc.AffectedServices = []string{r.System}
	}
	if r.When != nil {
		t := *r.When
		inc.Times.OccurredAt = &t
	}
	return inc
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ReportStatus is what a reporter sees with their receipt code: enough to
// know their report was heard, nothing about the investigation.
type ReportStatus struct {
	Reference   string    `json:"reference"`
	Status      string    `json:"status"` // plain words, from PublicStatus
	SubmittedAt time.Time `json:"submitted_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Additions are what the reporter added later, oldest first.
	Additions []ReportAddition `json:"additions"`
}

// ReportAddition is information a reporter added with their receipt code.
type ReportAddition struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// PublicStatus says where a report is in words for the person who made it.
func PublicStatus(s Status) string {
	switch s {
	case StatusTriage:
		return "Received: the security team is looking at it."
	case StatusConfirmed, StatusContained, StatusRecovered:
		return "The security team is dealing with it. Thank you for telling us."
	case StatusClosed, StatusReviewed:
		return "Dealt with and closed. Thank you for telling us."
	case StatusNotIncident:
		return "Looked at: it was not a security incident. Thank you for telling us; please keep reporting."
	case StatusPolice:
		return "Looked at: it is a matter for the police, and the security team has referred it."
	case StatusReportFraud:
		return "Looked at: it is fraud or cyber crime, and has been referred to Report Fraud, the police's national reporting service."
	case StatusDuplicate:
		return "Someone else reported the same thing; it is being dealt with together with their report."
	}
	return "Received."
}

// ReportPage is what the public report page of an organisation may show
// of it: nothing but its slug and name.
type ReportPage struct {
	Organisation string `json:"organisation"` // the slug
	Name         string `json:"name"`
}

// ReportService takes staff reports. It needs no actor: the report page is
// public, and the receipt code is the reporter's only key. Each
// organisation has its own page (org, a slug; "" is the default
// organisation); an unknown or suspended organisation has none, and every
// method answers ENOTFOUND for it, alike, so that the pages tell nobody
// which organisations exist. A receipt code works only with the
// organisation its report was filed in.
type ReportService interface {
	// FindReportPage returns the report page of organisation org.
	FindReportPage(ctx context.Context, org string) (*ReportPage, error)
	// SubmitReport validates r and files it as a new incident in triage with
	// source staff_report, in r.Organisation. It returns the receipt code,
	// shown once, and the incident's reference.
	SubmitReport(ctx context.Context, r *StaffReport) (receipt, reference string, err error)
	// FindReport returns the status of the report with that receipt code
	// in organisation org. ENOTFOUND for an unknown code, or one of
	// another organisation's reports.
	FindReport(ctx context.Context, org, receipt string) (*ReportStatus, error)
	// AddToReport adds information to a report of organisation org; it
	// appears on the incident's timeline. ENOTFOUND, EINVALID.
	AddToReport(ctx context.Context, org, receipt, text string) error
}

// receiptAlphabet is Crockford's base 32: no I, L, O or U to misread.
const receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewReceiptCode returns a random receipt code of 80 bits, such as
// "R7KD-3M9Q-XW2A-HV6T", too many to guess at any rate the report page allows.
func NewReceiptCode() string {
	var b [16]byte
	rand.Read(b[:])
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(receiptAlphabet[c&31])
	}
	return s.String()
}

// NormalizeReceiptCode upper-cases a typed code, drops spaces and dashes and
// maps the letters people confuse (O to 0, I and L to 1). ok is false when it
// cannot be a receipt code.
func NormalizeReceiptCode(s string) (string, bool) {
	var out strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(receiptAlphabet, r) {
			return "", false
		}
		out.WriteRune(r)
	}
	if out.Len() != 16 {
		return "", false
	}
	return out.String(), true
}

// HashReceiptCode is what the store keeps of a receipt code.
func HashReceiptCode(normalized string) string {
	h := sha256.Sum256([]byte("vigil-receipt:" + normalized))
	return hex.EncodeToString(h[:])
}
