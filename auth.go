package vigil

import (
	"slices"
)

// Role is what a user may do in Vigil.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin     Role = "admin"     // everything, including users, tokens and the audit log
	RoleManager   Role = "manager"   // incident manager: all incident work, roles, reviews
	RoleResponder Role = "responder" // analyst/responder: triage and work incidents
	RoleViewer    Role = "viewer"    // reads incidents (DPO, legal, comms, executives)
	RoleReporter  Role = "reporter"  // reports incidents and follows only their own
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleManager, RoleResponder, RoleViewer, RoleReporter}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return inEnum(r, Roles) }

// Scope limits what an API token may do, on top of its user's role.
type Scope string

// The token scopes.
const (
	ScopeRead  Scope = "read"  // read what the user can read
	ScopeWrite Scope = "write" // also change incidents
	ScopeAdmin Scope = "admin" // also administer (only for admins)
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeAdmin}

// Permission is one thing an actor may be allowed to do.
type Permission string

// The permissions. Each needs a role (rolePermissions) and, for tokens, a scope.
const (
	PermIncidentRead       Permission = "incident:read"
	PermIncidentCreate     Permission = "incident:create"
	PermIncidentEdit       Permission = "incident:edit"       // fields, status, tasks, notes, observables, links
	PermIncidentMembers    Permission = "incident:members"    // assign the lead and incident roles
	PermIncidentReview     Permission = "incident:review"     // mark reviewed after the post-incident review
	PermUserRead           Permission = "user:read"           // see the user directory (names, roles)
	PermUserAdmin          Permission = "user:admin"          // create, disable and change users
	PermAuditRead          Permission = "audit:read"          // read and verify the audit log
	PermTokenOwn           Permission = "token:own"           // manage one's own API tokens
	PermTokenAdmin         Permission = "token:admin"         // see and revoke anyone's tokens
	PermMetricsRead        Permission = "metrics:read"        // scrape /metrics
	PermIncidentCreateFull Permission = "incident:create:any" // create in any status with any field, not only triage
	PermAlertRead          Permission = "alert:read"          // see alerts and the triage queue
	PermAlertTriage        Permission = "alert:triage"        // acknowledge, dismiss, promote, attach and merge alert groups
	PermIntegrationAdmin   Permission = "integration:admin"   // create and change integrations and their tokens
	PermDutySubmit         Permission = "duty:submit"         // record a reporting duty as submitted or not required
	PermSettingsAdmin      Permission = "settings:admin"      // the organisation profile
	PermContactAdmin       Permission = "contact:admin"       // keep the key contacts
	PermEvidenceAdmin      Permission = "evidence:admin"      // place and lift legal holds, delete evidence
	PermPlanRead           Permission = "plan:read"           // read response plans
	PermPlanAdmin          Permission = "plan:admin"          // write, own and approve response plans
	PermOrgAdmin           Permission = "org:admin"           // create and suspend organisations, and manage any one's members
	// PermAdvisoryIssue drafts, changes, reviews, publishes and withdraws
	// the coordinator's advisories: its managers and admins, who speak
	// for it (as they own its response plans), not its responders.
	PermAdvisoryIssue Permission = "advisory:issue"
	// PermAdvisoryRead reads advisories, as AdvisoryAccessFor allows.
	PermAdvisoryRead Permission = "advisory:read"
	// PermAdvisoryRespond answers an advisory for a member organisation:
	// its users with a role above reporter.
	PermAdvisoryRespond Permission = "advisory:respond"
)

// orgScoped are the permissions an actor holds in each organisation by
// their role there: the work on that organisation's incidents. Every
// other permission is held by the role in the default organisation, which
// runs the install.
var orgScoped = map[Permission]bool{
	PermIncidentRead: true, PermIncidentCreate: true, PermIncidentCreateFull: true, PermIncidentEdit: true,
	PermIncidentMembers: true, PermIncidentReview: true, PermDutySubmit: true, PermEvidenceAdmin: true, PermTokenOwn: true,
	PermAdvisoryRead: true, PermAdvisoryRespond: true,
}

// OrgScoped reports whether p is held per organisation.
func OrgScoped(p Permission) bool { return orgScoped[p] }

