package vigil

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ChannelKind is how a notification leaves Vigil.
type ChannelKind string

// The channel kinds.
const (
	ChannelEmail   ChannelKind = "email"   // SMTP, with STARTTLS or TLS and authentication
	ChannelSlack   ChannelKind = "slack"   // a Slack incoming webhook
	ChannelTeams   ChannelKind = "teams"   // a Microsoft Teams incoming webhook (Workflows)
	ChannelWebhook ChannelKind = "webhook" // any HTTPS receiver; signed as Standard Webhooks (HMAC-SHA256)
)

// ChannelKinds lists every kind.
var ChannelKinds = []ChannelKind{ChannelEmail, ChannelSlack, ChannelTeams, ChannelWebhook}

// SMTPConfig is an e-mail channel's server.
type SMTPConfig struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`     // 587 (STARTTLS) by default
	Security string   `json:"security"` // "starttls" (default), "tls" (implicit, port 465) or "none" (only for a relay on localhost)
	Username string   `json:"username"`
	Password string   `json:"password,omitempty"` // write-only: never returned once stored
	From     string   `json:"from"`
	To       []string `json:"to"` // the channel's own recipients, for subscriptions that name none
}

// Channel is a way to send notifications: an e-mail server, a chat
// webhook or a signed webhook.
type Channel struct {
	ID   int64       `json:"id"`
	Name string      `json:"name"`
	Kind ChannelKind `json:"kind"`
	// URL is the webhook address (slack, teams, webhook).
	URL  string      `json:"url,omitempty"`
	SMTP *SMTPConfig `json:"smtp,omitempty"`
	// Secret signs webhook deliveries ("whsec_" and base64, as Standard
	// Webhooks defines it). Shown once, when the channel is made or rotated.
	Secret string `json:"secret,omitempty"`
	// TLP is the most restrictive label whose details may go to this
	// channel. A notification about an incident above it says only that
	// an incident needs attention, with a link.
	TLP TLP `json:"tlp"`
	// Escalation marks the e-mail channel that carries escalations of
	// reporting duties to the incident lead, the DPO and the managers.
	Escalation bool      `json:"escalation"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    int       `json:"version"`
}

// Validate trims and checks a channel and fills in defaults: TLP:GREEN for
// chat and webhooks, TLP:AMBER for e-mail; port 587 with STARTTLS.
func (c *Channel) Validate() error {
	var p Problems
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || utf8.RuneCountInString(c.Name) > 100 {
		p.Add("name", "Name the channel (at most 100 characters).")
	}
	if !slices.Contains(ChannelKinds, c.Kind) {
		p.Add("kind", "Kind is one of email, slack, teams or webhook.")
	}
	if c.TLP == "" {
		c.TLP = TLPGreen
		if c.Kind == ChannelEmail {
			c.TLP = TLPAmber
		}
	}
	if t, ok := ParseTLP(string(c.TLP)); ok {
		c.TLP = t
	} else {
		p.Add("tlp", "TLP is CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")
	}
	switch c.Kind {
	case ChannelEmail:
		c.URL = ""
		if c.SMTP == nil {
			p.Add("smtp", "An e-mail channel needs its SMTP server.")
			break
		}
		s := c.SMTP
		s.Host = strings.Trim(strings.TrimSpace(s.Host), "[]") // an IPv6 address is bracketed when sent
		if s.Host == "" || strings.ContainsAny(s.Host, " /@[]") || strings.Contains(s.Host, ":") && net.ParseIP(s.Host) == nil {
			p.Add("smtp.host", "Give the SMTP server's host name or address, without a port.")
		}
		if s.Security == "" {
			s.Security = "starttls"
		}
		if s.Port == 0 {
			s.Port = 587
			if s.Security == "tls" {
				s.Port = 465
			}
		}
		if s.Port < 1 || s.Port > 65535 {
			p.Add("smtp.port", "Port is between 1 and 65535.")
		}
		if !slices.Contains([]string{"starttls", "tls", "none"}, s.Security) {
			p.Add("smtp.security", "Security is starttls, tls or none.")
		}
		if a, err := mail.ParseAddress(s.From); err != nil {
			p.Add("smtp.from", "Give the sender's e-mail address.")
		} else {
			s.From = a.Address
		}
		if s.To == nil {
			s.To = []string{}
		}
		for i, to := range s.To {
			a, err := mail.ParseAddress(to)
			if err != nil {
				p.Add("smtp.to", "%q is not an e-mail address.", to)
				break
			}
			s.To[i] = a.Address
		}
		if len(s.To) > 50 {
			p.Add("smtp.to", "At most 50 recipients; use a mailing list.")
		}
	default:
		c.SMTP = nil
		if err := checkWebhookURL(c.URL); err != "" {
			p.Add("url", "%s", err)
		}
		if c.Escalation {
			p.Add("escalation", "Only an e-mail channel carries escalations to named people.")
		}
	}
	return p.Err()
}

