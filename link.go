package vigil

import (
	"context"
	"time"
)

// LinkKind says how two incidents relate.
type LinkKind string

// The link kinds. "related" is symmetric; the others point from the later
// incident to the earlier one.
const (
	LinkDuplicateOf  LinkKind = "duplicate_of"
	LinkRelated      LinkKind = "related"
	LinkRecurrenceOf LinkKind = "recurrence_of"
)

// LinkKinds lists every link kind.
var LinkKinds = []LinkKind{LinkDuplicateOf, LinkRelated, LinkRecurrenceOf}

// Link joins two incidents. Seen from either end: FindLinks reports the
// other incident as Target and sets Inbound when the link points here.
type Link struct {
	ID         int64       `json:"id"`
	IncidentID int64       `json:"incident_id"`
	Kind       LinkKind    `json:"kind"`
	TargetID   int64       `json:"target_id"`
	Target     IncidentRef `json:"target"`
	Inbound    bool        `json:"inbound"` // the other incident links to this one
	Note       string      `json:"note"`
	CreatedBy  *int64      `json:"created_by"`
	CreatedAt  time.Time   `json:"created_at"`
}

// LinkService manages links between incidents. Creating a link needs
// PermIncidentEdit on the source and visibility of the target.
type LinkService interface {
	// FindLinks lists links to and from an incident whose other end the
	// actor may see.
	FindLinks(ctx context.Context, incidentID int64) ([]*Link, error)
	// CreateLink links incidentID to l.TargetID. ECONFLICT if that link
	// exists, EINVALID for a self-link.
	CreateLink(ctx context.Context, l *Link) error
	DeleteLink(ctx context.Context, id int64) error
}

// IncidentRole is a role a person holds on one incident.
type IncidentRole string

// The incident roles.
const (
	RoleLead      IncidentRole = "lead"      // runs the response; the incident's LeadID
	RoleComms     IncidentRole = "comms"     // internal and external communications
	RoleTechnical IncidentRole = "technical" // technical lead / responder
	RoleScribe    IncidentRole = "scribe"    // keeps the record
	RoleLegal     IncidentRole = "legal"     // legal counsel or DPO
	RoleExternal  IncidentRole = "external"  // an external responder (e.g. an NCSC-assured CIR supplier)
	RoleObserver  IncidentRole = "observer"  // kept informed; may see a TLP:RED incident
)

// IncidentRoles lists every incident role.
var IncidentRoles = []IncidentRole{RoleLead, RoleComms, RoleTechnical, RoleScribe, RoleLegal, RoleExternal, RoleObserver}

// Member is a user holding a role on an incident. Members can see the
// incident even when it is TLP:RED.
type Member struct {
	IncidentID int64        `json:"incident_id"`
	UserID     int64        `json:"user_id"`
	Username   string       `json:"username"`
	Name       string       `json:"name"`
	Role       IncidentRole `json:"role"`
	AddedBy    *int64       `json:"added_by"`
	AddedAt    time.Time    `json:"added_at"`
}

// MemberService manages incident roles. Changes need PermIncidentMembers, or
// being the incident's lead.
type MemberService interface {
	// FindMembers lists the incident's members; the lead comes first with role "lead".
	FindMembers(ctx context.Context, incidentID int64) ([]*Member, error)
	// AddMember gives a user a role. Role "lead" replaces the lead.
	// ECONFLICT if the user already holds that role.
	AddMember(ctx context.Context, incidentID, userID int64, role IncidentRole) (*Member, error)
	// RemoveMember takes a role away; removing "lead" leaves no lead.
	RemoveMember(ctx context.Context, incidentID, userID int64, role IncidentRole) error
}
