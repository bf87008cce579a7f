package vigil

import (
	"context"
	"regexp"
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
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	Version      int        `json:"version"`
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
	Version      int     `json:"version"`
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
}
