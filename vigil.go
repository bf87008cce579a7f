// Package vigil is the domain of Vigil, a self-hosted cyber security incident
// management platform: incidents and their lifecycle, observables, tasks,
// timelines, users and the audit log, the rules that govern them, and the
// service interfaces that the stores (sqlite, postgres) implement and the
// transports (http, cmd/vigil) consume. It does no I/O.
package vigil

import "strconv"

// Version is the Vigil release, set at build time with
// -ldflags "-X github.com/vigil-ir/vigil.Version=…".
var Version = "0.1.0-dev"

// Services holds one implementation of each service. Stores return it;
// transports take it.
type Services struct {
	Incidents    IncidentService
	Timeline     TimelineService
	Tasks        TaskService
	Comments     CommentService
	Observables  ObservableService
	Links        LinkService
	Members      MemberService
	Search       SearchService
	Users        UserService
	Auth         AuthService
	MFA          MFAService
	Audit        AuditService
	Anchors      AnchorService
	Reports      ReportService
	Integrations IntegrationService
	Alerts       AlertService
	Views        ViewService
	Duties       DutyService
	Contacts     ContactService
	Notify       NotificationService
	Worker       WorkerService
	Sharing      SharingService
	Feeds        FeedService
	Mailboxes    MailboxService
	IOC          IOCService
	Evidence     EvidenceService
	Plans        PlanService
	Reviews      ReviewService
	Recovery     RecoveryService
	Exercises    ExerciseService
	Metrics      MetricsService
	Idempotency  IdempotencyService
	Orgs         OrganisationService
	Advisories   AdvisoryService
	OIDC         OIDCService
}

// ParseID reads a record's numeric ID as it comes in a URL. Anything but a
// positive decimal number is ENOTFOUND: no record has that ID, and the
// answer should not differ from the one for a well-formed ID that names
// nothing. The API and the pages both read their path IDs with it.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, Errorf(ENOTFOUND, "Not found.")
	}
	return id, nil
}
