package vigil

import (
	"context"
	"net"
	"strings"
	"time"
	"unicode/utf8"
)

// Mailbox is an IMAP mailbox Vigil polls for reported e-mail (a shared
// "report phishing" mailbox); each message becomes an alert of its email
// integration, as an upload to /api/v1/intake/email does. The password is
// sealed at rest and never shown again.
type Mailbox struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	IntegrationID int64  `json:"integration_id"` // an integration of kind email: its rules, its alerts
	Host          string `json:"host"`
	Port          int    `json:"port"`
	// Security is "tls" (implicit TLS, port 993), "starttls" or "none"
	// (refused but on a loopback address).
	Security string `json:"security"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"` // write-only
	Folder   string `json:"folder"`
	// Processed is what is done to a message once it is an alert: "move"
	// it to ProcessedFolder, or "flag" it ($VigilProcessed). A message
	// whose processing failed is left as it is.
	Processed       string   `json:"processed"`
	ProcessedFolder string   `json:"processed_folder,omitempty"`
	Interval        Duration `json:"interval"`
	Disabled        bool     `json:"disabled"`

	// The poll's state: the folder's UIDVALIDITY and the last UID taken;
	// Health is "unknown" (not polled yet), "ok" or "failing" (LastError
	// says why, e.g. the login was refused).
	UIDValidity  uint32            `json:"uid_validity"`
	LastUID      uint32            `json:"last_uid"`
	Health       string            `json:"health"`
	LastError    string            `json:"last_error"`
	LastPolledAt *time.Time        `json:"last_polled_at"`
	NextPollAt   time.Time         `json:"next_poll_at"`
	Failures     []*MailboxFailure `json:"failures,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
}

// MailboxFailure is a message whose processing failed: left unmarked in
// the mailbox, retried with backoff until it succeeds.
type MailboxFailure struct {
	UID         uint32    `json:"uid"`
	UIDValidity uint32    `json:"uid_validity"`
	Error       string    `json:"error"`
	Attempts    int       `json:"attempts"`
	FirstAt     time.Time `json:"first_at"`
	NextAt      time.Time `json:"next_at"`
}

// The mailbox security modes and processed actions.
var (
	MailboxSecurities = []string{"tls", "starttls", "none"}
	MailboxProcessed  = []string{"move", "flag"}
)

// DefaultMailboxInterval is how often a mailbox is polled unless set.
const DefaultMailboxInterval = time.Minute

// Normalize fills defaults.
func (m *Mailbox) Normalize() {
	m.Name, m.Host, m.Username, m.Folder = strings.TrimSpace(m.Name), strings.TrimSpace(m.Host), strings.TrimSpace(m.Username), strings.TrimSpace(m.Folder)
	m.Security = strings.ToLower(strings.TrimSpace(m.Security))
	if m.Security == "" {
		m.Security = "tls"
	}
	if m.Port == 0 {
		m.Port = 993
		if m.Security != "tls" {
			m.Port = 143
		}
	}
	if m.Folder == "" {
		m.Folder = "INBOX"
	}
	if m.Processed == "" {
		m.Processed = "move"
	}
	if m.Processed == "move" && strings.TrimSpace(m.ProcessedFolder) == "" {
		m.ProcessedFolder = "Processed"
	}
	if m.Interval == 0 {
		m.Interval = Duration(DefaultMailboxInterval)
	}
}

// Validate checks the mailbox, with field-level problems.
func (m *Mailbox) Validate() error {
	var p Problems
	text := func(field, v string, required bool, n int) {
		switch {
		case v == "" && required:
			p.Add(field, "Required.")
		case utf8.RuneCountInString(v) > n || hasControlChar(v) || !utf8.ValidString(v):
			p.Add(field, "At most %d characters of plain text.", n)
		}
	}
	text("name", m.Name, true, MaxIntegrationName)
	text("host", m.Host, true, 255)
	text("username", m.Username, true, 255)
	text("folder", m.Folder, true, 255)
	text("processed_folder", m.ProcessedFolder, m.Processed == "move", 255)
	if len(m.Password) > 1000 {
		p.Add("password", "At most 1000 bytes.")
	}
	if m.IntegrationID == 0 {
		p.Add("integration_id", "Choose the email integration whose alerts the messages become.")
	}
	if m.Port < 1 || m.Port > 65535 {
		p.Add("port", "A port is 1 to 65535.")
	}
	if !inEnum(m.Security, MailboxSecurities) {
		p.Add("security", "Security is tls, starttls or none.")
	} else if m.Security == "none" && !loopbackHost(m.Host) {
		p.Add("security", "Without TLS the password would cross the network in the clear: none is for a server on this machine (127.0.0.1, ::1, localhost) only.")
	}
	if !inEnum(m.Processed, MailboxProcessed) {
		p.Add("processed", "Processed is move (to processed_folder) or flag.")
	}
	if d := time.Duration(m.Interval); d < time.Second || d > 24*time.Hour {
		p.Add("interval", "The interval must be between 1s and 24h.")
	}
	return p.Err()
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// MailboxPoll is what one poll of a mailbox found, to record.
type MailboxPoll struct {
	UIDValidity uint32
	LastUID     uint32
	// Err is why the poll failed as a whole (connection, login, folder);
	// nil for a poll that ran.
	Err error
	// Failed are the messages whose processing failed in this poll;
	// Done those that succeeded (their earlier failures are cleared).
	Failed []MailboxFailure
	Done   []uint32
}

// MailboxBackoff is the wait before a failed message is tried again:
// a minute, doubling per attempt, at most an hour.
func MailboxBackoff(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// MailboxService keeps the polled mailboxes (administrators) and their
// poll state (the poller, as the system).
type MailboxService interface {
	CreateMailbox(ctx context.Context, m *Mailbox) error
	FindMailboxes(ctx context.Context) ([]*Mailbox, error)
	// FindMailboxByID returns a mailbox with its failures, without password.
	FindMailboxByID(ctx context.Context, id int64) (*Mailbox, error)
	DeleteMailbox(ctx context.Context, id int64) error
	// MailboxForPoll returns a mailbox with its password and failures, and
	// its integration, for the poller; it puts the next poll an interval
	// away.
	MailboxForPoll(ctx context.Context, id int64) (*Mailbox, *Integration, error)
	// RecordMailboxPoll records a poll's outcome.
	RecordMailboxPoll(ctx context.Context, id int64, p MailboxPoll) error
}

// JobMailboxPoll polls a mailbox.
const JobMailboxPoll = "mailbox_poll"
