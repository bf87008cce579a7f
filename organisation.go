package vigil

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// An Organisation is one of the organisations a Vigil serves: the one
// that runs it (the coordinator, a CERT or an MSSP; the only one in most
// installs) or a member that reports to it. Each sees only its own
// incidents (docs/organisations.md).
type Organisation struct {
	ID           int64      `json:"-"`
	Slug         string     `json:"slug"` // URL-safe, unique, never changes
	Name         string     `json:"name"`
	Kind         OrgKind    `json:"kind"`
	Sector       string     `json:"sector"`
	ContactEmail string     `json:"contact_email"`
	ContactPhone string     `json:"contact_phone"`
	SuspendedAt  *time.Time `json:"suspended_at"` // read-only while set: nothing is deleted
	// CoordinatorGrant is what a member lets the coordinator's staff see
	// of its incidents; only the member's own admins change it.
	CoordinatorGrant Grant     `json:"coordinator_grant"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	Version          int       `json:"version"`
	// Role is the reader's own role in it, when they are a member.
	Role Role `json:"role,omitempty"`
}

// OrgKind is what an organisation is to the others.
type OrgKind string

// The kinds of organisation.
const (
	OrgCoordinator OrgKind = "coordinator" // runs the install; organisations report up to it
	OrgMember      OrgKind = "member"
)

// OrgKinds lists the kinds.
var OrgKinds = []OrgKind{OrgCoordinator, OrgMember}

// Valid reports whether k is a known kind.
func (k OrgKind) Valid() bool { return inEnum(k, OrgKinds) }

// Grant is how much of a member's incidents the coordinator's staff see.
// TLP:RED incidents stay with their members whatever the grant.
type Grant string

// The grants.
const (
	GrantNone Grant = "none"
	// GrantSummary: what a significant-incident report to a CERT holds —
	// reference, title, type, category, severity, status, significance and
	// the key times — in lists and on the incident; nothing under it.
	GrantSummary Grant = "summary"
	// GrantFull: every incident but TLP:RED ones, read-only, with its
	// timeline, tasks, observables and the rest.
	GrantFull Grant = "full"
)

// Grants lists the grants, least first.
var Grants = []Grant{GrantNone, GrantSummary, GrantFull}

// Valid reports whether g is a known grant.
func (g Grant) Valid() bool { return inEnum(g, Grants) }

// Summarize clears what a GrantSummary does not show of inc.
func (inc *Incident) Summarize() {
	*inc = Incident{
		ID: inc.ID, Reference: inc.Reference, Organisation: inc.Organisation, OrganisationID: inc.OrganisationID,
		Title: inc.Title, Type: inc.Type, Status: inc.Status, Severity: inc.Severity, Category: inc.Category,
		Significant: inc.Significant, TLP: inc.TLP, Source: inc.Source, Exercise: inc.Exercise,
		AffectedServices: []string{}, Times: inc.Times, CreatedAt: inc.CreatedAt, UpdatedAt: inc.UpdatedAt,
		Version: inc.Version, SummaryOnly: true,
	}
}

// The organisation every install starts with, which holds everything an
// install made before organisations had: the coordinator. Its
// administrators administer the install (users, settings, the audit log).
const (
	DefaultOrganisationID   int64 = 1
	DefaultOrganisationSlug       = "default"
)

// Organisation limits.
const (
	MaxOrgName   = 200
	MaxOrgSector = 100
)

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$`)

// ValidSlug checks an organisation slug: 1 to 50 lower-case letters,
// digits and inner dashes, so that it is safe in a URL as it is.
func ValidSlug(field, slug string) error {
	if !slugRE.MatchString(slug) {
		return Invalid(field, "A slug is 1 to 50 lower-case letters, digits and dashes, starting and ending with a letter or digit.")
	}
	return nil
}

// reservedSlugs name no new organisation: /report/status is the default
// organisation's receipt lookup, so /report/{slug} could never reach the
// report page of an organisation called "status".
var reservedSlugs = []string{"status"}

// CheckNewSlug checks the slug of a new organisation: ValidSlug, and not
// one of the words the pages' addresses keep for themselves.
func CheckNewSlug(field, slug string) error {
	if err := ValidSlug(field, slug); err != nil {
		return err
	}
	for _, r := range reservedSlugs {
		if slug == r {
			return Invalid(field, "%q is kept for the pages' own addresses; choose another slug.", slug)
		}
	}
	return nil
}

// Prepare trims the organisation and checks it.
func (o *Organisation) Prepare() error {
	var p Problems
	o.Slug = strings.ToLower(strings.TrimSpace(o.Slug))
	o.Name = strings.TrimSpace(o.Name)
	o.Sector = strings.TrimSpace(o.Sector)
	o.ContactEmail = strings.TrimSpace(o.ContactEmail)
	o.ContactPhone = strings.TrimSpace(o.ContactPhone)
	if err := ValidSlug("slug", o.Slug); err != nil {
		p.Add("slug", "%s", err.(*Error).Message)
	}
	switch n := utf8.RuneCountInString(o.Name); {
	case n == 0:
		p.Add("name", "Give the organisation a name.")
	case n > MaxOrgName || !utf8.ValidString(o.Name) || hasControlChar(o.Name):
		p.Add("name", "The name must be plain text of at most %d characters.", MaxOrgName)
	}
	if o.Kind == "" {
		o.Kind = OrgMember
	}
	if o.CoordinatorGrant == "" {
		o.CoordinatorGrant = GrantNone
	}
	if !o.CoordinatorGrant.Valid() {
		p.Add("coordinator_grant", "The grant must be none, summary or full.")
	} else if o.Kind == OrgCoordinator && o.CoordinatorGrant != GrantNone {
		p.Add("coordinator_grant", "The coordinator grants nothing to itself.")
	}
	if !o.Kind.Valid() {
		p.Add("kind", "Kind must be coordinator or member.")
	}
	if utf8.RuneCountInString(o.Sector) > MaxOrgSector || hasControlChar(o.Sector) {
		p.Add("sector", "The sector must be plain text of at most %d characters.", MaxOrgSector)
	}
	if o.ContactEmail != "" {
		if _, err := NormalizeEmail(o.ContactEmail); err != nil || len(o.ContactEmail) > 254 {
			p.Add("contact_email", "Not a valid e-mail address.")
		}
	}
	if len(o.ContactPhone) > 50 || hasControlChar(o.ContactPhone) {
		p.Add("contact_phone", "The phone number must be at most 50 characters.")
	}
	return p.Err()
}