var rolePermissions = map[Role][]Permission{
	RoleAdmin: {PermIncidentRead, PermIncidentCreate, PermIncidentCreateFull, PermIncidentEdit, PermIncidentMembers,
		PermIncidentReview, PermUserRead, PermUserAdmin, PermAuditRead, PermTokenOwn, PermTokenAdmin, PermMetricsRead,
		PermAlertRead, PermAlertTriage, PermIntegrationAdmin, PermDutySubmit, PermSettingsAdmin, PermContactAdmin, PermEvidenceAdmin, PermPlanRead, PermPlanAdmin, PermOrgAdmin,
		PermAdvisoryIssue, PermAdvisoryRead, PermAdvisoryRespond},
	RoleManager: {PermIncidentRead, PermIncidentCreate, PermIncidentCreateFull, PermIncidentEdit, PermIncidentMembers,
		PermIncidentReview, PermUserRead, PermTokenOwn, PermAlertRead, PermAlertTriage, PermDutySubmit, PermContactAdmin, PermEvidenceAdmin, PermPlanRead, PermPlanAdmin,
		PermAdvisoryIssue, PermAdvisoryRead, PermAdvisoryRespond},
	RoleResponder: {PermIncidentRead, PermIncidentCreate, PermIncidentCreateFull, PermIncidentEdit, PermUserRead, PermTokenOwn,
		PermAlertRead, PermAlertTriage, PermPlanRead, PermAdvisoryRead, PermAdvisoryRespond},
	RoleViewer:   {PermIncidentRead, PermUserRead, PermTokenOwn, PermAlertRead, PermPlanRead, PermAdvisoryRead, PermAdvisoryRespond},
	RoleReporter: {PermIncidentRead, PermIncidentCreate, PermTokenOwn, PermAdvisoryRead},
}

// scopeFor is the token scope each permission needs.
func scopeFor(p Permission) Scope {
	switch p {
	case PermIncidentRead, PermUserRead, PermMetricsRead, PermAlertRead, PermPlanRead, PermAdvisoryRead:
		return ScopeRead
	case PermUserAdmin, PermAuditRead, PermTokenAdmin, PermIntegrationAdmin, PermSettingsAdmin, PermOrgAdmin:
		return ScopeAdmin
	case PermTokenOwn:
		// Tokens cannot mint tokens: a leaked token must not outlive its revocation.
		return "session-only"
	}
	return ScopeWrite
}

// Can reports whether the actor holds permission p: for the work on
// incidents, by their role in any organisation they belong to (the stores
// check the role in the incident's own organisation: CanIn); for the rest,
// by their role in the default organisation. Incident-level checks
// (organisation, TLP:RED membership, a reporter's own reports) are applied
// by the stores through VisibilityFor.
func (a *Actor) Can(p Permission) bool {
	if a == nil {
		return false
	}
	held := false
	if orgScoped[p] {
		for _, m := range a.Memberships() {
			held = held || slices.Contains(rolePermissions[m.Role], p)
		}
	} else {
		held = slices.Contains(rolePermissions[a.Role], p)
	}
	return held && a.scoped(p)
}

// CanIn reports whether the actor holds p in the organisation org.
func (a *Actor) CanIn(org int64, p Permission) bool {
	if a == nil {
		return false
	}
	if a.System {
		return a.Can(p)
	}
	r, ok := a.RoleIn(org)
	if !orgScoped[p] {
		return a.Can(p) && ok
	}
	return ok && slices.Contains(rolePermissions[r], p) && a.scoped(p)
}

// scoped reports whether the actor's token, if any, allows p.
func (a *Actor) scoped(p Permission) bool {
	return a.TokenID == 0 || slices.Contains(a.Scopes, scopeFor(p))
}

// OrgRole is an actor's role in one organisation.
type OrgRole struct {
	ID   int64  `json:"-"`
	Slug string `json:"organisation"`
	Role Role   `json:"role"`
}

// Memberships lists the actor's roles by organisation. An actor made
// without Orgs (the system, older callers) belongs to the default
// organisation only, with Role.
func (a *Actor) Memberships() []OrgRole {
	if a == nil {
		return nil
	}
	if a.Orgs == nil {
		if a.Role == "" {
			return nil
		}
		return []OrgRole{{ID: DefaultOrganisationID, Slug: DefaultOrganisationSlug, Role: a.Role}}
	}
	return a.Orgs
}

// RoleIn returns the actor's role in organisation org, and whether they
// belong to it.
func (a *Actor) RoleIn(org int64) (Role, bool) {
	for _, m := range a.Memberships() {
		if m.ID == org {
			return m.Role, true
		}
	}
	return "", false
}

