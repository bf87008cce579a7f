package vigil

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// ContactRole is what a key contact is for.
type ContactRole string

// The contact roles.
const (
	ContactDPO                ContactRole = "dpo"
	ContactLegal              ContactRole = "legal"
	ContactCommunications     ContactRole = "communications"
	ContactExecutive          ContactRole = "executive"
	ContactITOperations       ContactRole = "it_operations"
	ContactCIRSupplier        ContactRole = "cir_supplier" // external incident response (NCSC-assured CIR)
	ContactInsurer            ContactRole = "insurer"
	ContactPoliceLiaison      ContactRole = "police_liaison"
	ContactICO                ContactRole = "ico"
	ContactNCSC               ContactRole = "ncsc"
	ContactCompetentAuthority ContactRole = "competent_authority"
	ContactReportFraud        ContactRole = "report_fraud" // Report Fraud; "action_fraud" before 4 December 2025
	ContactPolice             ContactRole = "police"
	ContactController         ContactRole = "controller" // a controller whose personal data the organisation processes (UK GDPR Art. 33(2))
)

// ContactRoles lists every role.
var ContactRoles = []ContactRole{ContactDPO, ContactLegal, ContactCommunications, ContactExecutive, ContactITOperations,
	ContactCIRSupplier, ContactInsurer, ContactPoliceLiaison, ContactICO, ContactNCSC, ContactCompetentAuthority,
	ContactReportFraud, ContactPolice, ContactController}

// Canonical returns r under its current name: action_fraud, the role
// before Report Fraud replaced Action Fraud (4 December 2025), is
// report_fraud. Migration 00026 rewrote the stored roles; this takes the
// old name from API clients and duty packs written before.
func (r ContactRole) Canonical() ContactRole {
	if r == "action_fraud" {
		return ContactReportFraud
	}
	return r
}

// Title is the role as people write it.
func (r ContactRole) Title() string {
	if t, ok := contactRoleTitles[r]; ok {
		return t
	}
	s := strings.ReplaceAll(string(r), "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var contactRoleTitles = map[ContactRole]string{ContactDPO: "Data protection officer (DPO)", ContactITOperations: "IT operations",
	ContactCIRSupplier: "Incident response supplier (CIR)", ContactICO: "ICO", ContactNCSC: "NCSC", ContactReportFraud: "Report Fraud",
	ContactController: "Controller (whose data we process)"}

// Contact is a key person or outside party to call during an incident.
type Contact struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"`
	Organisation string        `json:"organisation"`
	Roles        []ContactRole `json:"roles"`
	Phone        string        `json:"phone"`
	Email        string        `json:"email"`
	OutOfHours   string        `json:"out_of_hours"` // how to reach them outside office hours
	Notes        string        `json:"notes"`
	BuiltIn      bool          `json:"built_in"`    // a public authority's published details, until the organisation adds its own
	VerifiedAt   *time.Time    `json:"verified_at"` // when someone last confirmed the details are right
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Version      int           `json:"version"`
}

// Validate trims and checks a contact.
func (c *Contact) Validate() error {
	var p Problems
	for _, f := range []*string{&c.Name, &c.Organisation, &c.Phone, &c.Email, &c.OutOfHours, &c.Notes} {
		*f = strings.TrimSpace(*f)
	}
	if c.Name == "" && c.Organisation == "" {
		p.Add("name", "Give a name, an organisation, or both.")
	}
	for field, v := range map[string]string{"name": c.Name, "organisation": c.Organisation, "phone": c.Phone, "email": c.Email} {
		if utf8.RuneCountInString(v) > 200 || hasControlChar(v) {
			p.Add(field, "At most 200 characters of plain text.")
		}
	}
	if utf8.RuneCountInString(c.OutOfHours) > 1000 || utf8.RuneCountInString(c.Notes) > 4000 {
		p.Add("notes", "Keep the notes short (out-of-hours at most 1,000 characters, notes 4,000).")
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			p.Add("email", "That is not an e-mail address.")
		}
	}
	if c.Phone == "" && c.Email == "" && c.OutOfHours == "" {
		p.Add("phone", "Give at least a phone number or an e-mail address: a contact nobody can reach is no help.")
	}
	if len(c.Roles) == 0 {
		p.Add("roles", "Choose what the contact is for.")
	}
	seen := map[ContactRole]bool{}
	var roles []ContactRole
	for _, r := range c.Roles {
		r = r.Canonical()
		if !inEnum(r, ContactRoles) {
			p.Add("roles", "Unknown role %q.", r)
		} else if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	c.Roles = roles
	return p.Err()
}

// Has reports whether c holds role r.
func (c *Contact) Has(r ContactRole) bool { return inEnum(r, c.Roles) }

// PublicContacts are the UK authorities' published reporting routes, shown
// for a role until the organisation records its own contact for it.
var PublicContacts = []*Contact{
	{Organisation: "Information Commissioner's Office (ICO)", Roles: []ContactRole{ContactICO}, Phone: "0303 123 1113",
		Notes: "Report a personal data breach at ico.org.uk (the breach reporting form).", BuiltIn: true},
	{Organisation: "National Cyber Security Centre (NCSC)", Roles: []ContactRole{ContactNCSC},
		Notes: "Report significant incidents at report.ncsc.gov.uk.", BuiltIn: true},
	{Organisation: "Report Fraud", Roles: []ContactRole{ContactReportFraud}, Phone: "0300 123 2040",
		Notes:   "England, Wales and Northern Ireland; reportfraud.police.uk (it replaced Action Fraud on 4 December 2025). In Scotland call Police Scotland on 101.",
		BuiltIn: true},
	{Organisation: "Police (non-emergency)", Roles: []ContactRole{ContactPolice}, Phone: "101",
		OutOfHours: "999 if someone is in immediate danger.", BuiltIn: true},
}

// ContactService keeps the key contacts. Anyone who may read incidents may
// read them; admins and managers keep them.
type ContactService interface {
	CreateContact(ctx context.Context, c *Contact) error
	FindContacts(ctx context.Context) ([]*Contact, error)
	UpdateContact(ctx context.Context, c *Contact) error
	DeleteContact(ctx context.Context, id int64) error
	// VerifyContact records that the contact's details were checked and are right.
	VerifyContact(ctx context.Context, id int64) (*Contact, error)
}

// ContactsFor picks from contacts those an incident needs at hand: the
// people who run the response, and the authorities its duties name, with
// the published public route where the organisation has none of its own.
func ContactsFor(contacts []*Contact, duties []*Obligation) []*Contact {
	want := []ContactRole{ContactDPO, ContactLegal, ContactCommunications, ContactExecutive, ContactITOperations, ContactCIRSupplier, ContactInsurer}
	for _, o := range duties {
		if o.Status == ObligationPending && o.Contact != "" {
			want = append(want, ContactRole(o.Contact).Canonical())
		}
	}
	var out []*Contact
	added := map[*Contact]bool{}
	for _, r := range want {
		found := false
		for _, c := range contacts {
			if c.Has(r) {
				found = true
				if !added[c] {
					added[c] = true
					out = append(out, c)
				}
			}
		}
		if !found {
			for _, c := range PublicContacts {
				if c.Has(r) && !added[c] {
					added[c] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}
