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
)

var rolePermissions = map[Role][]Permission{
	RoleAdmin: {PermIncidentRead, PermIncidentCreate, PermIncidentCreateFull, PermIncidentEdit, PermIncidentMembers,
		PermIncidentReview, PermUserRead, PermUserAdmin, PermAuditRead, PermTokenOwn, PermTokenAdmin, PermMetricsRead,
		PermAlertRead, PermAlertTriage, PermIntegrationAdmin, PermDutySubmit, PermSettingsAdmin, PermContactAdmin, PermEvidenceAdmin, PermPlanRead, PermPlanAdmin},
	RoleManager: {PermIncidentRead, PermIncidentCreate, PermIncidentCreateFull, PermIncidentEdit, PermIncidentMembers,
		PermIncidentReview, PermUserRead, PermTokenOwn, PermAlertRead, PermAlertTriage, PermDutySubmit, PermContactAdmin, PermEvidenceAdmin, PermPlanRead, PermPlanAdmin},
	RoleResponder: {PermIncidentRead, PermIncidentCreate, PermIncidentCreateFull, PermIncidentEdit, PermUserRead, PermTokenOwn,
		PermAlertRead, PermAlertTriage, PermPlanRead},
	RoleViewer:   {PermIncidentRead, PermUserRead, PermTokenOwn, PermAlertRead, PermPlanRead},
	RoleReporter: {PermIncidentRead, PermIncidentCreate, PermTokenOwn},
}

// scopeFor is the token scope each permission needs.
func scopeFor(p Permission) Scope {
	switch p {
	case PermIncidentRead, PermUserRead, PermMetricsRead, PermAlertRead, PermPlanRead:
		return ScopeRead
	case PermUserAdmin, PermAuditRead, PermTokenAdmin, PermIntegrationAdmin, PermSettingsAdmin:
		return ScopeAdmin
	case PermTokenOwn:
		// Tokens cannot mint tokens: a leaked token must not outlive its revocation.
		return "session-only"
	}
	return ScopeWrite
}

// Can reports whether the actor holds permission p. Incident-level checks
// (TLP:RED membership, a reporter's own reports) are applied by the stores
// through VisibilityFor.
func (a *Actor) Can(p Permission) bool {
	if a == nil {
		return false
	}
	if !slices.Contains(rolePermissions[a.Role], p) {
		return false
	}
	if a.TokenID != 0 && !slices.Contains(a.Scopes, scopeFor(p)) {
		return false
	}
	return true
}

// Require returns EUNAUTHORIZED for no actor and EFORBIDDEN when the actor
// lacks p, with a message that says what is missing.
func Require(a *Actor, p Permission) error {
	if a == nil {
		return Errorf(EUNAUTHORIZED, "You must be logged in.")
	}
	if !a.Can(p) {
		if a.TokenID != 0 && slices.Contains(rolePermissions[a.Role], p) {
			return Errorf(EFORBIDDEN, "This API token's scopes do not allow that.")
		}
		return Errorf(EFORBIDDEN, "Your role (%s) does not allow that.", a.Role)
	}
	return nil
}

// Visibility says which incidents an actor may see. Each store turns it into
// WHERE clauses, so reads, lists, search, counts and exports agree; storetest
// holds the cases that keep the stores from drifting.
type Visibility struct {
	All     bool  // admins and the system see everything
	None    bool  // no actor: nothing
	UserID  int64 // the actor's user ID
	OwnOnly bool  // reporters see only the incidents they created
	// Otherwise the actor sees every incident that is not TLP:RED, and a
	// TLP:RED incident only as its lead, creator or a member.
}

// VisibilityFor returns the visibility of actor.
func VisibilityFor(a *Actor) Visibility {
	switch {
	case a == nil || !a.Can(PermIncidentRead):
		return Visibility{None: true}
	case a.Role == RoleAdmin:
		return Visibility{All: true, UserID: a.UserID}
	case a.Role == RoleReporter:
		return Visibility{OwnOnly: true, UserID: a.UserID}
	}
	return Visibility{UserID: a.UserID}
}

// CanSee applies v to one incident. isMember says whether the actor holds a
// role on it. Stores filter in SQL; this is the same rule for code that
// already holds an incident (and for the tests that keep them in step).
func (v Visibility) CanSee(inc *Incident, isMember bool) bool {
	switch {
	case v.None:
		return false
	case v.All:
		return true
	case v.OwnOnly:
		return inc.CreatedBy != nil && *inc.CreatedBy == v.UserID
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
	for _, p := range rolePermissions[a.Role] {
		if a.Can(p) {
			out = append(out, p)
		}
	}
	return out
}
