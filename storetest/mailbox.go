package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// testMailboxes: a polled mailbox is kept with its password sealed, shown
// without it, given to the poller with it; a poll's state (UIDVALIDITY,
// last UID, health) and its failed messages are recorded, failures
// counted and backed off, cleared when the message goes through and
// dropped with a new UIDVALIDITY; only integration admins reach them.
func testMailboxes(t *testing.T, open Opener) {
	s := open(t)
	ctx := SystemContext(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	manager, _ := MustCreateUser(t, s, vigil.RoleManager)
	in := &vigil.Integration{Name: "phishing", Kind: vigil.IntegrationEmail}
	if _, err := s.Integrations.CreateIntegration(admin, in); err != nil {
		t.Fatal(err)
	}
	m := &vigil.Mailbox{Name: "reports", IntegrationID: in.ID, Host: "imap.example.org", Username: "reports@example.org", Password: "app-password-789"}
	if err := s.Mailboxes.CreateMailbox(admin, m); err != nil {
		t.Fatal(err)
	}
	if m.Password != "" || m.Port != 993 || m.Security != "tls" || m.Processed != "move" || m.ProcessedFolder != "Processed" {
		t.Errorf("created %+v", m)
	}
	if err := s.Mailboxes.CreateMailbox(manager, &vigil.Mailbox{Name: "x", IntegrationID: in.ID, Host: "h", Username: "u"}); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("a manager creates a mailbox: %v", err)
	}
	if _, err := s.Mailboxes.FindMailboxes(manager); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("a manager lists mailboxes: %v", err)
	}
	var stored string
	if err := s.QueryRow(ctx, `SELECT password FROM mailboxes WHERE id = ?`, m.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if s.SealSecrets != nil && strings.Contains(stored, "app-password-789") {
		t.Errorf("the password is stored as given")
	}
	// Due at once: one poll job, whichever instance schedules it, leased
	// to one worker.
	now := time.Now()
	for i, want := range []int{1, 0} {
		if n, err := s.Worker.Schedule(workerCtx(), now, 0); err != nil || n != want {
			t.Errorf("schedule run %d: %d queued (%v), want %d", i, n, err, want)
		}
	}
	jobs, err := s.Worker.ClaimJobs(workerCtx(), "w1", []string{vigil.JobMailboxPoll}, 10, time.Minute)
	if err != nil || len(jobs) != 1 || !strings.Contains(string(jobs[0].Payload), fmt.Sprintf(`"mailbox_id":%d`, m.ID)) {
		t.Errorf("mailbox poll jobs: %v %d", err, len(jobs))
	}
	if again, err := s.Worker.ClaimJobs(workerCtx(), "w2", []string{vigil.JobMailboxPoll}, 10, time.Minute); err != nil || len(again) != 0 {
		t.Errorf("a second worker claims %d mailbox jobs (%v)", len(again), err)
	}
	got, gotIn, err := s.Mailboxes.MailboxForPoll(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Password != "app-password-789" || gotIn.ID != in.ID {
		t.Errorf("for the poller: %+v, %+v", got, gotIn)
	}
	// The next poll is an interval away: nothing to schedule now.
	if n, err := s.Worker.Schedule(workerCtx(), now.Add(time.Second), 0); err != nil || n != 0 {
		t.Errorf("scheduled %d after the poll began (%v)", n, err)
	}

	// A poll: two messages, one failed.
	if err := s.Mailboxes.RecordMailboxPoll(ctx, m.ID, vigil.MailboxPoll{UIDValidity: 7, LastUID: 2, Done: []uint32{1},
		Failed: []vigil.MailboxFailure{{UID: 2, Error: "store refused"}}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Mailboxes.FindMailboxByID(admin, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UIDValidity != 7 || got.LastUID != 2 || got.Health != "failing" || got.Password != "" || len(got.Failures) != 1 ||
		got.Failures[0].UID != 2 || got.Failures[0].Attempts != 1 || got.LastPolledAt == nil {
		t.Fatalf("after a poll: %+v %+v", got, got.Failures)
	}
	first := got.Failures[0].NextAt
	// Failing again: counted, backed off further.
	if err := s.Mailboxes.RecordMailboxPoll(ctx, m.ID, vigil.MailboxPoll{UIDValidity: 7, LastUID: 2,
		Failed: []vigil.MailboxFailure{{UID: 2, Error: "store refused again"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Mailboxes.FindMailboxByID(admin, m.ID)
	if len(got.Failures) != 1 || got.Failures[0].Attempts != 2 || !got.Failures[0].NextAt.After(first.Add(-time.Second)) {
		t.Errorf("after a second failure: %+v", got.Failures)
	}
	// Through: cleared, healthy.
	if err := s.Mailboxes.RecordMailboxPoll(ctx, m.ID, vigil.MailboxPoll{UIDValidity: 7, LastUID: 2, Done: []uint32{2}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Mailboxes.FindMailboxByID(admin, m.ID)
	if len(got.Failures) != 0 || got.Health != "ok" {
		t.Errorf("after success: %+v %+v", got, got.Failures)
	}
	// A poll that failed as a whole: its error shown, state kept.
	if err := s.Mailboxes.RecordMailboxPoll(ctx, m.ID, vigil.MailboxPoll{UIDValidity: 7, LastUID: 2, Err: errors.New("log in: authentication failed")}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Mailboxes.FindMailboxByID(admin, m.ID)
	if got.Health != "failing" || got.LastError != "log in: authentication failed" || got.LastUID != 2 {
		t.Errorf("after a failed poll: %+v", got)
	}
	// A new UIDVALIDITY drops the old failures.
	s.Mailboxes.RecordMailboxPoll(ctx, m.ID, vigil.MailboxPoll{UIDValidity: 7, LastUID: 3, Failed: []vigil.MailboxFailure{{UID: 3, Error: "x"}}})
	if err := s.Mailboxes.RecordMailboxPoll(ctx, m.ID, vigil.MailboxPoll{UIDValidity: 8, LastUID: 0}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Mailboxes.FindMailboxByID(admin, m.ID)
	if len(got.Failures) != 0 || got.UIDValidity != 8 {
		t.Errorf("after a new UIDVALIDITY: %+v %+v", got, got.Failures)
	}
	if err := s.Mailboxes.DeleteMailbox(admin, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mailboxes.FindMailboxByID(admin, m.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("after delete: %v", err)
	}
}
