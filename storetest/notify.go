package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func mustUserWithEmail(t *testing.T, s *Store, role vigil.Role, email string) (context.Context, *vigil.User) {
	t.Helper()
	n := userSeq.Add(1)
	u := &vigil.User{Username: fmt.Sprintf("%s%d", role, n), Name: fmt.Sprintf("%s %d", strings.ToUpper(string(role[:1]))+string(role[1:]), n),
		Role: role, Email: email}
	if err := s.Users.CreateUser(SystemContext(t), u, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	return ActorContext(u), u
}

// workerCtx acts as the background worker.
func workerCtx() context.Context {
	return vigil.NewContextWithActor(context.Background(), vigil.SystemActor("worker"))
}

// expandAll claims and expands every due event job as worker w, and
// returns the deliveries queued since before (oldest first).
func expandAll(t *testing.T, s *Store, w string) {
	t.Helper()
	ctx := workerCtx()
	for range 20 {
		jobs, err := s.Worker.ClaimJobs(ctx, w, []string{vigil.JobEvent}, 50, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			return
		}
		for _, j := range jobs {
			if err := s.Worker.ExpandEvent(ctx, w, j); err != nil {
				t.Fatalf("expand %s: %v", j.Payload, err)
			}
		}
	}
	t.Fatal("events keep coming")
}

// deliveriesSince lists deliveries with IDs above after, oldest first.
func deliveriesSince(t *testing.T, s *Store, after int64) []*vigil.Delivery {
	t.Helper()
	list, err := s.Notify.FindDeliveries(SystemContext(t), vigil.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []*vigil.Delivery
	for _, d := range list {
		if d.ID > after {
			out = append(out, d)
		}
	}
	slices.Reverse(out)
	return out
}

func lastDeliveryID(t *testing.T, s *Store) int64 {
	list, err := s.Notify.FindDeliveries(SystemContext(t), vigil.DeliveryFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		return 0
	}
	return list[0].ID
}

func testNotify(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC))
	admin, _ := mustUserWithEmail(t, s, vigil.RoleAdmin, "admin@example.org")
	mgr, mgrUser := mustUserWithEmail(t, s, vigil.RoleManager, "manager@example.org")
	resp, respUser := mustUserWithEmail(t, s, vigil.RoleResponder, "responder@example.org")
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)

	// Channels: admins only; secrets shown once.
	hook := &vigil.Channel{Name: "SOC receiver", Kind: vigil.ChannelWebhook, URL: "https://soc.example.org/hooks/vigil", Enabled: true}
	if err := s.Notify.CreateChannel(mgr, hook); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
		t.Errorf("manager creates a channel: %v", err)
	}
	if err := s.Notify.CreateChannel(admin, hook); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hook.Secret, "whsec_") || hook.TLP != vigil.TLPGreen {
		t.Errorf("webhook channel: secret %q, TLP %s", hook.Secret, hook.TLP)
	}
	mail := &vigil.Channel{Name: "Mail", Kind: vigil.ChannelEmail, Enabled: true, Escalation: true,
		SMTP: &vigil.SMTPConfig{Host: "smtp.example.org", Username: "vigil", Password: "s3cret-pass", From: "vigil@example.org", To: []string{"soc@example.org"}}}
	if err := s.Notify.CreateChannel(admin, mail); err != nil {
		t.Fatal(err)
	}
	if mail.SMTP.Password != "" || mail.SMTP.Port != 587 || mail.SMTP.Security != "starttls" || mail.TLP != vigil.TLPAmber {
		t.Errorf("mail channel: %+v %+v", mail, mail.SMTP)
	}
	bad := &vigil.Channel{Name: "", Kind: vigil.ChannelSlack, URL: "ftp://user:pw@x", Escalation: true}
	err := s.Notify.CreateChannel(admin, bad)
	for _, f := range []string{"name", "url", "escalation"} {
		if !hasField(err, f) {
			t.Errorf("bad channel: no problem at %s (%v)", f, vigil.ErrorFields(err))
		}
	}
	if err := s.Notify.CreateChannel(admin, &vigil.Channel{Name: "SOC receiver", Kind: vigil.ChannelSlack, URL: "https://hooks.slack.com/x"}); !hasField(err, "name") {
		t.Errorf("duplicate name: %v", err)
	}
	list, err := s.Notify.FindChannels(admin)
	if err != nil || len(list) != 2 {
		t.Fatalf("channels: %v %d", err, len(list))
	}
	for _, c := range list {
		if c.Secret != "" || (c.SMTP != nil && c.SMTP.Password != "") {
			t.Errorf("FindChannels shows a secret: %+v", c)
		}
	}
	if list, _ := s.Notify.FindChannels(viewer); len(list) != 2 || list[0].URL != "" || list[1].SMTP != nil {
		t.Errorf("a viewer sees where channels lead: %+v", list)
	}
	// An update without a password keeps the stored one (checked below,
	// through Outbound); rotating makes a new secret.
	cur, _ := s.Notify.FindChannelByID(admin, hook.ID)
	if err := s.Notify.UpdateChannel(admin, cur, true); err != nil {
		t.Fatal(err)
	}
	if cur.Secret == hook.Secret || !strings.HasPrefix(cur.Secret, "whsec_") {
		t.Errorf("rotated secret: %q", cur.Secret)
	}
	hook.Secret = cur.Secret
	mcur, _ := s.Notify.FindChannelByID(admin, mail.ID)
	mcur.SMTP.Password = ""
	if err := s.Notify.UpdateChannel(admin, mcur, false); err != nil {
		t.Fatal(err)
	}

	// Subscriptions.
	all := &vigil.Subscription{ChannelID: hook.ID, Events: []vigil.EventKind{vigil.EventIncidentCreated, vigil.EventSeverityRaised,
		vigil.EventDutyDueSoon, vigil.EventDutyOverdue, vigil.EventReportReceived}}
	if err := s.Notify.CreateSubscription(admin, all); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify.CreateSubscription(resp, &vigil.Subscription{ChannelID: hook.ID, Events: []vigil.EventKind{vigil.EventAssigned}}); !hasField(err, "channel_id") {
		t.Errorf("responder subscribes a webhook: %v", err)
	}
	mine := &vigil.Subscription{ChannelID: mail.ID, Events: []vigil.EventKind{vigil.EventAssigned}, Mine: true, To: []string{"someone@else.example"}}
	if err := s.Notify.CreateSubscription(resp, mine); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mine.To, []string{"responder@example.org"}) {
		t.Errorf("a responder's subscription goes to %v, want their own address", mine.To)
	}
	if err := s.Notify.CreateSubscription(resp, &vigil.Subscription{ChannelID: 999999, Events: []vigil.EventKind{"nonsense"}}); !hasField(err, "events") {
		t.Errorf("bad subscription: %v", err)
	}
	if subs, _ := s.Notify.FindSubscriptions(resp); len(subs) != 1 || subs[0].ChannelName != "Mail" {
		t.Errorf("responder's subscriptions: %+v", subs)
	}
	if subs, _ := s.Notify.FindSubscriptions(admin); len(subs) != 2 {
		t.Errorf("admin sees %d subscriptions", len(subs))
	}

	// A new incident is fanned out once to the matching subscription.
	inc := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Payroll <b>export</b> sent to the wrong firm", Status: vigil.StatusConfirmed,
		PersonalData: true, TLP: vigil.TLPGreen})
	expandAll(t, s, "w1")
	ds := deliveriesSince(t, s, 0)
	if len(ds) != 1 || ds[0].ChannelID != hook.ID || ds[0].Event != vigil.EventIncidentCreated || ds[0].Status != vigil.DeliveryPending ||
		ds[0].Message.Reference != inc.Reference || !strings.Contains(ds[0].Message.Subject, "Payroll <b>export</b>") || ds[0].Message.Redacted {
		t.Fatalf("deliveries after create: %+v", ds)
	}
	if !strings.HasPrefix(ds[0].Key, "vgd_") || len(ds[0].Key) != 36 {
		t.Errorf("delivery key %q", ds[0].Key)
	}

	t.Run("TLP", func(t *testing.T) {
		last := lastDeliveryID(t, s)
		red := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Board member's account taken over", Summary: "secret details",
			Status: vigil.StatusConfirmed, TLP: vigil.TLPRed})
		expandAll(t, s, "w1")
		ds := deliveriesSince(t, s, last)
		if len(ds) != 1 {
			t.Fatalf("%d deliveries for a RED incident", len(ds))
		}
		m := ds[0].Message
		if !m.Redacted || m.Reference != "" || len(m.Fields) != 0 || strings.Contains(m.Subject+m.Text, "Board") ||
			strings.Contains(m.Subject+m.Text+m.Path, red.Reference) || m.Path != fmt.Sprintf("/incidents/%d", red.ID) {
			t.Errorf("RED incident on a GREEN channel: %+v", m)
		}
	})

	t.Run("Exercise", func(t *testing.T) {
		last := lastDeliveryID(t, s)
		MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Tabletop: ransomware", Status: vigil.StatusConfirmed, Exercise: true, PersonalData: true})
		expandAll(t, s, "w1")
		if ds := deliveriesSince(t, s, last); len(ds) != 0 {
			t.Errorf("an exercise notified: %+v", ds)
		}
	})

	t.Run("AssignedToMe", func(t *testing.T) {
		last := lastDeliveryID(t, s)
		cur := MustFindIncident(t, mgr, s, inc.ID)
		if _, err := s.Incidents.UpdateIncident(mgr, inc.ID, vigil.IncidentUpdate{LeadID: vigil.NullableOf(respUser.ID), Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
		// Someone else's assignment does not reach the responder.
		task := &vigil.Task{IncidentID: inc.ID, Title: "Recall the e-mail", AssigneeID: &mgrUser.ID}
		if err := s.Tasks.CreateTask(mgr, task); err != nil {
			t.Fatal(err)
		}
		expandAll(t, s, "w1")
		ds := deliveriesSince(t, s, last)
		var got []string
		for _, d := range ds {
			got = append(got, fmt.Sprintf("%s %v", d.Event, d.Recipients))
		}
		// The lead change reaches the responder; the manager's task
		// assignment reaches the responder too, as lead ("mine" covers
		// incidents they lead).
		want := []string{"assigned [responder@example.org]", "assigned [responder@example.org]"}
		if !slices.Equal(got, want) {
			t.Errorf("assigned deliveries: %q, want %q", got, want)
		}
		if len(ds) > 0 && !strings.Contains(ds[0].Message.Subject, respUser.Name+" now leads") {
			t.Errorf("subject: %q", ds[0].Message.Subject)
		}
	})

	t.Run("DutyReminders", func(t *testing.T) {
		dpo := &vigil.Contact{Name: "Dana", Roles: []vigil.ContactRole{vigil.ContactDPO}, Email: "dpo@example.org"}
		if err := s.Contacts.CreateContact(mgr, dpo); err != nil {
			t.Fatal(err)
		}
		obs, _ := s.Duties.FindObligations(mgr, inc.ID)
		ico := obligation(t, obs, "ico-notification")
		due := *ico.DueAt
		ctx := workerCtx()
		schedule := func(at time.Time) int {
			t.Helper()
			clk.set(at)
			n, err := s.Worker.Schedule(ctx, at, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := schedule(due.Add(-13 * time.Hour)); n != 0 {
			t.Errorf("13 h before: %d queued", n)
		}
		last := lastDeliveryID(t, s)
		if n := schedule(due.Add(-11 * time.Hour)); n != 1 {
			t.Errorf("11 h before: %d queued, want 1", n)
		}
		if n := schedule(due.Add(-10 * time.Hour)); n != 0 {
			t.Errorf("a second run queued %d again", n)
		}
		expandAll(t, s, "w2")
		ds := deliveriesSince(t, s, last)
		if len(ds) != 2 {
			t.Fatalf("12 h reminder: %d deliveries: %+v", len(ds), ds)
		}
		if ds[0].ChannelID != hook.ID || ds[0].Event != vigil.EventDutyDueSoon || !strings.Contains(ds[0].Message.Subject, "Due within 12 hours") {
			t.Errorf("webhook reminder: %+v", ds[0])
		}
		// Escalation by e-mail to the lead and the DPO.
		if ds[1].ChannelID != mail.ID || !slices.Equal(ds[1].Recipients, []string{"responder@example.org", "dpo@example.org"}) {
			t.Errorf("escalation: %+v", ds[1])
		}
		last = lastDeliveryID(t, s)
		if n := schedule(due.Add(-30 * time.Minute)); n != 1 {
			t.Errorf("30 min before: %d queued", n)
		}
		expandAll(t, s, "w2")
		if ds := deliveriesSince(t, s, last); len(ds) != 2 || !strings.Contains(ds[0].Message.Subject, "Due within 1 hour") {
			t.Errorf("1 h reminder: %+v", ds)
		}
		last = lastDeliveryID(t, s)
		if n := schedule(due.Add(time.Minute)); n != 1 {
			t.Errorf("overdue: %d queued", n)
		}
		expandAll(t, s, "w2")
		ds = deliveriesSince(t, s, last)
		if len(ds) != 2 || ds[0].Event != vigil.EventDutyOverdue || !slices.Contains(ds[1].Recipients, "manager@example.org") {
			t.Errorf("overdue escalation to the managers: %+v", ds)
		}
		if n := schedule(due.Add(2 * time.Hour)); n != 0 {
			t.Errorf("overdue queued again: %d", n)
		}
		// A reminder queued before the duty was submitted sends nothing.
		inc2 := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Laptop with HR files stolen", Status: vigil.StatusConfirmed, PersonalData: true})
		obs2, _ := s.Duties.FindObligations(mgr, inc2.ID)
		ico2 := obligation(t, obs2, "ico-notification")
		expandAll(t, s, "w2")
		last = lastDeliveryID(t, s)
		if n := schedule(ico2.DueAt.Add(-time.Hour / 2)); n != 1 {
			t.Fatalf("queued %d", n)
		}
		if _, err := s.Duties.SubmitObligation(mgr, ico2.ID, vigil.Submission{Reference: "ICO-1", Text: "Reported.", Version: ico2.Version}); err != nil {
			t.Fatal(err)
		}
		expandAll(t, s, "w2")
		if ds := deliveriesSince(t, s, last); len(ds) != 0 {
			t.Errorf("a reminder for a submitted duty: %+v", ds)
		}
	})

	t.Run("RaisedBeforeSending", func(t *testing.T) {
		// A delivery composed for a GREEN incident is redacted when sent if
		// the incident was raised to RED in between.
		last := lastDeliveryID(t, s)
		g := MustCreateIncident(t, mgr, s, &vigil.Incident{Title: "Merger documents leaked", Status: vigil.StatusConfirmed, TLP: vigil.TLPGreen})
		expandAll(t, s, "w1")
		ds := deliveriesSince(t, s, last)
		if len(ds) != 1 || ds[0].Message.Redacted {
			t.Fatalf("deliveries: %+v", ds)
		}
		red := vigil.TLPRed
		if _, err := s.Incidents.UpdateIncident(mgr, g.ID, vigil.IncidentUpdate{TLP: &red, Version: g.Version}); err != nil {
			t.Fatal(err)
		}
		jobs, err := s.Worker.ClaimJobs(workerCtx(), "w9", []string{vigil.JobDeliver}, 500, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, j := range jobs {
			ob, err := s.Worker.Outbound(workerCtx(), j)
			if err != nil {
				t.Fatal(err)
			}
			if ob.Delivery.ID == ds[0].ID {
				found = true
				m := ob.Delivery.Message
				if !m.Redacted || strings.Contains(m.Subject+m.Text+m.Path, "Merger") || len(m.Fields) != 0 {
					t.Errorf("sent after the raise: %+v", m)
				}
			}
			s.Worker.FailJob(workerCtx(), "w9", j, errors.New("not now"), clk.now())
		}
		if !found {
			t.Error("the delivery was not offered")
		}
	})

	t.Run("EscalationVisibility", func(t *testing.T) {
		// A RED incident, on an escalation channel cleared for RED: its
		// lead gets the details; a manager who is not a member, and the
		// DPO contact, get the redacted message.
		mc, _ := s.Notify.FindChannelByID(admin, mail.ID)
		mc.TLP = vigil.TLPRed
		if err := s.Notify.UpdateChannel(admin, mc, false); err != nil {
			t.Fatal(err)
		}
		red := MustCreateIncident(t, admin, s, &vigil.Incident{Title: "CEO mailbox read by an intruder", Status: vigil.StatusConfirmed,
			PersonalData: true, TLP: vigil.TLPRed, LeadID: &respUser.ID})
		expandAll(t, s, "w1")
		obs, _ := s.Duties.FindObligations(admin, red.ID)
		ico := obligation(t, obs, "ico-notification")
		last := lastDeliveryID(t, s)
		clk.set(ico.DueAt.Add(time.Minute))
		if _, err := s.Worker.Schedule(workerCtx(), clk.now(), 0); err != nil {
			t.Fatal(err)
		}
		expandAll(t, s, "w1")
		var full, redacted []string
		for _, d := range deliveriesSince(t, s, last) {
			if d.ChannelID != mail.ID || d.IncidentID == nil || *d.IncidentID != red.ID {
				continue
			}
			if d.Message.Redacted {
				redacted = append(redacted, d.Recipients...)
			} else {
				full = append(full, d.Recipients...)
			}
		}
		if !slices.Equal(full, []string{"responder@example.org"}) || !slices.Contains(redacted, "manager@example.org") || !slices.Contains(redacted, "dpo@example.org") {
			t.Errorf("escalation of a RED incident: full to %v, redacted to %v", full, redacted)
		}
	})

	t.Run("PasswordFollowsServer", func(t *testing.T) {
		mc, _ := s.Notify.FindChannelByID(admin, mail.ID)
		mc.SMTP.Host = "smtp.attacker.example"
		if err := s.Notify.UpdateChannel(admin, mc, false); !hasField(err, "smtp.password") {
			t.Errorf("a new server kept the stored password: %v", err)
		}
	})

	t.Run("Lease", func(t *testing.T) {
		ctx := workerCtx()
		jobs, err := s.Worker.ClaimJobs(ctx, "w1", []string{vigil.JobDeliver}, 3, time.Minute)
		if err != nil || len(jobs) != 3 {
			t.Fatalf("claim: %v %d", err, len(jobs))
		}
		other, err := s.Worker.ClaimJobs(ctx, "w2", []string{vigil.JobDeliver}, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range other {
			for _, j := range jobs {
				if o.ID == j.ID {
					t.Fatalf("job %d claimed by both workers", j.ID)
				}
			}
		}
		// w2 gives its jobs back for later; w1 dies. After the lease, w3
		// takes w1's jobs over, and w1's late result is refused.
		for _, o := range other {
			if err := s.Worker.FailJob(ctx, "w2", o, errors.New("later"), clk.now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if again, _ := s.Worker.ClaimJobs(ctx, "w3", []string{vigil.JobDeliver}, 100, time.Minute); len(again) != 0 {
			t.Fatalf("w3 took %d jobs still leased or not due", len(again))
		}
		clk.add(2 * time.Minute)
		taken, err := s.Worker.ClaimJobs(ctx, "w3", []string{vigil.JobDeliver}, 100, time.Minute)
		if err != nil || len(taken) != 3 {
			t.Fatalf("takeover: %v %d jobs", err, len(taken))
		}
		for i := range taken {
			if taken[i].ID != jobs[i].ID || taken[i].Attempts != jobs[i].Attempts+1 {
				t.Errorf("takeover %d: job %d attempt %d; w1 had job %d at attempt %d", i, taken[i].ID, taken[i].Attempts, jobs[i].ID, jobs[i].Attempts)
			}
		}
		if err := s.Worker.Delivered(ctx, "w1", jobs[0], nil, time.Time{}); !errors.Is(err, vigil.ErrLeaseLost) {
			t.Errorf("late result from a dead worker: %v", err)
		}
		// w3 sends the first: it is on the incident's timeline.
		ob, err := s.Worker.Outbound(ctx, taken[0])
		if err != nil {
			t.Fatal(err)
		}
		if ob.Channel.Kind == vigil.ChannelEmail && ob.Channel.SMTP.Password != "s3cret-pass" {
			t.Errorf("the stored SMTP password was lost on update: %q", ob.Channel.SMTP.Password)
		}
		if ob.Channel.Kind == vigil.ChannelWebhook && ob.Channel.Secret != hook.Secret {
			t.Errorf("Outbound has secret %q", ob.Channel.Secret)
		}
		if err := s.Worker.Delivered(ctx, "w3", taken[0], nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		id := ob.Delivery.ID
		d := findDelivery(t, s, id)
		if d.Status != vigil.DeliverySent || d.SentAt == nil || d.Attempts != taken[0].Attempts {
			t.Errorf("sent delivery: %+v", d)
		}
		if d.IncidentID != nil {
			page, err := s.Timeline.FindTimeline(mgr, *d.IncidentID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindNotification}})
			if err != nil || len(page.Items) != 1 || !strings.Contains(page.Items[0].Message, d.Message.Subject) {
				t.Errorf("timeline: %v %+v", err, page)
			}
		}
		// A failure is retried, and after the last attempt marked failed.
		j := taken[1]
		retryAt := clk.now().Add(30 * time.Second)
		if err := s.Worker.Delivered(ctx, "w3", j, errors.New("the receiver answered 500"), retryAt); err != nil {
			t.Fatal(err)
		}
		d = findDelivery(t, s, deliveryOf(t, s, j))
		if d.Status != vigil.DeliveryRetrying || d.LastError != "the receiver answered 500" || d.NextAt == nil || !d.NextAt.Equal(retryAt) {
			t.Errorf("retrying: %+v", d)
		}
		clk.add(time.Minute)
		var again *vigil.Job
		for range j.MaxAttempts {
			got, _ := s.Worker.ClaimJobs(ctx, "w3", []string{vigil.JobDeliver}, 100, time.Minute)
			again = nil
			for _, g := range got {
				if g.ID == j.ID {
					again = g
				} else {
					s.Worker.FailJob(ctx, "w3", g, errors.New("not now"), clk.now().Add(24*time.Hour))
				}
			}
			if again == nil {
				t.Fatal("the failed job was not offered again")
			}
			if err := s.Worker.Delivered(ctx, "w3", again, errors.New("connection refused"), clk.now()); err != nil {
				t.Fatal(err)
			}
			if again.Attempts >= again.MaxAttempts {
				break
			}
		}
		d = findDelivery(t, s, d.ID)
		if d.Status != vigil.DeliveryFailed || d.Attempts != j.MaxAttempts || d.LastError != "connection refused" {
			t.Errorf("after the last attempt: %+v", d)
		}
		if _, err := s.Notify.RetryDelivery(mgr, d.ID); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("a manager retries: %v", err)
		}
		if _, err := s.Notify.RetryDelivery(admin, d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Notify.RetryDelivery(admin, d.ID); vigil.ErrorCode(err) != vigil.ECONFLICT {
			t.Errorf("retrying a pending delivery: %v", err)
		}
		got, _ := s.Worker.ClaimJobs(ctx, "w3", []string{vigil.JobDeliver}, 100, time.Minute)
		if !slices.ContainsFunc(got, func(g *vigil.Job) bool { return g.ID == j.ID && g.Attempts == 1 }) {
			t.Errorf("the retried delivery was not queued afresh")
		}
	})

	t.Run("Log", func(t *testing.T) {
		all, err := s.Notify.FindDeliveries(admin, vigil.DeliveryFilter{Limit: 500})
		if err != nil || len(all) < 5 {
			t.Fatalf("log: %v %d", err, len(all))
		}
		page, _ := s.Notify.FindDeliveries(admin, vigil.DeliveryFilter{Limit: 2})
		next, _ := s.Notify.FindDeliveries(admin, vigil.DeliveryFilter{Limit: 2, BeforeID: page[1].ID})
		if len(page) != 2 || len(next) != 2 || next[0].ID >= page[1].ID {
			t.Errorf("keyset pages: %d %d", len(page), len(next))
		}
		byInc, _ := s.Notify.FindDeliveries(admin, vigil.DeliveryFilter{IncidentID: inc.ID, Limit: 500, ChannelID: mail.ID})
		for _, d := range byInc {
			if d.IncidentID == nil || *d.IncidentID != inc.ID || d.ChannelID != mail.ID {
				t.Errorf("filter: %+v", d)
			}
		}
		// A viewer sees the deliveries of incidents they can see: not the
		// RED one's.
		seen, err := s.Notify.FindDeliveries(viewer, vigil.DeliveryFilter{Limit: 500})
		if err != nil || len(seen) == 0 || len(seen) >= len(all) {
			t.Errorf("viewer sees %d of %d deliveries (%v)", len(seen), len(all), err)
		}
	})

	t.Run("TestChannel", func(t *testing.T) {
		d, err := s.Notify.TestChannel(admin, mail.ID)
		if err != nil || d.Event != vigil.EventTest || !slices.Equal(d.Recipients, []string{"soc@example.org"}) || d.IncidentID != nil {
			t.Fatalf("test delivery: %v %+v", err, d)
		}
		if _, err := s.Notify.TestChannel(resp, mail.ID); vigil.ErrorCode(err) != vigil.EFORBIDDEN {
			t.Errorf("a responder tests a channel: %v", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if err := s.Notify.DeleteSubscription(viewer, mine.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Errorf("someone else's subscription: %v", err)
		}
		if err := s.Notify.DeleteSubscription(resp, mine.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Notify.DeleteChannel(admin, hook.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.Notify.FindChannels(admin); len(list) != 1 {
			t.Errorf("%d channels after delete", len(list))
		}
	})
}

func findDelivery(t *testing.T, s *Store, id int64) *vigil.Delivery {
	t.Helper()
	list, err := s.Notify.FindDeliveries(SystemContext(t), vigil.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("delivery %d not found", id)
	return nil
}

func deliveryOf(t *testing.T, s *Store, j *vigil.Job) int64 {
	t.Helper()
	ob, err := s.Worker.Outbound(workerCtx(), j)
	if err != nil {
		t.Fatal(err)
	}
	return ob.Delivery.ID
}