// Require returns EUNAUTHORIZED for no actor and EFORBIDDEN when the actor
// lacks p, with a message that says what is missing.
func Require(a *Actor, p Permission) error {
	if a == nil {
		return Errorf(EUNAUTHORIZED, "You must be logged in.")
	}
	if !a.Can(p) {
		if a.TokenID != 0 && !a.scoped(p) {
			return Errorf(EFORBIDDEN, "This API token's scopes do not allow that.")
		}
		if a.Role == "" && a.TokenID == 0 && !orgScoped[p] && len(a.Memberships()) > 0 {
			return Errorf(EFORBIDDEN, "That is for the staff of the organisation that runs this Vigil; your roles are in other organisations.")
		}
		if a.Role == "" {
			return Errorf(EFORBIDDEN, "Your roles do not allow that.")
		}
		return Errorf(EFORBIDDEN, "Your role (%s) does not allow that.", a.Role)
	}
	return nil
}

// RequireIn is Require for the organisation org.
func RequireIn(a *Actor, org int64, p Permission) error {
	if err := Require(a, p); err != nil {
		return err
	}
	if !a.CanIn(org, p) {
		if r, ok := a.RoleIn(org); ok {
			return Errorf(EFORBIDDEN, "Your role in that organisation (%s) does not allow that.", r)
		}
		return Errorf(EFORBIDDEN, "You do not belong to that organisation.")
	}
	return nil
}

// Visibility says which incidents an actor may see. Each store turns it into
// WHERE clauses, so reads, lists, search, counts and exports agree; storetest
// holds the cases that keep the stores from drifting.
type Visibility struct {
	All    bool  // the system sees everything
	None   bool  // no actor: nothing
	UserID int64 // the actor's user ID
	// By the actor's role in each organisation (IDs):
	Full  []int64 // administrators: every incident
	Staff []int64 // every incident that is not TLP:RED, and a TLP:RED one only as its lead, creator or a member
	Own   []int64 // reporters: only the incidents they created
	// Coordinator: the actor is on the coordinator's staff (a role but
	// reporter in the default organisation), so sees members' incidents
	// as each member grants (Organisation.CoordinatorGrant), never
	// TLP:RED ones, and read-only.
	Coordinator bool
}

// VisibilityFor returns the visibility of actor.
func VisibilityFor(a *Actor) Visibility {
	switch {
	case a == nil || !a.Can(PermIncidentRead):
		return Visibility{None: true}
	case a.System:
		return Visibility{All: true}
	}
	v := Visibility{UserID: a.UserID}
	for _, m := range a.Memberships() {
		if !a.CanIn(m.ID, PermIncidentRead) {
			continue
		}
		switch m.Role {
		case RoleAdmin:
			v.Full = append(v.Full, m.ID)
		case RoleReporter:
			v.Own = append(v.Own, m.ID)
		default:
			v.Staff = append(v.Staff, m.ID)
		}
		if m.ID == DefaultOrganisationID && m.Role != RoleReporter {
			v.Coordinator = true
		}
	}
	if len(v.Full)+len(v.Staff)+len(v.Own) == 0 {
		return Visibility{None: true}
	}
	return v
}

// CanSee applies v to one incident. isMember says whether the actor holds a
// role on it. Stores filter in SQL; this is the same rule for code that
// already holds an incident (and for the tests that keep them in step).
func (v Visibility) CanSee(inc *Incident, isMember bool) bool {
	org := inc.OrganisationID
	if org == 0 {
		org = DefaultOrganisationID
	}
	switch {
	case v.None:
		return false
	case v.All, slices.Contains(v.Full, org):
		return true
	case slices.Contains(v.Own, org):
		return inc.CreatedBy != nil && *inc.CreatedBy == v.UserID
	case !slices.Contains(v.Staff, org):
		return false
	case inc.TLP != TLPRed:
		return true
	}
	return isMember || (inc.LeadID != nil && *inc.LeadID == v.UserID) || (inc.CreatedBy != nil && *inc.CreatedBy == v.UserID)
}

// PermissionsOf lists what the actor may do, for clients that hide what
// the server would refuse anyway.
func PermissionsOf(a *Actor) []Permission {
	var out []Permission
	if a == nil {
		return out
	}
	for _, r := range Roles {
		for _, p := range rolePermissions[r] {
			if !slices.Contains(out, p) && a.Can(p) {
				out = append(out, p)
			}
		}
	}
	return out
}
