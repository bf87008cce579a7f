package http

import (
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
	"github.com/vigil-ir/vigil/stix"
)

// routes registers every route. Each API route carries its OpenAPI
// operation, so the document at /api/v1/openapi.json is built from the
// same table that serves requests and cannot list a route that does not
// exist or miss one that does.
//
// The routes that create something are Idempotent (they take an
// Idempotency-Key), except those whose request or answer holds a secret
// (logins, passwords, users with their first password, API tokens,
// integrations and channels, whose tokens and signing secrets are shown
// once): an answer kept for retries is stored in the database for a day,
// and those must not be. The intake is idempotent by the alerts'
// fingerprints instead (docs/intake.md).
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.HandleFunc("GET /metrics", s.writeErrors(s.handleMetrics))
	s.taxiiRoutes()
	s.oidcRoutes()

	var (
		incidentQuery = []param{
			{"status", "Statuses, comma-separated or repeated.", enumOf(vigil.Statuses), true},
			{"severity", "Severities.", enumOf(vigil.Severities), true},
			{"type", "Incident types.", enumOf(vigil.IncidentTypes), true},
			{"category", "NCSC categories, 1 to 6.", intRange(1, 6), true},
			{"tlp", "TLP labels.", enumOf(vigil.TLPs), true},
			{"source", "Sources.", enumOf(vigil.Sources), true},
			{"lead", "The lead's user ID, or \"me\".", str(), false},
			{"unassigned", "Only incidents without a lead.", boolean(), false},
			{"member", "Incidents where this user (ID or \"me\") is lead or holds a role.", str(), false},
			{"significant", "Significant incidents only (true) or not (false).", boolean(), false},
			{"exercise", "Exercises only (true) or real incidents only (false).", boolean(), false},
			{"open", "Open incidents only (true) or closed and routed-out ones (false).", boolean(), false},
			{"q", "Full-text query over incidents, notes and observables.", str(), false},
			{"organisation", "Organisations' slugs (default: every one you may see).", str(), true},
			{"created_after", "Created at or after this time (RFC 3339 or date).", str(), false},
			{"created_before", "Created before this time.", str(), false},
			{"updated_after", "Updated at or after this time.", str(), false},
			{"updated_before", "Updated before this time.", str(), false},
			{"occurred_after", "Occurred at or after this time.", str(), false},
			{"occurred_before", "Occurred before this time.", str(), false},
		}
		listQuery = append(incidentQuery,
			param{"sort", "Sort order; a leading - sorts descending.", enumOf(vigil.IncidentSorts), false},
			param{"cursor", "The next_cursor of the previous page.", str(), false},
			param{"limit", "Page size, 1 to 500 (default 50).", intRange(1, vigil.MaxPageSize), false},
		)
	)

	s.api("GET /api/v1/openapi.json", s.handleOpenAPI, op{ID: "getOpenAPI", Tag: "Operations", Summary: "This document", Resp: map[string]any{}, Public: true})

	// Auth.
	s.api("POST /api/v1/auth/login", s.handleLogin, op{ID: "login", Tag: "Auth", Summary: "Log in and start a browser session",
		Body: LoginRequest{}, Resp: LoginResponse{}, Public: true})
	s.api("POST /api/v1/auth/logout", s.handleLogout, op{ID: "logout", Tag: "Auth", Summary: "End the browser session", Status: http.StatusNoContent, Public: true})
	s.api("GET /api/v1/me", s.handleMe, op{ID: "getMe", Tag: "Auth", Summary: "Who am I, and what may I do", Resp: MeResponse{}})
	s.api("PUT /api/v1/me/password", s.handlePasswordChange, op{ID: "changeMyPassword", Tag: "Auth", Summary: "Change my password (ends all my sessions)",
		Body: PasswordChange{}, Status: http.StatusNoContent})

	// Incidents.
	s.api("GET /api/v1/incidents", s.handleIncidentList, op{ID: "listIncidents", Tag: "Incidents", Summary: "List and search incidents",
		Query: append(listQuery, param{"count", "Also return the total matching (costs a count).", boolean(), false}), Resp: IncidentList{}})
	s.api("GET /api/v1/incidents/count", s.handleIncidentCount, op{ID: "countIncidents", Tag: "Incidents", Summary: "Count incidents",
		Query: incidentQuery, Resp: IncidentCount{}})
	s.api("POST /api/v1/incidents", s.handleIncidentCreate, op{ID: "createIncident", Tag: "Incidents", Summary: "Create an incident",
		Body: IncidentCreate{}, Resp: vigil.Incident{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/incidents/{id}", s.incident(s.handleIncidentView), op{ID: "getIncident", Tag: "Incidents", Summary: "Get an incident", Resp: vigil.Incident{}, ETag: true})
	s.api("PATCH /api/v1/incidents/{id}", s.incident(s.handleIncidentUpdate), op{ID: "updateIncident", Tag: "Incidents",
		Summary: "Change an incident (send If-Match or version; null clears a field)", Body: vigil.IncidentUpdate{}, Resp: vigil.Incident{}, Versioned: true})
	s.api("POST /api/v1/incidents/{id}/transitions", s.incident(s.handleIncidentTransition), op{ID: "transitionIncident", Tag: "Incidents",
		Summary: "Move an incident to another status, including the triage outcomes", Body: vigil.Transition{}, Resp: vigil.Incident{}, Versioned: true})
	s.api("GET /api/v1/lifecycle", s.handleLifecycle, op{ID: "getLifecycle", Tag: "Incidents", Summary: "The statuses, the allowed moves and the advice for each", Resp: Lifecycle{}})

	// Timeline, tasks, comments.
	s.api("GET /api/v1/incidents/{id}/timeline", s.incident(s.handleTimelineList), op{ID: "listTimeline", Tag: "Timeline", Summary: "Read an incident's timeline",
		Query: []param{{"kind", "Entry kinds.", enumOf(vigil.TimelineKinds), true}, {"order", "desc (newest first, default) or asc.", enumOf([]string{"asc", "desc"}), false},
			{"cursor", "The next_cursor of the previous page.", str(), false}, {"limit", "Page size.", intRange(1, vigil.MaxPageSize), false}},
		Resp: vigil.TimelinePage{}})
	s.api("POST /api/v1/incidents/{id}/timeline", s.incident(s.handleNoteCreate), op{ID: "addNote", Tag: "Timeline", Summary: "Add a note to the timeline",
		Body: vigil.Note{}, Resp: vigil.TimelineEntry{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/incidents/{id}/tasks", s.incident(s.handleIncidentTaskList), op{ID: "listIncidentTasks", Tag: "Tasks", Summary: "List an incident's tasks in order", Resp: TaskList{}})
	s.api("POST /api/v1/incidents/{id}/tasks", s.incident(s.handleTaskCreate), op{ID: "createTask", Tag: "Tasks", Summary: "Add a task",
		Body: TaskCreate{}, Resp: vigil.Task{}, Status: http.StatusCreated, Idempotent: true})
	s.api("PUT /api/v1/incidents/{id}/tasks/order", s.incident(s.handleTaskReorder), op{ID: "reorderTasks", Tag: "Tasks", Summary: "Set the order of an incident's tasks",
		Body: TaskOrder{}, Resp: TaskList{}})
	s.api("GET /api/v1/tasks", s.handleTaskList, op{ID: "listTasks", Tag: "Tasks", Summary: "List tasks across incidents (mine, overdue)",
		Query: []param{{"assignee", "Assignee user ID or \"me\".", str(), false}, {"status", "Task statuses.", enumOf(vigil.TaskStatuses), true},
			{"overdue", "Only open tasks past their due time.", boolean(), false}, {"offset", "Skip this many.", intRange(0, 1<<31-1), false},
			{"limit", "Page size.", intRange(1, vigil.MaxPageSize), false}}, Resp: TaskList{}})
	s.api("GET /api/v1/tasks/{id}", s.handleTaskView, op{ID: "getTask", Tag: "Tasks", Summary: "Get a task", Resp: vigil.Task{}, ETag: true})
	s.api("PATCH /api/v1/tasks/{id}", s.handleTaskUpdate, op{ID: "updateTask", Tag: "Tasks", Summary: "Change a task", Body: vigil.TaskUpdate{}, Resp: vigil.Task{}, Versioned: true})
	s.api("GET /api/v1/incidents/{id}/comments", s.incident(s.handleCommentList), op{ID: "listComments", Tag: "Comments", Summary: "List comments, optionally on one task",
		Query: []param{{"task", "Only comments on this task.", integer(), false}}, Resp: CommentList{}})
	s.api("POST /api/v1/incidents/{id}/comments", s.incident(s.handleCommentCreate), op{ID: "createComment", Tag: "Comments", Summary: "Comment on an incident or a task",
		Body: CommentCreate{}, Resp: vigil.Comment{}, Status: http.StatusCreated, Idempotent: true})
	s.api("PATCH /api/v1/comments/{id}", s.handleCommentUpdate, op{ID: "updateComment", Tag: "Comments", Summary: "Edit your comment",
		Body: CommentUpdate{}, Resp: vigil.Comment{}, Versioned: true})

	// Observables.
	s.api("GET /api/v1/incidents/{id}/observables", s.incident(s.handleObservableList), op{ID: "listObservables", Tag: "Observables",
		Summary: "List an incident's observables, with where else each was seen", Resp: ObservableList{}})
	s.api("POST /api/v1/incidents/{id}/observables", s.incident(s.handleObservableCreate), op{ID: "addObservables", Tag: "Observables",
		Summary: "Add observables: a list, or pasted lines, or both (all or none)", Body: ObservablesCreate{}, Resp: ObservableList{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/observables/sightings", s.handleSightings, op{ID: "findSightings", Tag: "Observables", Summary: "Incidents that hold a value",
		Query: []param{{"type", "Observable type; empty to detect.", enumOf(append(vigil.ObservableTypes[:len(vigil.ObservableTypes):len(vigil.ObservableTypes)], vigil.ObsHash)), false},
			{"value", "The value, normalised before the lookup.", str(), false}, {"limit", "At most this many.", intRange(1, vigil.MaxPageSize), false}},
		Resp: SightingList{}})
	s.api("GET /api/v1/observables/{id}", s.handleObservableView, op{ID: "getObservable", Tag: "Observables", Summary: "Get an observable", Resp: vigil.Observable{}, ETag: true})
	s.api("PATCH /api/v1/observables/{id}", s.handleObservableUpdate, op{ID: "updateObservable", Tag: "Observables", Summary: "Flag as IOC, set TLP or description",
		Body: vigil.ObservableUpdate{}, Resp: vigil.Observable{}, Versioned: true})
	s.api("DELETE /api/v1/observables/{id}", s.handleObservableDelete, op{ID: "deleteObservable", Tag: "Observables", Summary: "Remove an observable", Status: http.StatusNoContent})

	// Links and members.
	s.api("GET /api/v1/incidents/{id}/links", s.incident(s.handleLinkList), op{ID: "listLinks", Tag: "Links", Summary: "Links to and from an incident", Resp: LinkList{}})
	s.api("POST /api/v1/incidents/{id}/links", s.incident(s.handleLinkCreate), op{ID: "createLink", Tag: "Links", Summary: "Link to another incident",
		Body: LinkCreate{}, Resp: vigil.Link{}, Status: http.StatusCreated, Idempotent: true})
	s.api("DELETE /api/v1/links/{id}", s.handleLinkDelete, op{ID: "deleteLink", Tag: "Links", Summary: "Remove a link", Status: http.StatusNoContent})
	s.api("GET /api/v1/incidents/{id}/members", s.incident(s.handleMemberList), op{ID: "listMembers", Tag: "Members", Summary: "The lead and the incident roles", Resp: MemberList{}})
	s.api("POST /api/v1/incidents/{id}/members", s.incident(s.handleMemberCreate), op{ID: "addMember", Tag: "Members", Summary: "Give a user a role (role lead sets the lead)",
		Body: MemberCreate{}, Resp: vigil.Member{}, Status: http.StatusCreated, Idempotent: true})
	s.api("DELETE /api/v1/incidents/{id}/members/{user}/{role}", s.incident(s.handleMemberDelete), op{ID: "removeMember", Tag: "Members", Summary: "Take a role away", Status: http.StatusNoContent})

	// Search.
	s.api("GET /api/v1/search", s.handleSearch, op{ID: "search", Tag: "Search", Summary: "Full-text search over incidents, notes and observables",
		Query: []param{{"q", "The query: words (all must match), \"phrases\", and a last word matched as a prefix.", str(), false},
			{"kind", "Document kinds.", enumOf(vigil.SearchKinds), true}, {"offset", "Skip this many.", intRange(0, 1<<31-1), false},
			{"limit", "Page size.", intRange(1, vigil.MaxPageSize), false}}, Resp: SearchResults{}})

	// Organisations (docs/organisations.md).
	s.api("GET /api/v1/organisations", s.handleOrgList, op{ID: "listOrganisations", Tag: "Organisations",
		Summary: "The organisations I belong to, with my role in each (the install's admins: all)", Resp: OrganisationList{}})
	s.api("POST /api/v1/organisations", s.handleOrgCreate, op{ID: "createOrganisation", Tag: "Organisations",
		Summary: "Create a member organisation (the install's admins)", Body: vigil.Organisation{}, Resp: vigil.Organisation{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/organisations/{slug}", s.handleOrgView, op{ID: "getOrganisation", Tag: "Organisations", Summary: "Get an organisation", Resp: vigil.Organisation{}, ETag: true})
	s.api("PATCH /api/v1/organisations/{slug}", s.handleOrgUpdate, op{ID: "updateOrganisation", Tag: "Organisations",
		Summary: "Rename an organisation or change its details (its admins); suspend it or lift that (the install's admins)",
		Body:    vigil.OrganisationUpdate{}, Resp: vigil.Organisation{}, Versioned: true})
	s.api("GET /api/v1/organisations/{slug}/members", s.handleOrgMemberList, op{ID: "listOrganisationMembers", Tag: "Organisations",
		Summary: "An organisation's members and their roles", Resp: MembershipList{}})
	s.api("POST /api/v1/organisations/{slug}/members", s.handleOrgMemberAdd, op{ID: "addOrganisationMember", Tag: "Organisations",
		Summary: "Give an existing user a role in the organisation (its admins)", Body: MemberAdd{}, Resp: vigil.Membership{}, Status: http.StatusCreated, Idempotent: true})
	s.api("PATCH /api/v1/organisations/{slug}/members/{username}", s.handleOrgMemberRole, op{ID: "setOrganisationMemberRole", Tag: "Organisations",
		Summary: "Change a member's role (ends their sessions)", Body: MemberRole{}, Resp: vigil.Membership{}})
	s.api("GET /api/v1/organisations/{slug}/profile", s.handleOrgProfileView, op{ID: "getOrganisationProfile", Tag: "Organisations",
		Summary: "An organisation's profile, which decides its incidents' reporting duties", Resp: vigil.OrgProfile{}})
	s.api("PUT /api/v1/organisations/{slug}/profile", s.handleOrgProfileUpdate, op{ID: "updateOrganisationProfile", Tag: "Organisations",
		Summary: "Set an organisation's profile (its admins); its open incidents' duties are evaluated again", Body: vigil.OrgProfile{}, Resp: vigil.OrgProfile{}})
	s.api("POST /api/v1/incidents/{id}/report-up", s.incident(s.handleReportUp), op{ID: "reportUp", Tag: "Organisations",
		Summary: "Report a member's incident to the coordinator (the first time a new incident in its triage queue; then an update on it)",
		Body:    vigil.ReportUp{}, Resp: vigil.UpwardReport{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/incidents/{id}/reports-up", s.incident(s.handleUpwardReportList), op{ID: "listUpwardReports", Tag: "Organisations",
		Summary: "An incident's reports to the coordinator, seen from either side", Resp: UpwardReportList{}})
	s.api("DELETE /api/v1/organisations/{slug}/members/{username}", s.handleOrgMemberRemove, op{ID: "removeOrganisationMember", Tag: "Organisations",
		Summary: "End a membership (what they did stays)", Status: http.StatusNoContent})

	// Advisories (docs/advisories.md).
	s.api("GET /api/v1/advisories", s.handleAdvisoryList, op{ID: "listAdvisories", Tag: "Advisories",
		Summary: "The advisories you may read, newest change first (the coordinator's staff: all, drafts too; a member's users: the published ones addressed to it, at their clearance, never TLP:RED)",
		Query: []param{{"status", "Statuses.", enumOf(vigil.AdvisoryStatuses), true}, {"kind", "Kinds.", enumOf(vigil.AdvisoryKinds), true},
			{"severity", "Severities.", enumOf(vigil.Severities), true}, {"limit", "Page size.", intRange(1, vigil.MaxPageSize), false},
			{"offset", "Skip this many.", intRange(0, 1<<31-1), false}}, Resp: AdvisoryList{}})
	s.api("POST /api/v1/advisories", s.handleAdvisoryCreate, op{ID: "createAdvisory", Tag: "Advisories",
		Summary: "Draft an advisory (the coordinator's managers and admins)", Body: vigil.Advisory{}, Resp: vigil.Advisory{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET "+advisoryFeedPath, s.handleAdvisoryFeed, op{ID: "advisoryFeed", Tag: "Advisories",
		Summary: "An Atom 1.0 feed of the published advisories you may read, newest change first; never a draft or a TLP:RED one",
		Query:   []param{{"token", "An API token, for feed readers that cannot send Authorization (a read-scope token bound to your organisation is best).", str(), false}},
		Binary:  true, Media: "application/atom+xml"})
	s.api("GET /api/v1/advisories/{ref}", s.handleAdvisoryView, op{ID: "getAdvisory", Tag: "Advisories", Summary: "An advisory with its publications", Resp: vigil.Advisory{}, ETag: true})
	s.api("PATCH /api/v1/advisories/{ref}", s.handleAdvisoryUpdate, op{ID: "updateAdvisory", Tag: "Advisories",
		Summary: "Change an advisory: a draft freely; a published one with a change_note, which publishes the update; status in_review, draft or withdrawn (with a change_note)",
		Body:    vigil.AdvisoryUpdate{}, Resp: vigil.Advisory{}, Versioned: true})
	s.api("POST /api/v1/advisories/{ref}/publish", s.handleAdvisoryPublish, op{ID: "publishAdvisory", Tag: "Advisories",
		Summary: "Publish an advisory that is in review; refused, naming the fields, if it lacks what members need", Body: vigil.AdvisoryPublish{}, Resp: vigil.Advisory{}, Versioned: true})
	s.api("POST /api/v1/advisories/{ref}/responses", s.handleAdvisoryRespond, op{ID: "respondToAdvisory", Tag: "Advisories",
		Summary: "Answer an advisory for your member organisation (a role above reporter): affected, not_affected, investigating or mitigated, with a note",
		Body:    vigil.AdvisoryResponseInput{}, Resp: vigil.AdvisoryResponse{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/advisories/{ref}/responses", s.handleAdvisoryResponses, op{ID: "listAdvisoryResponses", Tag: "Advisories",
		Summary: "The answers: for the coordinator's staff each member's latest answer and who has not answered; for a member its own", Resp: vigil.AdvisoryResponses{}})
	s.api("POST /api/v1/incidents/{id}/advisory", s.incident(s.handleAdvisoryFromIncident), op{ID: "draftAdvisoryFromIncident", Tag: "Advisories",
		Summary: "Draft an advisory from an incident: its title, and only if chosen its summary and the observables named", Body: vigil.AdvisoryFromIncident{},
		Resp: vigil.Advisory{}, Status: http.StatusCreated, Idempotent: true})

	// Users, tokens, audit.
	s.api("GET /api/v1/users", s.handleUserList, op{ID: "listUsers", Tag: "Users", Summary: "List users",
		Query: []param{{"role", "Role.", enumOf(vigil.Roles), false}, {"disabled", "Disabled users only (true) or enabled only (false).", boolean(), false},
			{"q", "Prefix of username or name.", str(), false}, {"offset", "Skip this many.", intRange(0, 1<<31-1), false},
			{"limit", "Page size.", intRange(1, vigil.MaxPageSize), false}}, Resp: UserList{}})
	s.api("POST /api/v1/users", s.handleUserCreate, op{ID: "createUser", Tag: "Users", Summary: "Create a user (admins)", Body: UserCreate{}, Resp: vigil.User{}, Status: http.StatusCreated})
	s.api("GET /api/v1/users/{id}", s.handleUserView, op{ID: "getUser", Tag: "Users", Summary: "Get a user", Resp: vigil.User{}, ETag: true})
	s.api("PATCH /api/v1/users/{id}", s.handleUserUpdate, op{ID: "updateUser", Tag: "Users", Summary: "Change a user's name, role or status (admins)",
		Body: vigil.UserUpdate{}, Resp: vigil.User{}, Versioned: true})
	s.api("PUT /api/v1/users/{id}/password", s.handlePasswordChange, op{ID: "setUserPassword", Tag: "Users", Summary: "Set a user's password (admins)",
		Body: PasswordChange{}, Status: http.StatusNoContent})
	s.api("GET /api/v1/tokens", s.handleTokenList, op{ID: "listTokens", Tag: "Tokens", Summary: "List API tokens (mine; admins: anyone's)",
		Query: []param{{"user", "User ID or \"me\" (admins).", str(), false}}, Resp: TokenList{}, Scope: vigil.ScopeAdmin})
	s.api("POST /api/v1/tokens", s.handleTokenCreate, op{ID: "createToken", Tag: "Tokens", Summary: "Create an API token; its secret is shown once",
		Body: TokenCreate{}, Resp: TokenCreated{}, Status: http.StatusCreated, Scope: vigil.ScopeAdmin})
	s.api("DELETE /api/v1/tokens/{id}", s.handleTokenRevoke, op{ID: "revokeToken", Tag: "Tokens", Summary: "Revoke an API token", Status: http.StatusNoContent, Scope: vigil.ScopeAdmin})
	// Second factors (docs/identity.md).
	s.api("POST /api/v1/auth/mfa", s.handleSecondFactor, op{ID: "verifySecondFactor", Tag: "Auth",
		Summary: "Complete a sign-in that waits for its second factor (login answered stage mfa): a code from the app or a recovery code",
		Body:    CodeRequest{}, Resp: LoginResponse{}, Public: true})
	s.api("GET /api/v1/me/mfa", s.handleMFAStatus, op{ID: "getMyMFA", Tag: "MFA", Summary: "My second factors, and whether the policy requires one",
		Resp: vigil.MFAStatus{}, SessionOnly: true})
	s.api("POST /api/v1/me/mfa/totp", s.handleTOTPBegin, op{ID: "beginTOTPEnrolment", Tag: "MFA",
		Summary: "Start setting up an authenticator app: a new secret, its otpauth URL and QR code", Resp: TOTPSetup{}, Status: http.StatusCreated, SessionOnly: true})
	s.api("POST /api/v1/me/mfa/totp/confirm", s.handleTOTPConfirm, op{ID: "confirmTOTPEnrolment", Tag: "MFA",
		Summary: "Confirm the app with a code it shows; answers the recovery codes, shown once", Body: CodeRequest{}, Resp: RecoveryCodes{}, SessionOnly: true})
	s.api("DELETE /api/v1/users/{id}/mfa", s.handleMFAReset, op{ID: "resetUserMFA", Tag: "MFA", Summary: "Remove a user's second factors and end their sessions (admins)",
		Status: http.StatusNoContent, Scope: vigil.ScopeAdmin})
	s.api("PUT /api/v1/settings/mfa", s.handleMFAPolicy, op{ID: "setMFAPolicy", Tag: "MFA", Summary: "Whose sign-in needs a second factor: optional, admins or all (admins)",
		Body: MFAPolicyRequest{}, Status: http.StatusNoContent, Scope: vigil.ScopeAdmin})
	// Sessions (docs/identity.md).
	s.api("GET /api/v1/me/sessions", s.handleMySessions, op{ID: "listMySessions", Tag: "Sessions", Summary: "My live browser sessions (the current one marked)",
		Resp: SessionList{}, SessionOnly: true})
	s.api("DELETE /api/v1/me/sessions/{id}", s.handleMySessionRevoke, op{ID: "revokeMySession", Tag: "Sessions", Summary: "End one of my sessions",
		Status: http.StatusNoContent, SessionOnly: true})
	s.api("GET /api/v1/users/{id}/sessions", s.handleUserSessions, op{ID: "listUserSessions", Tag: "Sessions", Summary: "A user's live sessions (admins)",
		Resp: SessionList{}, Scope: vigil.ScopeAdmin})
	s.api("DELETE /api/v1/users/{id}/sessions", s.handleUserSessionsEnd, op{ID: "endUserSessions", Tag: "Sessions", Summary: "End all of a user's sessions (admins)",
		Resp: SessionsEnded{}, Scope: vigil.ScopeAdmin})
	s.api("GET /api/v1/audit", s.handleAuditList, op{ID: "listAuditEvents", Tag: "Audit", Summary: "Read the audit log, newest first (admins)",
		Query: []param{{"action", "Action, such as incident.update.", str(), false}, {"object_type", "Object type.", str(), false},
			{"object_id", "Object ID.", str(), false}, {"actor", "Actor user ID or \"me\".", str(), false},
			{"before", "Events before this sequence number (the next_before of the previous page).", integer(), false},
			{"limit", "Page size.", intRange(1, vigil.MaxPageSize), false}}, Resp: AuditList{}})
	// Reporting duties and the organisation profile.
	s.api("GET /api/v1/incidents/{id}/obligations", s.incident(s.handleObligationList), op{ID: "listObligations", Tag: "Duties",
		Summary: "An incident's reporting duties, most urgent first", Resp: ObligationList{}})
	s.api("GET /api/v1/obligations/due", s.handleObligationsDue, op{ID: "listDueObligations", Tag: "Duties",
		Summary: "Pending duties due within a time (default 72h) or as soon as possible, on incidents you may see",
		Query:   []param{{"within", "A duration such as 24h (default 72h).", str(), false}, {"limit", "At most this many.", intRange(1, vigil.MaxPageSize), false}},
		Resp:    ObligationList{}})
	s.api("GET /api/v1/obligations/{id}/draft", s.handleObligationDraft, op{ID: "draftObligation", Tag: "Duties",
		Summary: "The report the duty asks for, drafted from the incident as Markdown", Resp: ObligationDraft{}})
	s.api("POST /api/v1/obligations/{id}/submit", s.handleObligationSubmit, op{ID: "submitObligation", Tag: "Duties",
		Summary: "Record that the duty was done: when, the reference and what was sent (late: why)", Body: vigil.Submission{}, Resp: vigil.Obligation{}, Idempotent: true})
	s.api("POST /api/v1/obligations/{id}/not-required", s.handleObligationWaive, op{ID: "waiveObligation", Tag: "Duties",
		Summary: "Record that the duty does not apply, with the justification", Body: Waiver{}, Resp: vigil.Obligation{}, Idempotent: true})
	s.api("POST /api/v1/obligations/{id}/late-reason", s.handleObligationExplainDelay, op{ID: "explainObligationDelay", Tag: "Duties",
		Summary: "Give the reasons a submitted duty was late (a corrected clock put its submission past the due time)", Body: DelayReasons{}, Resp: vigil.Obligation{}})
	s.api("POST /api/v1/obligations/{id}/request", s.handleObligationRequest, op{ID: "requestObligation", Tag: "Duties",
		Summary: "Open a stage owed on request (status on_request), due when the request says", Body: StageRequest{}, Resp: vigil.Obligation{}})
	s.api("GET /api/v1/settings/profile", s.handleProfileView, op{ID: "getProfile", Tag: "Duties", Summary: "The organisation profile the duty packs read", Resp: vigil.OrgProfile{}})
	s.api("PUT /api/v1/settings/profile", s.handleProfileUpdate, op{ID: "updateProfile", Tag: "Duties",
		Summary: "Set the organisation profile (admins); open incidents' duties are evaluated again", Body: vigil.OrgProfile{}, Resp: vigil.OrgProfile{}})

	s.api("GET /api/v1/duty-packs", s.handlePackList, op{ID: "listDutyPacks", Tag: "Duties", Summary: "The duty packs in force, shipped and the admins' own", Resp: PackList{}})
	s.api("PUT /api/v1/duty-packs/{pack}", s.handlePackSave, op{ID: "saveDutyPack", Tag: "Duties",
		Summary: "Add a pack, or replace one (admins); a pack that fails validation is refused and the one in force stays", Body: map[string]any{}, Resp: vigil.PackInfo{}})
	s.api("DELETE /api/v1/duty-packs/{pack}", s.handlePackDelete, op{ID: "deleteDutyPack", Tag: "Duties",
		Summary: "Remove an admin's pack; a shipped pack of the same id comes back", Status: http.StatusNoContent})
	s.api("GET /api/v1/contacts", s.handleContactList, op{ID: "listContacts", Tag: "Duties", Summary: "The key contacts, and the authorities' public routes", Resp: ContactList{}})
	s.api("POST /api/v1/contacts", s.handleContactCreate, op{ID: "createContact", Tag: "Duties", Summary: "Add a key contact (managers, admins)",
		Body: vigil.Contact{}, Resp: vigil.Contact{}, Status: http.StatusCreated, Idempotent: true})
	s.api("PUT /api/v1/contacts/{id}", s.handleContactUpdate, op{ID: "updateContact", Tag: "Duties", Summary: "Replace a key contact's details (send its version)",
		Body: vigil.Contact{}, Resp: vigil.Contact{}})
	s.api("POST /api/v1/contacts/{id}/verify", s.handleContactVerify, op{ID: "verifyContact", Tag: "Duties",
		Summary: "Record that a contact's details were checked and are right", Resp: vigil.Contact{}})
	s.api("DELETE /api/v1/contacts/{id}", s.handleContactDelete, op{ID: "deleteContact", Tag: "Duties", Summary: "Remove a key contact", Status: http.StatusNoContent})

	// Response plans.
	s.api("GET /api/v1/plans", s.handlePlanList, op{ID: "listPlans", Tag: "Plans", Summary: "The response plans, by title", Resp: PlanList{}})
	s.api("POST /api/v1/plans", s.handlePlanCreate, op{ID: "createPlan", Tag: "Plans",
		Summary: "Add a response plan from its text (managers, admins); mistakes are named with their line", Body: vigil.PlanInput{}, Resp: vigil.Plan{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/plans/{id}", s.handlePlanView, op{ID: "getPlan", Tag: "Plans", Summary: "A response plan", Resp: vigil.Plan{}})
	s.api("PUT /api/v1/plans/{id}", s.handlePlanUpdate, op{ID: "updatePlan", Tag: "Plans",
		Summary: "Save a new version of a plan (send the version you changed); it needs approving again", Body: vigil.PlanInput{}, Resp: vigil.Plan{}})
	s.api("PUT /api/v1/plans/{id}/meta", s.handlePlanMeta, op{ID: "setPlanMeta", Tag: "Plans", Summary: "Set a plan's owner and review date",
		Body: vigil.PlanMeta{}, Resp: vigil.Plan{}})
	s.api("POST /api/v1/plans/{id}/approve", s.handlePlanApprove, op{ID: "approvePlan", Tag: "Plans",
		Summary: "Approve the current version; the next review falls due a year on", Body: PlanApproval{}, Resp: vigil.Plan{}})
	s.api("GET /api/v1/plans/{id}/versions", s.handlePlanVersions, op{ID: "listPlanVersions", Tag: "Plans", Summary: "A plan's change history, newest first", Resp: PlanVersionList{}})
	s.api("GET /api/v1/incidents/{id}/plans", s.incident(s.handleIncidentPlans), op{ID: "listIncidentPlans", Tag: "Plans",
		Summary: "The plans applied to an incident, and those written for its type and severity", Resp: IncidentPlans{}})
	s.api("POST /api/v1/incidents/{id}/plans", s.incident(s.handlePlanApply), op{ID: "applyPlan", Tag: "Plans",
		Summary: "Apply a plan: its steps become tasks, once; a newer version adds its new steps and updates open tasks (preview: say what would change)",
		Body:    PlanApply{}, Resp: vigil.PlanApplication{}})

	// Post-incident reviews.
	s.api("GET /api/v1/incidents/{id}/review", s.incident(s.handleReviewView), op{ID: "getReview", Tag: "Reviews", Summary: "The incident's post-incident review, with its action items", Resp: vigil.Review{}})
	s.api("POST /api/v1/incidents/{id}/review", s.incident(s.handleReviewStart), op{ID: "startReview", Tag: "Reviews",
		Summary: "Start the review of a recovered or closed incident; its timeline is drafted from the incident's", Resp: vigil.Review{}, Status: http.StatusCreated, Idempotent: true})
	s.api("PATCH /api/v1/incidents/{id}/review", s.incident(s.handleReviewUpdate), op{ID: "updateReview", Tag: "Reviews",
		Summary: "Change the review: timeline, root cause, contributing factors, what went well, what to improve (send version)", Body: vigil.ReviewUpdate{}, Resp: vigil.Review{}})
	s.api("POST /api/v1/incidents/{id}/review/actions", s.incident(s.handleReviewAction), op{ID: "addReviewAction", Tag: "Reviews",
		Summary: "Add an action item (a task in the learn phase), optionally proposing a change to a response plan", Body: vigil.ActionInput{}, Resp: vigil.Action{}, Status: http.StatusCreated, Idempotent: true})
	s.api("POST /api/v1/incidents/{id}/review/close", s.incident(s.handleReviewClose), op{ID: "closeReview", Tag: "Reviews",
		Summary: "Close the review (managers, admins): refused without a root cause or while action items are open", Body: ReviewClose{}, Resp: vigil.Review{}})
	s.api("GET /api/v1/review-actions", s.handleOpenActions, op{ID: "listOpenReviewActions", Tag: "Reviews",
		Summary: "Open review action items on the incidents you may see, soonest due first", Resp: ActionList{}})

	// Exercises and preparedness.
	s.api("GET /api/v1/exercises", s.handleExerciseList, op{ID: "listExercises", Tag: "Exercises", Summary: "Exercises of response plans, the latest first", Resp: ExerciseList{}})
	s.api("POST /api/v1/exercises", s.handleExerciseCreate, op{ID: "createExercise", Tag: "Exercises",
		Summary: "Schedule an exercise of a plan: scenario, participants, injects released at set times after the start (managers, admins)",
		Body:    vigil.ExerciseInput{}, Resp: vigil.Exercise{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/exercises/{id}", s.handleExerciseView, op{ID: "getExercise", Tag: "Exercises", Summary: "An exercise and its injects", Resp: vigil.Exercise{}})
	s.api("POST /api/v1/exercises/{id}/start", s.handleExerciseStart, op{ID: "startExercise", Tag: "Exercises",
		Summary: "Start it: an exercise incident opens (no duties, no outside notifications, no real metrics) with the plan's tasks", Body: ExerciseStart{}, Resp: vigil.Exercise{}})
	s.api("POST /api/v1/exercises/{id}/injects/{inject}/release", s.handleInjectRelease, op{ID: "releaseInject", Tag: "Exercises",
		Summary: "Release an inject now, onto the exercise incident's timeline", Resp: vigil.Exercise{}})
	s.api("POST /api/v1/exercises/{id}/end", s.handleExerciseEnd, op{ID: "endExercise", Tag: "Exercises",
		Summary: "End it; each finding becomes an action item of the exercise incident's review", Body: vigil.ExerciseEnd{}, Resp: vigil.Exercise{}})
	s.api("GET /api/v1/preparedness", s.handlePreparedness, op{ID: "getPreparedness", Tag: "Exercises",
		Summary: "Where the organisation stands against the NCSC's 10 Steps for incident management: plans, exercises, contacts, backups and restore tests, lessons",
		Resp:    casework.Preparedness{}})

	// Metrics.
	window := []param{{"from", "Start: a date (2026-09-01) or RFC 3339 time; default 90 days ago.", str(), false},
		{"to", "End: a date (inclusive) or RFC 3339 time; default now.", str(), false},
		{"exercises", "Exercises instead of real incidents.", boolean(), false}}
	s.api("GET /api/v1/metrics/incidents", s.handleMetricsReport, op{ID: "getIncidentMetrics", Long: true, Tag: "Metrics",
		Summary: "Time to detect, acknowledge, contain, recover and close (seconds: n, mean, median, p90, max), by type, severity, category, source and month; duties met on time; recurrence",
		Query:   window, Resp: vigil.Metrics{}})
	s.api("GET /api/v1/metrics/incidents.csv", s.handleMetricsCSV, op{ID: "exportIncidentMetrics", Long: true, Tag: "Metrics",
		Summary: "One row per incident: class, key times and each metric in hours", Query: window, Binary: true, Media: "text/csv"})

	// Reports.
	reportFormat := param{"format", "md (default), html or pdf.", enumOf([]string{"md", "html", "pdf"}), false}
	s.api("GET /api/v1/incidents/{id}/report", s.incident(s.handleIncidentReport), op{ID: "getIncidentReport", Long: true, Tag: "Reports",
		Summary: "The incident report: executive summary, key facts, impact, times, timeline, actions, duties and submissions, IOCs, evidence, lessons",
		Query:   []param{reportFormat}, Binary: true, Media: "text/markdown, text/html, application/pdf"})
	s.api("GET /api/v1/reports/management", s.handleManagementReport, op{ID: "getManagementReport", Long: true, Tag: "Reports",
		Summary: "The management report of a month or quarter (or from/to): incidents, times, duties, recurrence, preparedness",
		Query: append([]param{reportFormat, {"period", "month or quarter: the one containing at (default today).", enumOf([]string{"month", "quarter"}), false},
			{"at", "A date in the month or quarter wanted.", str(), false}}, window...), Binary: true, Media: "text/markdown, text/html, application/pdf"})

	// Evidence.
	s.api("GET /api/v1/incidents/{id}/evidence", s.incident(s.handleEvidenceList), op{ID: "listEvidence", Tag: "Evidence",
		Summary: "An incident's evidence, oldest first (listing is not logged as a view)", Resp: EvidenceList{}})
	s.api("POST /api/v1/incidents/{id}/evidence", s.incident(s.handleEvidenceUpload), op{ID: "addEvidence", Long: true, Tag: "Evidence",
		Summary: "Upload a file as evidence (multipart/form-data, streamed; the file part last), with who collected it, when, from where and how",
		Upload:  uploadSchema(), Resp: vigil.Evidence{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/incidents/{id}/evidence/package", s.incident(s.handleEvidencePackage), op{ID: "exportEvidencePackage", Long: true, Tag: "Evidence",
		Summary: "A zip of the incident's evidence files, manifest with hashes, custody logs and SHA256SUMS, checkable offline (logged as an export)",
		Binary:  true, Media: "application/zip"})
	s.api("GET /api/v1/evidence/{id}", s.handleEvidenceView, op{ID: "getEvidence", Tag: "Evidence",
		Summary: "A piece of evidence and its chain of custody (logged as a view)", Resp: EvidenceView{}})
	s.api("GET /api/v1/evidence/{id}/content", s.handleEvidenceContent, op{ID: "downloadEvidence", Long: true, Tag: "Evidence",
		Summary: "Download the file (logged); Repr-Digest carries its SHA-256", Binary: true, Media: "application/octet-stream"})
	s.api("POST /api/v1/evidence/{id}/transfers", s.handleEvidenceTransfer, op{ID: "transferEvidence", Tag: "Evidence",
		Summary: "Record handing the evidence to a named person or organisation", Body: vigil.Transfer{}, Resp: vigil.Evidence{}, Idempotent: true})
	s.api("POST /api/v1/evidence/{id}/verify", s.handleEvidenceVerify, op{ID: "verifyEvidence", Long: true, Tag: "Evidence",
		Summary: "Hash the file again and check its custody log; the result is logged and kept", Resp: vigil.EvidenceCheck{}})
	s.api("PUT /api/v1/evidence/{id}/hold", s.handleEvidenceHold, op{ID: "setLegalHold", Tag: "Evidence",
		Summary: "Place or lift a legal hold, with the reason (managers, admins)", Body: LegalHold{}, Resp: vigil.Evidence{}})
	s.api("DELETE /api/v1/evidence/{id}", s.handleEvidenceDelete, op{ID: "deleteEvidence", Tag: "Evidence",
		Summary: "Delete the file (refused under legal hold); its record and custody log stay (managers, admins)",
		Query:   []param{{"reason", "Why it is deleted (required).", str(), false}}, Status: http.StatusNoContent})

	s.api("GET /api/v1/incidents/{id}/stix", s.incident(s.handleIncidentSTIX), op{ID: "exportIncidentSTIX", Long: true, Tag: "Sharing",
		Summary: "The incident as a STIX 2.1 bundle: identity, incident, observables, indicators for IOCs, sightings, TLP 2.0 markings",
		Query: []param{
			{"report", "Add a report object listing the bundle's objects.", boolean(), false},
			{"max_tlp", "Leave out every object marked above this TLP (an incident above it goes, with what names it).", enumOf(vigil.TLPs), false},
		}, Resp: stix.Bundle{}, Media: stix.MediaType})

	s.api("POST /api/v1/incidents/{id}/publish", s.incident(s.handleIncidentPublish), op{ID: "publishIncidentIndicators", Tag: "Sharing",
		Summary: "Share the incident's IOCs (TLP:AMBER or below) with a TAXII collection; with preview, return exactly what would leave and share nothing",
		Body:    Publication{}, Resp: PublicationResult{}, Idempotent: true})
	s.api("GET /api/v1/collections", s.handleCollectionList, op{ID: "listCollections", Tag: "Sharing", Summary: "The TAXII collections you may use", Resp: CollectionList{}})
	s.api("POST /api/v1/collections", s.handleCollectionCreate, op{ID: "createCollection", Tag: "Sharing", Summary: "Add a TAXII collection (admins)",
		Body: vigil.Collection{}, Resp: vigil.Collection{}, Status: http.StatusCreated, Idempotent: true})
	s.api("GET /api/v1/hits", s.handleHitList, op{ID: "listHits", Tag: "Sharing",
		Summary: "Observables and alerts that match indicators received in collections (feeds, partners), newest first",
		Query: []param{
			{"incident_id", "Only hits on this incident's observables.", intRange(1, 1<<53), false},
			{"alert_id", "Only hits on this alert's observables.", intRange(1, 1<<53), false},
			{"before", "The next of the previous page.", intRange(1, 1<<53), false},
			{"limit", "Page size, 1 to 200 (default 50).", intRange(1, 200), false},
		}, Resp: vigil.HitPage{}})
	s.api("GET /api/v1/hits/{id}", s.handleHitView, op{ID: "getHit", Tag: "Sharing", Summary: "One hit", Resp: vigil.IOCHit{}})
	s.api("POST /api/v1/hits/{id}/share", s.handleHitShare, op{ID: "shareHitSighting", Tag: "Sharing",
		Summary: "Share a STIX sighting of the hit's indicator (not the value seen) with a TAXII collection; with preview, return it and share nothing",
		Body:    SightingShare{}, Resp: PublicationResult{}, Idempotent: true})

	// Notifications: channels, subscriptions and the delivery log.
	deliveryQuery := []param{
		{"channel_id", "Only this channel's deliveries.", intRange(1, 1<<53), false},
		{"incident_id", "Only deliveries about this incident.", intRange(1, 1<<53), false},
		{"status", "pending, retrying, sent or failed.", enumOf([]vigil.DeliveryStatus{vigil.DeliveryPending, vigil.DeliveryRetrying, vigil.DeliverySent, vigil.DeliveryFailed}), false},
		{"before_id", "The next_before of the previous page.", intRange(1, 1<<53), false},
		{"limit", "Page size, 1 to 500 (default 50).", intRange(1, vigil.MaxPageSize), false},
	}
	s.api("GET /api/v1/channels", s.handleChannelList, op{ID: "listChannels", Tag: "Notifications", Summary: "The notification channels (their addresses for admins only; secrets never)", Resp: ChannelList{}})
	s.api("POST /api/v1/channels", s.handleChannelCreate, op{ID: "createChannel", Tag: "Notifications",
		Summary: "Add a channel (admins); a webhook channel's signing secret is in this answer only", Body: vigil.Channel{}, Resp: vigil.Channel{}, Status: http.StatusCreated})
	s.api("GET /api/v1/channels/{id}", s.handleChannelView, op{ID: "getChannel", Tag: "Notifications", Summary: "One channel, without its secrets (admins)", Resp: vigil.Channel{}})
	s.api("PUT /api/v1/channels/{id}", s.handleChannelUpdate, op{ID: "updateChannel", Tag: "Notifications",
		Summary: "Replace a channel's settings (send its version; an empty SMTP password keeps the stored one)", Body: ChannelUpdate{}, Resp: vigil.Channel{}})
	s.api("DELETE /api/v1/channels/{id}", s.handleChannelDelete, op{ID: "deleteChannel", Tag: "Notifications", Summary: "Remove a channel, its subscriptions and its log", Status: http.StatusNoContent})
	s.api("POST /api/v1/channels/{id}/test", s.handleChannelTest, op{ID: "testChannel", Tag: "Notifications",
		Summary: "Queue a test notification on the channel; follow it in the delivery log", Resp: vigil.Delivery{}, Status: http.StatusAccepted, Idempotent: true})
	s.api("GET /api/v1/subscriptions", s.handleSubscriptionList, op{ID: "listSubscriptions", Tag: "Notifications", Summary: "Your subscriptions (an admin's: all)", Resp: SubscriptionList{}})
	s.api("POST /api/v1/subscriptions", s.handleSubscriptionCreate, op{ID: "createSubscription", Tag: "Notifications",
		Summary: "Subscribe to events; non-admins subscribe themselves by e-mail", Body: vigil.Subscription{}, Resp: vigil.Subscription{}, Status: http.StatusCreated, Idempotent: true})
	s.api("DELETE /api/v1/subscriptions/{id}", s.handleSubscriptionDelete, op{ID: "deleteSubscription", Tag: "Notifications", Summary: "Unsubscribe", Status: http.StatusNoContent})
	s.api("GET /api/v1/deliveries", s.handleDeliveryList, op{ID: "listDeliveries", Tag: "Notifications",
		Summary: "The delivery log, newest first: each notification, its attempts and last error", Query: deliveryQuery, Resp: DeliveryList{}})
	s.api("POST /api/v1/deliveries/{id}/retry", s.handleDeliveryRetry, op{ID: "retryDelivery", Tag: "Notifications",
		Summary: "Queue a failed delivery again (admins)", Resp: vigil.Delivery{}, Status: http.StatusAccepted})

	// Intake, integrations and the alert triage queue.
	intakeOp := func(id, summary string) op {
		return op{ID: id, Tag: "Intake", Summary: summary, Body: map[string]any{}, Resp: vigil.IngestResult{}, Public: true}
	}
	s.api("POST /api/v1/intake/{kind}", s.handleIntake, intakeOp("intake",
		"Post alerts in a tool's own format (alertmanager, grafana, splunk, wazuh, elastic, generic, thehive) with Authorization: Bearer <integration token>"))
	s.api("POST /api/v1/intake/{kind}/{token}", s.handleIntake, intakeOp("intakeWithToken",
		"Post alerts with the integration token in the URL, for tools that cannot set headers"))
	emailOp := op{ID: "intakeEmail", Tag: "Intake", RawBody: "message/rfc822", Resp: EmailIngestResult{}, Public: true,
		Summary: "Report an e-mail: a raw RFC 5322 message (Content-Type: message/rfc822) with Authorization: Bearer <email integration token>; it becomes an alert of kind email, the message and its attachments its evidence (docs/email-intake.md)"}
	s.api("POST /api/v1/intake/email", s.handleIntakeEmail, emailOp)
	emailOp.ID, emailOp.Summary = "intakeEmailWithToken", "Report an e-mail with the integration token in the URL"
	s.api("POST /api/v1/intake/email/{token}", s.handleIntakeEmail, emailOp)
	thehive := intakeOp("theHiveAlert", "TheHive-compatible alert API: create an alert (Authorization: Bearer <integration token>)")
	thehive.Status, thehive.Resp = http.StatusCreated, TheHiveAlertCreated{}
	s.api("POST /api/alert", s.handleIntake, thehive)
	thehive.ID = "theHiveAlertV1"
	s.api("POST /api/v1/alert", s.handleIntake, thehive)
	s.api("GET /api/v1/mailboxes", s.handleMailboxList, op{ID: "listMailboxes", Tag: "Integrations",
		Summary: "The IMAP mailboxes polled for reported e-mail, with their health and last error (admins; passwords never shown)", Resp: MailboxList{}})
	s.api("POST /api/v1/mailboxes", s.handleMailboxCreate, op{ID: "createMailbox", Tag: "Integrations",
		Summary: "Poll an IMAP mailbox for reported e-mail into an email integration (the password is sealed at rest)", Body: vigil.Mailbox{}, Resp: vigil.Mailbox{}, Status: http.StatusCreated})
	s.api("GET /api/v1/mailboxes/{id}", s.handleMailboxView, op{ID: "getMailbox", Tag: "Integrations",
		Summary: "A polled mailbox with its health and the messages whose processing failed", Resp: vigil.Mailbox{}})
	s.api("DELETE /api/v1/mailboxes/{id}", s.handleMailboxDelete, op{ID: "deleteMailbox", Tag: "Integrations",
		Summary: "Stop polling a mailbox (its alerts stay)", Status: http.StatusNoContent})
	s.api("GET /api/v1/integrations", s.handleIntegrationList, op{ID: "listIntegrations", Tag: "Integrations", Summary: "List integrations (admins)", Resp: IntegrationList{}})
	s.api("POST /api/v1/integrations", s.handleIntegrationCreate, op{ID: "createIntegration", Tag: "Integrations",
		Summary: "Create an integration; its token is shown once", Body: vigil.Integration{}, Resp: IntegrationCreated{}, Status: http.StatusCreated})
	s.api("GET /api/v1/integrations/{id}", s.handleIntegrationView, op{ID: "getIntegration", Tag: "Integrations", Summary: "Get an integration", Resp: vigil.Integration{}})
	s.api("PATCH /api/v1/integrations/{id}", s.handleIntegrationUpdate, op{ID: "updateIntegration", Tag: "Integrations",
		Summary: "Change an integration's defaults, mapping, rules or status", Body: vigil.IntegrationUpdate{}, Resp: vigil.Integration{}})
	s.api("DELETE /api/v1/integrations/{id}", s.handleIntegrationDelete, op{ID: "deleteIntegration", Tag: "Integrations",
		Summary: "Delete an integration that has sent no alerts (disable it otherwise)", Status: http.StatusNoContent})
	s.api("POST /api/v1/integrations/{id}/token", s.handleIntegrationRotate, op{ID: "rotateIntegrationToken", Tag: "Integrations",
		Summary: "Replace the integration's token; the old one stops working", Resp: IntegrationCreated{}})
	s.api("GET /api/v1/alert-groups", s.handleAlertGroupList, op{ID: "listAlertGroups", Tag: "Alerts", Summary: "The triage queue: alert groups",
		Query: []param{{"state", "Group states (default new and acknowledged).", enumOf(vigil.GroupStates), true},
			{"severity", "Severities.", enumOf(vigil.Severities), true}, {"integration", "Integration ID.", integer(), false},
			{"sort", "severity (highest first), newest, oldest or last_seen.", enumOf(vigil.GroupSorts), false},
			{"limit", "Page size, 1 to 500.", intRange(1, 500), false}, {"offset", "Skip this many.", intRange(0, 1<<31-1), false}},
		Resp: vigil.AlertGroupPage{}})
	s.api("GET /api/v1/alert-groups/{id}", s.handleAlertGroupView, op{ID: "getAlertGroup", Tag: "Alerts", Summary: "An alert group with its alerts", Resp: vigil.AlertGroup{}})
	s.api("POST /api/v1/alert-groups/actions", s.handleAlertGroupAction, op{ID: "actOnAlertGroups", Tag: "Alerts",
		Summary: "Acknowledge, dismiss, promote, attach, merge or reopen alert groups (all or none)", Body: vigil.GroupAction{}, Resp: GroupActionResult{}, Idempotent: true})
	s.api("GET /api/v1/alerts", s.handleAlertList, op{ID: "listAlerts", Tag: "Alerts", Summary: "List alerts, newest first",
		Query: []param{{"group", "Alert group ID.", integer(), false}, {"integration", "Integration ID.", integer(), false},
			{"status", "firing or resolved.", enumOf([]vigil.AlertStatus{vigil.AlertFiring, vigil.AlertResolved}), true},
			{"limit", "Page size, 1 to 500.", intRange(1, 500), false}, {"offset", "Skip this many.", intRange(0, 1<<31-1), false}},
		Resp: AlertList{}})
	s.api("GET /api/v1/alerts/{id}", s.handleAlertView, op{ID: "getAlert", Tag: "Alerts",
		Summary: "An alert with its observables (and where else each was seen), occurrences and raw JSON", Resp: vigil.Alert{}})
	s.api("GET /api/v1/audit/verify", s.handleAuditVerify, op{ID: "verifyAudit", Long: true, Tag: "Audit", Summary: "Recompute the audit hash chain (admins)", Resp: vigil.AuditVerification{}})
}

// apiFallback answers API requests that match no route with a problem
// instead of the mux's plain text: 405 with Allow when the path exists for
// other methods, else 404.
func (s *Server) apiFallback(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		if sw, ok := w.(*statusWriter); ok && sw.route != "" {
			h.ServeHTTP(w, r) // storeDeadline found the route
			return
		}
		if _, pattern := s.mux.Handler(r); pattern != "" {
			if sw, ok := w.(*statusWriter); ok {
				sw.route = pattern // for the access log and metrics
			}
			h.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, pattern := s.mux.Handler(r2); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.problem(w, r, &Problem{Status: http.StatusMethodNotAllowed, Detail: "Use " + strings.Join(allow, " or ") + " here."})
			return
		}
		s.problem(w, r, &Problem{Status: http.StatusNotFound, Code: vigil.ENOTFOUND, Detail: "No such API endpoint."})
	})
}
