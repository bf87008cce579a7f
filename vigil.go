// Package vigil is the domain of Vigil, a self-hosted cyber security incident
// management platform: incidents and their lifecycle, observables, tasks,
// timelines, users and the audit log, the rules that govern them, and the
// service interfaces that the stores (sqlite, postgres) implement and the
// transports (http, cmd/vigil) consume. It does no I/O.
package vigil

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
	Audit        AuditService
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
	IOC          IOCService
	Evidence     EvidenceService
	Plans        PlanService
	Reviews      ReviewService
	Recovery     RecoveryService
	Exercises    ExerciseService
	Metrics      MetricsService
}