// checkWebhookURL says what is wrong with a webhook address, or "".
func checkWebhookURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case s == "":
		return "Give the webhook's URL."
	case err != nil || u.Host == "":
		return "The URL is not valid; give the full https:// address."
	case u.Scheme != "https" && u.Scheme != "http":
		return "The URL must start with https:// (or http://)."
	case u.User != nil:
		return "Put no credentials in the URL."
	case len(s) > 2000:
		return "The URL is too long."
	}
	return ""
}

// EventKind is something that happened that people may want to hear of.
type EventKind string

// The events a subscription can ask for.
const (
	EventIncidentCreated EventKind = "incident.created"
	EventSeverityRaised  EventKind = "incident.severity_raised"
	EventAssigned        EventKind = "assigned" // an incident's lead or a task's assignee set to someone
	EventTaskDue         EventKind = "task.due"
	EventDutyDueSoon     EventKind = "duty.due_soon" // 12 h and 1 h before a reporting duty's due time
	EventDutyOverdue     EventKind = "duty.overdue"
	EventReportReceived  EventKind = "report.received" // a member of staff reported a suspected incident
	EventPlanReviewDue   EventKind = "plan.review_due" // a response plan's review falls due within 30 days, or is overdue
	EventIntelHit        EventKind = "intel.hit"       // an incident's observables match indicators received from partners or feeds
	EventTest            EventKind = "test"            // an administrator's test of a channel
)

// EventKinds lists the events subscriptions may name.
var EventKinds = []EventKind{EventIncidentCreated, EventSeverityRaised, EventAssigned, EventTaskDue, EventDutyDueSoon,
	EventDutyOverdue, EventReportReceived, EventPlanReviewDue, EventIntelHit}

// Event is one thing that happened, queued in the transaction that made it
// happen and fanned out to subscriptions by the worker.
type Event struct {
	Kind         EventKind `json:"kind"`
	IncidentID   int64     `json:"incident_id,omitempty"`
	TaskID       int64     `json:"task_id,omitempty"`
	ObligationID int64     `json:"obligation_id,omitempty"`
	PlanID       int64     `json:"plan_id,omitempty"` // plan review reminders
	Count        int       `json:"count,omitempty"`   // intel hits: how many new matches
	UserID       int64     `json:"user_id,omitempty"` // the person it concerns: the new assignee
	Stage        string    `json:"stage,omitempty"`   // for duty reminders: "12h", "1h" or "overdue"
	At           time.Time `json:"at"`
	// ChannelID aims a test event at one channel.
	ChannelID int64 `json:"channel_id,omitempty"`
}