// OrganisationUpdate changes an organisation. Nil fields are left alone;
// the slug never changes (links, report pages and receipts use it).
type OrganisationUpdate struct {
	Name         *string `json:"name,omitempty"`
	Sector       *string `json:"sector,omitempty"`
	ContactEmail *string `json:"contact_email,omitempty"`
	ContactPhone *string `json:"contact_phone,omitempty"`
	Suspended    *bool   `json:"suspended,omitempty"`
	// CoordinatorGrant: the member's own admins only.
	CoordinatorGrant *Grant `json:"coordinator_grant,omitempty"`
	Version          int    `json:"version"`
}

// Membership is a user's role in an organisation.
type Membership struct {
	Organisation string    `json:"organisation"` // the slug
	UserID       int64     `json:"user_id"`
	Username     string    `json:"username"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	CreatedAt    time.Time `json:"created_at"`
}

// ReportUp is what a member sends when it reports one of its incidents to
// the coordinator (the NCSC's "report a significant incident"): the
// summary always — reference, title, type, category, severity,
// significance, TLP, status and key times — and what else it chooses.
type ReportUp struct {
	// Share lists what else goes: "description" (the summary text and
	// affected services), "observables" (all but TLP:RED ones).
	Share   []string `json:"share"`
	Message string   `json:"message"` // a note to the coordinator
}

// What a ReportUp may share besides the summary.
const (
	ShareDescription = "description"
	ShareObservables = "observables"
)

// MaxReportUpMessage bounds a ReportUp's message.
const MaxReportUpMessage = 10000

// Prepare checks r.
func (r *ReportUp) Prepare() error {
	var p Problems
	for _, s := range r.Share {
		if s != ShareDescription && s != ShareObservables {
			p.Add("share", "Share %q, or %q, or both; the summary always goes.", ShareDescription, ShareObservables)
			break
		}
	}
	r.Message = strings.TrimSpace(r.Message)
	if utf8.RuneCountInString(r.Message) > MaxReportUpMessage || !utf8.ValidString(r.Message) {
		p.Add("message", "The message must be text of at most %d characters.", MaxReportUpMessage)
	}
	return p.Err()
}

// Shares reports whether r shares what.
func (r *ReportUp) Shares(what string) bool { return slices.Contains(r.Share, what) }

// UpwardReport is the record, on both sides, of a member's incident
// reported to the coordinator: the member sees where it went, the
// coordinator where it came from.
type UpwardReport struct {
	ID int64 `json:"id"`
	// The member's incident and organisation.
	IncidentID        int64  `json:"incident_id"`
	IncidentReference string `json:"incident_reference"`
	Organisation      string `json:"organisation"`
	// The coordinator's incident made from it.
	CoordinatorIncidentID        int64     `json:"coordinator_incident_id"`
	CoordinatorIncidentReference string    `json:"coordinator_incident_reference"`
	Shared                       []string  `json:"shared"` // "summary" and what else went
	Message                      string    `json:"message"`
	ReportedBy                   string    `json:"reported_by"`
	ReportedAt                   time.Time `json:"reported_at"`
	// Update is true for a later report of the same incident, which adds
	// to the coordinator's incident instead of making another.
	Update bool `json:"update"`
}

// OrganisationService keeps the organisations and who belongs to them.
// Creating and suspending organisations needs PermOrgAdmin (an
// administrator of the default organisation); an organisation's own
// administrators rename it and manage its members. Anyone else gets
// ENOTFOUND for an organisation they do not belong to.
type OrganisationService interface {
	CreateOrganisation(ctx context.Context, o *Organisation) error
	// FindOrganisations lists the organisations the actor belongs to, or
	// all of them for PermOrgAdmin.
	FindOrganisations(ctx context.Context) ([]*Organisation, error)
	FindOrganisation(ctx context.Context, slug string) (*Organisation, error)
	UpdateOrganisation(ctx context.Context, slug string, upd OrganisationUpdate) (*Organisation, error)
	// AddMember gives a user a role in an organisation; ECONFLICT if they
	// already hold one there.
	AddMember(ctx context.Context, slug, username string, role Role) (*Membership, error)
	// SetMemberRole changes a member's role; RemoveMember ends it.
	SetMemberRole(ctx context.Context, slug, username string, role Role) (*Membership, error)
	RemoveMember(ctx context.Context, slug, username string) error
	FindMembers(ctx context.Context, slug string) ([]*Membership, error)

	// ReportUp reports a member's incident to the coordinator: the first
	// time, as a new incident in the coordinator's triage queue (source
	// member_report); later, as an update on it. It needs PermIncidentEdit
	// in the member; TLP:RED incidents are refused (they stay with their
	// members), and so are the coordinator's own.
	ReportUp(ctx context.Context, incidentID int64, r ReportUp) (*UpwardReport, error)
	// FindUpwardReports lists the reports of an incident the actor may
	// see, from either side.
	FindUpwardReports(ctx context.Context, incidentID int64) ([]*UpwardReport, error)
}
