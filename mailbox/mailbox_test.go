package mailbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/internal/sqlitetest"
	"github.com/vigil-ir/vigil/internal/sqlstore"
	"github.com/vigil-ir/vigil/mailbox"
	"github.com/vigil-ir/vigil/sqlite"
)

// dovecot is a throw-away Dovecot IMAP server on loopback: its own
// configuration, password file, mail and runtime folders in a temporary
// folder, a free port; nothing of the machine's own mail service is used.
type dovecot struct {
	port     int
	dir      string
	user     string
	password string
}

func startDovecot(t *testing.T) *dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("VIGIL_CI") != "" {
			t.Fatal("dovecot is not installed (apt-get install dovecot-imapd); .ci/run installs it")
		}
		t.Skip("dovecot is not installed (apt-get install dovecot-imapd)")
	}
	dir, err := os.MkdirTemp("", "vigil-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Dovecot runs its login and mail processes as unprivileged users:
	// the current user, or nobody when the tests run as root.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	mailUser, mailGroup := me.Username, ""
	if g, err := user.LookupGroupId(me.Gid); err == nil {
		mailGroup = g.Name
	}
	if me.Uid == "0" {
		mailUser, mailGroup = "nobody", "nogroup"
		if _, err := user.LookupGroup(mailGroup); err != nil {
			mailGroup = "nobody"
		}
	}
	for _, d := range []string{"run", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if me.Uid == "0" {
		if out, err := exec.Command("chown", mailUser+":"+mailGroup, filepath.Join(dir, "mail")).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	// A free port: listen, note it, close, and give it to Dovecot.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d := &dovecot{port: port, dir: dir, user: "phishing", password: "correct horse battery"}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/run
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = %[2]s
default_internal_user = %[2]s
default_internal_group = %[3]s
mail_location = maildir:%[1]s/mail/%%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]s gid=%[3]s home=%[1]s/mail/%%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]d
  }
}
service anvil {
  chroot =
}
`, dir, mailUser, mailGroup, port)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(d.user+":{PLAIN}"+d.password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Dovecot forks into the background: no pipes for its output (the
	// daemon would hold them open), its log is dovecot.log.
	if err := exec.Command(bin, "-c", filepath.Join(dir, "dovecot.conf")).Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		t.Fatalf("start dovecot: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		if pid, err := os.ReadFile(filepath.Join(dir, "run", "master.pid")); err == nil {
			exec.Command("kill", strings.TrimSpace(string(pid))).Run()
			for range 50 {
				if _, err := os.Stat(filepath.Join(dir, "run", "master.pid")); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
	// Wait for it to listen.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot does not listen: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

// client logs in as the mailbox's user, to deliver and inspect.
func (d *dovecot) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.Dial(fmt.Sprintf("127.0.0.1:%d", d.port))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(d.user, d.password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Logout() })
	return c
}

// deliver appends raw to folder (IMAP APPEND, as a mail server's delivery
// leaves it).
func (d *dovecot) deliver(t *testing.T, folder string, raw []byte) {
	t.Helper()
	c := d.client(t)
	if err := c.Append(folder, nil, time.Now(), bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
}

// count returns how many messages folder holds, and how many of them carry flag.
func (d *dovecot) count(t *testing.T, folder, flag string) (n, flagged int) {
	t.Helper()
	c := d.client(t)
	st, err := c.Select(folder, true)
	if err != nil {
		return 0, 0
	}
	if st.Messages == 0 {
		return 0, 0
	}
	set := new(imap.SeqSet)
	set.AddRange(1, st.Messages)
	ch := make(chan *imap.Message, st.Messages)
	if err := c.Fetch(set, []imap.FetchItem{imap.FetchFlags}, ch); err != nil {
		t.Fatal(err)
	}
	for m := range ch {
		n++
		for _, f := range m.Flags {
			if strings.EqualFold(f, flag) { // keywords are case-insensitive (go-imap lower-cases them)
				flagged++
			}
		}
	}
	return n, flagged
}

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "intake", "email", "testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fixture struct {
	db  *sqlite.DB
	ctx context.Context // the worker's: the system
	in  *vigil.Integration
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlitetest.FreshFile(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if db.Blobs, err = blob.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if db.Secrets, err = sqlstore.NewSecretBox([]byte("0123456789abcdef0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	ctx := vigil.NewContextWithActor(t.Context(), vigil.SystemActor("worker"))
	in := &vigil.Integration{Name: "phishing", Kind: vigil.IntegrationEmail}
	if _, err := db.Services().Integrations.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, ctx: ctx, in: in}
}

func (f *fixture) mailbox(t *testing.T, d *dovecot, password, processed string) *vigil.Mailbox {
	t.Helper()
	m := &vigil.Mailbox{Name: "report-" + processed + password[:3], IntegrationID: f.in.ID, Host: "127.0.0.1", Port: d.port, Security: "none",
		Username: d.user, Password: password, Processed: processed}
	if err := f.db.Services().Mailboxes.CreateMailbox(f.ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) alerts(t *testing.T) []*vigil.Alert {
	t.Helper()
	list, err := f.db.Services().Alerts.FindAlerts(f.ctx, vigil.AlertFilter{IntegrationID: f.in.ID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func loopback() vigil.OutboundAllow {
	a, _ := vigil.ParseOutboundAllow("127.0.0.1")
	return a
}

// TestPollDovecot: messages delivered into a real IMAP server become
// alerts once each — across polls and a new poller (a restart) — and are
// moved to the processed folder; the mailbox records UIDVALIDITY, the last
// UID and its health, and its password is sealed in the database.
func TestPollDovecot(t *testing.T) {
	d := startDovecot(t)
	f := newFixture(t)
	m := f.mailbox(t, d, d.password, "move")
	for _, name := range []string{"outlook-attached.eml", "gmail-inline.eml", "koi8r-encoded-words.eml"} {
		d.deliver(t, "INBOX", corpus(t, name))
	}
	p := &mailbox.Poller{Store: f.db.Services().Mailboxes, Alerts: f.db.Services().Alerts, Allow: loopback()}
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	alerts := f.alerts(t)
	if len(alerts) != 3 {
		t.Fatalf("%d alerts after the first poll", len(alerts))
	}
	if n, _ := d.count(t, "INBOX", ""); n != 0 {
		t.Errorf("%d messages left in INBOX", n)
	}
	if n, _ := d.count(t, "Processed", ""); n != 3 {
		t.Errorf("%d messages in Processed", n)
	}
	got, err := f.db.Services().Mailboxes.FindMailboxByID(f.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Health != "ok" || got.LastUID != 3 || got.UIDValidity == 0 || got.LastPolledAt == nil || got.Password != "" {
		t.Errorf("mailbox after a poll: %+v", got)
	}
	var stored string
	if err := f.db.QueryRow(f.ctx, `SELECT password FROM mailboxes WHERE id = ?`, m.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, d.password) || !strings.HasPrefix(stored, "vgs1") {
		t.Errorf("the password is stored as %q, not sealed", stored)
	}
	// The evidence says where it came from.
	a, err := f.db.Services().Alerts.FindAlertByID(f.ctx, alerts[len(alerts)-1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Evidence) == 0 || !strings.HasPrefix(a.Evidence[0].CollectedFrom, fmt.Sprintf("imap://127.0.0.1:%d/INBOX", d.port)) ||
		!strings.Contains(a.Evidence[0].Method, "UID FETCH") {
		t.Errorf("evidence %+v", a.Evidence)
	}

	// Polled again, by a new poller (a restart): nothing new.
	p = &mailbox.Poller{Store: f.db.Services().Mailboxes, Alerts: f.db.Services().Alerts, Allow: loopback()}
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(f.alerts(t)); n != 3 {
		t.Errorf("%d alerts after polling again", n)
	}
	// A new message: one more.
	d.deliver(t, "INBOX", corpus(t, "alternative.eml"))
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(f.alerts(t)); n != 4 {
		t.Errorf("%d alerts after a fourth message", n)
	}
}

// TestPollFlag: a mailbox that flags leaves the messages where they are,
// flagged, and does not take them again.
func TestPollFlag(t *testing.T) {
	d := startDovecot(t)
	f := newFixture(t)
	m := f.mailbox(t, d, d.password, "flag")
	d.deliver(t, "INBOX", corpus(t, "outlook-attached.eml"))
	d.deliver(t, "INBOX", corpus(t, "500-urls.eml"))
	p := &mailbox.Poller{Store: f.db.Services().Mailboxes, Alerts: f.db.Services().Alerts, Allow: loopback()}
	for range 2 {
		if err := p.Poll(f.ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.alerts(t)); n != 2 {
		t.Errorf("%d alerts", n)
	}
	if n, flagged := d.count(t, "INBOX", mailbox.ProcessedFlag); n != 2 || flagged != 2 {
		t.Errorf("INBOX holds %d messages, %d flagged", n, flagged)
	}
}

// TestPollWrongPassword: the mailbox shows the error and a failing
// health; nothing is taken, nothing lost.
func TestPollWrongPassword(t *testing.T) {
	d := startDovecot(t)
	f := newFixture(t)
	m := f.mailbox(t, d, "not the password", "move")
	d.deliver(t, "INBOX", corpus(t, "outlook-attached.eml"))
	p := &mailbox.Poller{Store: f.db.Services().Mailboxes, Alerts: f.db.Services().Alerts, Allow: loopback()}
	if err := p.Poll(f.ctx, m.ID); err == nil {
		t.Fatal("a poll with the wrong password succeeded")
	}
	got, err := f.db.Services().Mailboxes.FindMailboxByID(f.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Health != "failing" || !strings.Contains(got.LastError, "log in") || got.LastUID != 0 {
		t.Errorf("mailbox %+v", got)
	}
	if n, _ := d.count(t, "INBOX", ""); n != 1 || len(f.alerts(t)) != 0 {
		t.Errorf("INBOX %d, alerts %d", n, len(f.alerts(t)))
	}
	// Without the operator's allow-list, loopback is refused.
	p.Allow = vigil.OutboundAllow{}
	if err := p.Poll(f.ctx, m.ID); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Errorf("loopback without an allow-list: %v", err)
	}
}

// failing makes the store refuse the alerts of one subject, as a store
// fault would.
type failing struct {
	vigil.AlertService
	subject string
	on      bool
}

func (s *failing) IngestAlerts(ctx context.Context, in *vigil.Integration, alerts []*vigil.AlertInput) (*vigil.IngestResult, error) {
	for _, a := range alerts {
		if s.on && strings.Contains(a.Title, s.subject) {
			return nil, errors.New("the store refused it")
		}
	}
	return s.AlertService.IngestAlerts(ctx, in, alerts)
}

// TestPollFailedMessage: a message whose processing fails is left in the
// mailbox unmarked, listed in the mailbox's failures, and taken again
// once its backoff has passed; the others go through.
func TestPollFailedMessage(t *testing.T) {
	d := startDovecot(t)
	f := newFixture(t)
	m := f.mailbox(t, d, d.password, "move")
	d.deliver(t, "INBOX", corpus(t, "outlook-attached.eml"))
	d.deliver(t, "INBOX", corpus(t, "gmail-inline.eml"))
	now := time.Now()
	store := &failing{AlertService: f.db.Services().Alerts, subject: "Your invoice is ready", on: true}
	p := &mailbox.Poller{Store: f.db.Services().Mailboxes, Alerts: store, Allow: loopback(), Now: func() time.Time { return now }}
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.db.Services().Mailboxes.FindMailboxByID(f.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Failures) != 1 || got.Failures[0].UID != 2 || got.Failures[0].Attempts != 1 || !strings.Contains(got.Failures[0].Error, "refused") ||
		got.Health != "failing" {
		t.Fatalf("mailbox %+v, failures %+v", got, got.Failures)
	}
	if n, _ := d.count(t, "INBOX", ""); n != 1 {
		t.Errorf("INBOX holds %d, want the failed message only", n)
	}
	// Before its backoff: not tried again (the failure stays at 1 attempt).
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.db.Services().Mailboxes.FindMailboxByID(f.ctx, m.ID); len(got.Failures) != 1 || got.Failures[0].Attempts != 1 {
		t.Errorf("retried before its backoff: %+v", got.Failures)
	}
	// Still failing after the backoff: a second attempt, a longer wait.
	now = now.Add(vigil.MailboxBackoff(1) + time.Second)
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.db.Services().Mailboxes.FindMailboxByID(f.ctx, m.ID); len(got.Failures) != 1 || got.Failures[0].Attempts != 2 {
		t.Errorf("after a second failure: %+v", got.Failures)
	}
	// The store is well again: the message goes through and is moved.
	store.on = false
	now = now.Add(vigil.MailboxBackoff(2) + time.Second)
	if err := p.Poll(f.ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.db.Services().Mailboxes.FindMailboxByID(f.ctx, m.ID); len(got.Failures) != 0 || got.Health != "ok" {
		t.Errorf("after the retry: %+v %+v", got, got.Failures)
	}
	if n := len(f.alerts(t)); n != 2 {
		t.Errorf("%d alerts", n)
	}
	if n, _ := d.count(t, "INBOX", ""); n != 0 {
		t.Errorf("INBOX holds %d", n)
	}
}
