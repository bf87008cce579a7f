package worker_test

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/notify"
	"github.com/vigil-ir/vigil/sqlite"
	"github.com/vigil-ir/vigil/worker"
)

// loopback admits the test servers, which listen on 127.0.0.1: without
// it the store refuses channels there and the sender refuses to send, as
// TestDeliveryLog shows.
var loopback = vigil.OutboundAllow{Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// inbox is a real SMTP server (emersion/go-smtp) that keeps what it gets.
type inbox struct {
	mu   sync.Mutex
	msgs []string // recipients and subject, one line per message
}

func (in *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{in: in}, nil }

type session struct {
	in *inbox
	to []string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	subject := ""
	for _, line := range strings.Split(string(b), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			subject, _ = new(mime.WordDecoder).DecodeHeader(v)
		}
	}
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, strings.Join(s.to, ",")+" "+subject)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }

func (in *inbox) list() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.msgs...)
}

// TestDutyRemindersEndToEnd is issue 5's "done when", through the real
// worker: an incident with personal data has the ICO duty; at 12 h and at
// 1 h before it is due the lead and the DPO get one e-mail each and the
// SOC's webhook one request each; overdue, the managers are told too; and
// nothing is sent twice however often the scheduler runs.
func TestDutyRemindersEndToEnd(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var now atomic.Pointer[time.Time]
	setNow := func(t time.Time) { now.Store(&t) }
	clock := func() time.Time { return *now.Load() }
	setNow(time.Date(2026, 10, 23, 12, 0, 0, 0, time.UTC)) // the clocks go back in London on the 25th
	db.Now = clock
	db.OutboundAllow = loopback
	svc := db.Services()
	sys := vigil.NewContextWithActor(ctx, vigil.SystemActor("test"))
	mk := func(name string, role vigil.Role, email string) (context.Context, int64) {
		u := &vigil.User{Username: name, Name: strings.ToUpper(name[:1]) + name[1:], Role: role, Email: email}
		if err := svc.Users.CreateUser(sys, u, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		return vigil.NewContextWithActor(ctx, &vigil.Actor{UserID: u.ID, Username: name, Role: role}), u.ID
	}
	admin, _ := mk("ada", vigil.RoleAdmin, "ada@example.org")
	_, leadID := mk("lee", vigil.RoleResponder, "lee@example.org")
	mgr, _ := mk("mo", vigil.RoleManager, "mo@example.org")

	// A real SMTP server and a webhook receiver.
	in := &inbox{}
	srv := smtp.NewServer(in)
	srv.Domain, srv.AllowInsecureAuth = "mail.test", true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	var hooks atomic.Int32
	var hookSubjects sync.Map
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks.Add(1)
		hookSubjects.Store(r.Header.Get("webhook-id"), string(b))
	}))
	defer hook.Close()
	port, _ := strconv.Atoi(strings.Split(l.Addr().String(), ":")[1])
	mail := &vigil.Channel{Name: "Mail", Kind: vigil.ChannelEmail, Enabled: true, Escalation: true,
		SMTP: &vigil.SMTPConfig{Host: "127.0.0.1", Port: port, Security: "none", From: "vigil@example.org"}}
	web := &vigil.Channel{Name: "SOC", Kind: vigil.ChannelWebhook, URL: hook.URL, Enabled: true}
	for _, c := range []*vigil.Channel{mail, web} {
		if err := svc.Notify.CreateChannel(admin, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Notify.CreateSubscription(admin, &vigil.Subscription{ChannelID: web.ID,
		Events: []vigil.EventKind{vigil.EventDutyDueSoon, vigil.EventDutyOverdue}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Contacts.CreateContact(mgr, &vigil.Contact{Name: "Dana", Roles: []vigil.ContactRole{vigil.ContactDPO}, Email: "dpo@example.org"}); err != nil {
		t.Fatal(err)
	}
	inc := &vigil.Incident{Title: "Payroll file e-mailed to the wrong firm", Status: vigil.StatusConfirmed, PersonalData: true, LeadID: &leadID}
	if err := svc.Incidents.CreateIncident(mgr, inc); err != nil {
		t.Fatal(err)
	}
	obs, _ := svc.Duties.FindObligations(mgr, inc.ID)
	var due time.Time
	for _, o := range obs {
		if o.Duty == "ico-notification" {
			due = *o.DueAt
		}
	}
	if !due.Equal(clock().Add(72 * time.Hour)) {
		t.Fatalf("ICO due %v", due)
	}

	w := &worker.Worker{Store: svc.Worker, Sender: &notify.Sender{BaseURL: "https://vigil.example.org", Timeout: 5 * time.Second, Allow: loopback},
		Logger: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond, ScheduleEvery: 10 * time.Millisecond, Now: clock}
	wctx, stop := context.WithCancel(vigil.NewContextWithActor(ctx, vigil.SystemActor("worker")))
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	defer func() { stop(); <-done }()

	waitFor := func(what string, mails, requests int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for len(in.list()) < mails || int(hooks.Load()) < requests {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d e-mails %q and %d webhook requests, want %d and %d", what, len(in.list()), in.list(), hooks.Load(), mails, requests)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // many scheduler runs: nothing more may come
		if got := in.list(); len(got) != mails || int(hooks.Load()) != requests {
			t.Fatalf("%s: %d e-mails %q and %d webhook requests, want exactly %d and %d", what, len(got), got, hooks.Load(), mails, requests)
		}
	}
	time.Sleep(200 * time.Millisecond) // 60 h before: nothing due yet
	if len(in.list()) != 0 || hooks.Load() != 0 {
		t.Fatalf("reminders 60 h early: %q, %d", in.list(), hooks.Load())
	}
	setNow(due.Add(-12*time.Hour + time.Minute))
	waitFor("12 h before", 1, 1)
	if got := in.list()[0]; !strings.HasPrefix(got, "lee@example.org,dpo@example.org ") || !strings.Contains(got, "Due within 12 hours") {
		t.Errorf("12 h escalation: %q", got)
	}
	setNow(due.Add(-59 * time.Minute))
	waitFor("1 h before", 2, 2)
	if got := in.list()[1]; !strings.Contains(got, "Due within 1 hour") {
		t.Errorf("1 h escalation: %q", got)
	}
	setNow(due.Add(time.Minute))
	waitFor("overdue", 3, 3)
	if got := in.list()[2]; !strings.Contains(got, "mo@example.org") || !strings.Contains(got, "OVERDUE") {
		t.Errorf("overdue escalation: %q", got)
	}
	// Each sent notification is on the incident's timeline.
	page, err := svc.Timeline.FindTimeline(mgr, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindNotification}})
	if err != nil || len(page.Items) != 6 {
		t.Errorf("timeline: %v, %d notification entries, want 6", err, len(page.Items))
	}
	// Submitted, the duty stops reminding; nothing more is sent.
	o, _ := svc.Duties.FindObligations(mgr, inc.ID)
	for _, x := range o {
		if x.Duty == "ico-notification" {
			if _, err := svc.Duties.SubmitObligation(mgr, x.ID, vigil.Submission{Reference: "ICO-123", Text: "Reported.", LateReason: "Waited for the supplier's report.", Version: x.Version}); err != nil {
				t.Fatal(err)
			}
		}
	}
	setNow(due.Add(48 * time.Hour))
	waitFor("after submission", 3, 3)
}

// TestDeliveryLog: what the delivery log keeps of a failed attempt. A
// receiver's refusal is its status alone, never its body; a channel on an
// internal address (saved while the allow-list named it, sent without)
// fails at once and the service there hears nothing.
func TestDeliveryLog(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.OutboundAllow = loopback
	svc := db.Services()
	admin := vigil.NewContextWithActor(ctx, vigil.SystemActor("test"))
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, `{"error":"internal-secret","dsn":"postgres://app:hunter2@db/app"}`, http.StatusBadRequest)
	}))
	defer hook.Close()
	run := func(t *testing.T, sender *notify.Sender, ch *vigil.Channel) *vigil.Delivery {
		t.Helper()
		if err := svc.Notify.CreateChannel(admin, ch); err != nil {
			t.Fatal(err)
		}
		d, err := svc.Notify.TestChannel(admin, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		w := &worker.Worker{Store: svc.Worker, Sender: sender, Logger: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond}
		wctx, stop := context.WithCancel(vigil.NewContextWithActor(ctx, vigil.SystemActor("worker")))
		done := make(chan struct{})
		go func() { w.Run(wctx); close(done) }()
		defer func() { stop(); <-done }()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			list, err := svc.Notify.FindDeliveries(admin, vigil.DeliveryFilter{ChannelID: ch.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range list {
				if got.ID == d.ID && got.Status == vigil.DeliveryFailed {
					return got
				}
			}
		}
		t.Fatal("the delivery did not fail within 10 s")
		return nil
	}
	t.Run("StatusOnly", func(t *testing.T) {
		d := run(t, &notify.Sender{Timeout: 5 * time.Second, Allow: loopback},
			&vigil.Channel{Name: "SIEM", Kind: vigil.ChannelWebhook, URL: hook.URL, Enabled: true})
		if want := "the receiver answered HTTP 400 Bad Request"; d.LastError != want {
			t.Errorf("LastError = %q, want %q", d.LastError, want)
		}
	})
	before := hits.Load()
	t.Run("Internal", func(t *testing.T) {
		d := run(t, &notify.Sender{Timeout: 5 * time.Second},
			&vigil.Channel{Name: "Internal", Kind: vigil.ChannelWebhook, URL: hook.URL, Enabled: true})
		if d.Attempts != 1 || !strings.Contains(d.LastError, "loopback") || strings.Contains(d.LastError, "secret") {
			t.Errorf("delivery: %d attempts, LastError %q; want 1 and a refusal naming loopback", d.Attempts, d.LastError)
		}
		if n := hits.Load() - before; n != 0 {
			t.Errorf("the internal receiver got %d requests", n)
		}
	})
}