// Subscription sends the events it names, on incidents that pass its
// filters, to a channel.
type Subscription struct {
	ID        int64       `json:"id"`
	ChannelID int64       `json:"channel_id"`
	UserID    int64       `json:"user_id"` // who made it; "mine" filters to them
	Events    []EventKind `json:"events"`
	// Filters; empty means any.
	MinSeverity Severity       `json:"min_severity,omitempty"`
	Types       []IncidentType `json:"types,omitempty"`
	Mine        bool           `json:"mine"` // only what is assigned to the subscriber, or incidents they lead
	// To overrides an e-mail channel's recipients.
	To        []string  `json:"to,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// ChannelName is filled in lists.
	ChannelName string `json:"channel_name,omitempty"`
}

// Validate trims and checks a subscription.
func (s *Subscription) Validate() error {
	var p Problems
	if s.ChannelID == 0 {
		p.Add("channel_id", "Choose a channel.")
	}
	if len(s.Events) == 0 {
		p.Add("events", "Choose at least one event.")
	}
	for _, e := range s.Events {
		if !slices.Contains(EventKinds, e) {
			p.Add("events", "Unknown event %q.", e)
			break
		}
	}
	if s.MinSeverity != "" && s.MinSeverity.Rank() == 0 {
		p.Add("min_severity", "Unknown severity %q.", s.MinSeverity)
	}
	for _, t := range s.Types {
		if !inEnum(t, IncidentTypes) {
			p.Add("types", "Unknown incident type %q.", t)
			break
		}
	}
	if s.To == nil {
		s.To = []string{}
	}
	if s.Types == nil {
		s.Types = []IncidentType{}
	}
	for i, to := range s.To {
		a, err := mail.ParseAddress(to)
		if err != nil {
			p.Add("to", "%q is not an e-mail address.", to)
			break
		}
		s.To[i] = a.Address
	}
	if len(s.To) > 50 {
		p.Add("to", "At most 50 recipients.")
	}
	return p.Err()
}

// Matches reports whether the subscription wants ev on inc. concerns are
// the users the event is about (the assignee, the incident's lead).
func (s *Subscription) Matches(ev *Event, inc *Incident, concerns []int64) bool {
	if !slices.Contains(s.Events, ev.Kind) {
		return false
	}
	if inc != nil {
		if s.MinSeverity != "" && inc.Severity.Rank() < s.MinSeverity.Rank() {
			return false
		}
		if len(s.Types) > 0 && !slices.Contains(s.Types, inc.Type) {
			return false
		}
	}
	if s.Mine && !slices.Contains(concerns, s.UserID) {
		return false
	}
	return true
}

// Field is one labelled line of a notification.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Message is a notification's content, composed when the event is fanned
// out and kept with the delivery, so a retry sends the same thing. It is
// plain text: each channel escapes it for its own markup.
type Message struct {
	Subject string  `json:"subject"`
	Text    string  `json:"text"`
	Fields  []Field `json:"fields,omitempty"`
	// Path is the page in Vigil, joined to the server's public URL when sent.
	Path string `json:"path,omitempty"`
	// Redacted says the details were left out: the incident's TLP is above
	// what the channel is cleared for.
	Redacted bool `json:"redacted"`
	TLP      TLP  `json:"tlp,omitempty"`
	// Event and Incident for receivers that act on them (webhooks).
	Event     EventKind `json:"event"`
	Reference string    `json:"reference,omitempty"`
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery statuses.
const (
	DeliveryPending  DeliveryStatus = "pending"  // queued, not tried yet
	DeliveryRetrying DeliveryStatus = "retrying" // failed, will be tried again
	DeliverySent     DeliveryStatus = "sent"
	DeliveryFailed   DeliveryStatus = "failed" // gave up after the last attempt; can be retried by hand
)

// Delivery is one notification to one channel (and, for e-mail, its
// recipients): the delivery log's row.
type Delivery struct {
	ID          int64          `json:"id"`
	Key         string         `json:"key"` // idempotency key: the webhook-id header, the e-mail's Message-ID
	ChannelID   int64          `json:"channel_id"`
	ChannelName string         `json:"channel_name"`
	ChannelKind ChannelKind    `json:"channel_kind"`
	Event       EventKind      `json:"event"`
	IncidentID  *int64         `json:"incident_id"`
	Recipients  []string       `json:"recipients"`
	Message     Message        `json:"message"`
	Status      DeliveryStatus `json:"status"`
	Attempts    int            `json:"attempts"`
	LastError   string         `json:"last_error"`
	NextAt      *time.Time     `json:"next_attempt_at"`
	SentAt      *time.Time     `json:"sent_at"`
	CreatedAt   time.Time      `json:"created_at"`
}

// DeliveryFilter selects deliveries for the log.
type DeliveryFilter struct {
	ChannelID  int64
	IncidentID int64
	Status     DeliveryStatus
	Limit      int
	BeforeID   int64 // keyset pagination: deliveries older than this
}

// NotificationService keeps channels and subscriptions and shows the
// delivery log. Administrators manage channels; anyone who reads
// incidents may subscribe themselves by e-mail.
type NotificationService interface {
	CreateChannel(ctx context.Context, c *Channel) error
	FindChannels(ctx context.Context) ([]*Channel, error)
	FindChannelByID(ctx context.Context, id int64) (*Channel, error)
	// UpdateChannel replaces the settings; an empty SMTP password keeps
	// the stored one. rotateSecret makes a new webhook secret.
	UpdateChannel(ctx context.Context, c *Channel, rotateSecret bool) error
	DeleteChannel(ctx context.Context, id int64) error
	// TestChannel queues a test notification on the channel.
	TestChannel(ctx context.Context, id int64) (*Delivery, error)

	CreateSubscription(ctx context.Context, s *Subscription) error
	// FindSubscriptions lists the actor's own, or every one for an admin.
	FindSubscriptions(ctx context.Context) ([]*Subscription, error)
	DeleteSubscription(ctx context.Context, id int64) error

	FindDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// RetryDelivery queues a failed delivery again.
	RetryDelivery(ctx context.Context, id int64) (*Delivery, error)
}

// Job is a unit of background work, claimed under a lease so that several
// Vigil instances on one database never run it twice at once.
type Job struct {
	ID          int64
	Kind        string
	Key         string // unique when set: the same work is never queued twice
	Payload     []byte // JSON
	Attempts    int    // including this one
	MaxAttempts int
	RunAt       time.Time
}

// The job kinds.
const (
	JobEvent   = "event"   // fan an Event out to deliveries
	JobDeliver = "deliver" // send one Delivery
)

// Outbound is a delivery claimed for sending, with its channel's secrets.
type Outbound struct {
	Delivery *Delivery
	Channel  *Channel
}

// WorkerService is the store side of the background worker. It runs as
// the system; every change it makes is in the audit log and, for
// incidents, on their timelines.
type WorkerService interface {
	// ClaimJobs leases up to n due jobs of the given kinds to worker.
	ClaimJobs(ctx context.Context, worker string, kinds []string, n int, lease time.Duration) ([]*Job, error)
	// ExpandEvent fans an event job out into deliveries and completes it,
	// in one transaction.
	ExpandEvent(ctx context.Context, worker string, job *Job) error
	// Outbound loads what a deliver job sends.
	Outbound(ctx context.Context, job *Job) (*Outbound, error)
	// Delivered records a delivery's outcome and completes or reschedules
	// its job: sent (sendErr nil) goes on the incident's timeline.
	Delivered(ctx context.Context, worker string, job *Job, sendErr error, retryAt time.Time) error
	// CompleteJob marks a job done.
	CompleteJob(ctx context.Context, worker string, job *Job) error
	// FailJob reschedules a job whose handler failed before any effect.
	FailJob(ctx context.Context, worker string, job *Job, err error, retryAt time.Time) error
	// Schedule queues what has come due by now: duty reminders (12 h, 1 h,
	// overdue) and task due events, each once (keyed), and prunes finished
	// jobs older than keep and expired idempotency keys. It returns how
	// many events it queued.
	Schedule(ctx context.Context, now time.Time, keep time.Duration) (int, error)
}

// ErrLeaseLost is returned when a job's lease ran out and another worker
// took it: the first worker's result is dropped.
var ErrLeaseLost = Errorf(ECONFLICT, "The job's lease ran out and another worker took it.")

// Redact strips a message about incident id to "an incident needs you"
// and a link by number, which names nothing.
func Redact(m Message, id int64) Message {
	return Message{Event: m.Event, TLP: m.TLP, Redacted: true, Path: "/incidents/" + strconv.FormatInt(id, 10),
		Subject: "Vigil: an incident needs you",
		Text:    "An incident needs your attention. Its details are TLP-restricted and are not sent on this channel; open Vigil to see them."}
}

// About is what an event is about, loaded by the store for Compose.
type About struct {
	Event      *Event
	Incident   *Incident   // nil for a channel test
	Obligation *Obligation // duty reminders
	Task       *Task       // task events
	Assignee   string      // the new assignee's name
	Plan       *Plan       // plan review reminders
}

// Compose writes the message for a, for a channel cleared up to cleared,
// with times in loc. Above the channel's clearance the message says only
// that an incident needs attention and links to it: no title, no summary,
// no reference in the text.
func Compose(a About, cleared TLP, loc *time.Location) Message {
	ev, inc := a.Event, a.Incident
	m := Message{Event: ev.Kind}
	if p := a.Plan; p != nil {
		due := p.ReviewDue.In(loc).Format("Mon 2 Jan 2006")
		m.Path = fmt.Sprintf("/plans/%d", p.ID)
		if ev.Stage == "overdue" {
			m.Subject = "OVERDUE: review of the response plan " + p.Title
			m.Text = "The response plan's yearly review was due " + due + ". Review it, save any changes and approve it: approval sets the next review a year on."
		} else {
			m.Subject = "Response plan due for review: " + p.Title
			m.Text = "The response plan is due for its review on " + due + "."
		}
		owner := p.OwnerName
		if owner == "" {
			owner = "nobody yet"
		}
		approved := "never"
		if p.ApprovedVersion > 0 {
			approved = fmt.Sprintf("version %d", p.ApprovedVersion)
		}
		m.Fields = []Field{{"Plan", p.Title}, {"Owner", owner}, {"Review due", due}, {"Approved", approved}}
		return m
	}
	if inc == nil {
		m.Subject = "Vigil: test notification"
		m.Text = "This is a test from Vigil. If you can read it, the channel works."
		return m
	}
	m.Path = "/incidents/" + inc.Reference
	m.TLP = inc.TLP
	if inc.TLP.Rank() > cleared.Rank() {
		return Redact(m, inc.ID)
	}
	m.Reference = inc.Reference
	when := func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST") }
	ref := inc.Reference + " " + inc.Title
	switch ev.Kind {
	case EventIncidentCreated:
		m.Subject = "New incident " + ref
		m.Text = "A new incident was opened."
	case EventReportReceived:
		m.Subject = "Suspected incident reported: " + ref
		m.Text = "A member of staff reported a suspected incident. It waits for triage."
	case EventIntelHit:
		m.Subject = "Threat intelligence match: " + ref
		m.Text = fmt.Sprintf("%d new matches between the incident's observables and indicators received from partners or feeds. "+
			"The incident's threat intelligence section says which, and where the indicators came from.", ev.Count)
		m.Path += "#intel"
	case EventSeverityRaised:
		m.Subject = "Severity raised to " + string(inc.Severity) + ": " + ref
		m.Text = "The incident's severity was raised."
	case EventAssigned:
		if a.Task != nil {
			m.Subject = "Task assigned to " + a.Assignee + ": " + a.Task.Title + " (" + inc.Reference + ")"
			m.Text = "A task on " + inc.Reference + " was assigned to " + a.Assignee + "."
		} else {
			m.Subject = a.Assignee + " now leads " + ref
			m.Text = a.Assignee + " was made the incident lead."
		}
	case EventTaskDue:
		if a.Task != nil {
			m.Subject = "Task due: " + a.Task.Title + " (" + inc.Reference + ")"
			if a.Task.DueAt != nil {
				m.Text = "The task is due " + when(*a.Task.DueAt) + "."
			}
		}
	case EventDutyDueSoon, EventDutyOverdue:
		o := a.Obligation
		if o == nil {
			break
		}
		name := o.Title
		if o.StageName != "" {
			name += " — " + o.StageName
		}
		due := ""
		if o.DueAt != nil {
			due = when(*o.DueAt)
		}
		switch ev.Stage {
		case "overdue":
			m.Subject = "OVERDUE: " + name + " (" + inc.Reference + ")"
			m.Text = "A reporting duty is overdue: it was due " + due + ". Submit it and record the reason for the delay, or record why it is not required."
		case "1h":
			m.Subject = "Due within 1 hour: " + name + " (" + inc.Reference + ")"
			m.Text = "A reporting duty is due " + due + " and is not yet submitted."
		default:
			m.Subject = "Due within 12 hours: " + name + " (" + inc.Reference + ")"
			m.Text = "A reporting duty is due " + due + " and is not yet submitted."
		}
		if o.Authority != "" {
			m.Fields = append(m.Fields, Field{"Authority", o.Authority})
		}
		if o.Basis != "" {
			m.Fields = append(m.Fields, Field{"Legal basis", o.Basis})
		}
	}
	if m.Subject == "" {
		m.Subject = "Incident " + ref
	}
	m.Fields = append([]Field{{"Incident", ref}, {"Severity", string(inc.Severity)}, {"Status", StatusLabel(inc.Status)},
		{"TLP", string(inc.TLP)}}, m.Fields...)
	if inc.Summary != "" {
		s := inc.Summary
		if utf8.RuneCountInString(s) > 1000 {
			s = string([]rune(s)[:1000]) + "…"
		}
		m.Fields = append(m.Fields, Field{"Summary", s})
	}
	return m
}
