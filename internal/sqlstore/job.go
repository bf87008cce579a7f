package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// ClaimJobs leases up to n due jobs to worker: available ones whose time
// has come, and running ones whose lease ran out (their worker died). On
// PostgreSQL the rows are taken with SKIP LOCKED, so instances claiming at
// the same moment take different jobs; on SQLite there is one writer.
func (s *WorkerService) ClaimJobs(ctx context.Context, worker string, kinds []string, n int, lease time.Duration) (jobs []*vigil.Job, err error) {
	defer s.db.op("job.claim")(&err)
	jobs, err = writeV(ctx, s.db, func(tx *Tx) ([]*vigil.Job, error) {
		args := []any{worker, tx.now.Add(lease)}
		args = append(args, anySlice(kinds)...)
		args = append(args, tx.now, tx.now, n)
		return queryAll(tx, scanJob, `UPDATE jobs SET state = 'running', locked_by = ?, locked_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM jobs WHERE kind IN (`+placeholders(len(kinds))+`)
				AND ((state = 'available' AND run_at <= ?) OR (state = 'running' AND locked_until < ? AND attempts < max_attempts))
				ORDER BY run_at, id LIMIT ?`+tx.db.d.SkipLocked+`)
			RETURNING id, kind, unique_key, payload, attempts, max_attempts, run_at`, args...)
	})
	// RETURNING comes in no set order: oldest first, as claimed.
	slices.SortFunc(jobs, func(a, b *vigil.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs, err
}

func scanJob(r rowScanner) (*vigil.Job, error) {
	var j vigil.Job
	var key sql.NullString
	var payload string
	if err := r.Scan(&j.ID, &j.Kind, &key, &payload, &j.Attempts, &j.MaxAttempts, scanTime(&j.RunAt)); err != nil {
		return nil, err
	}
	j.Key, j.Payload = key.String, []byte(payload)
	return &j, nil
}

// finishJob completes a job the worker still holds, or ErrLeaseLost.
func (tx *Tx) finishJob(job *vigil.Job, worker string, state string, lastError string, runAt time.Time) error {
	var res sql.Result
	var err error
	if state == "available" {
		res, err = tx.exec(`UPDATE jobs SET state = 'available', locked_by = NULL, locked_until = NULL, last_error = ?, run_at = ?
			WHERE id = ? AND locked_by = ? AND attempts = ? AND state = 'running'`, lastError, runAt, job.ID, worker, job.Attempts)
	} else {
		// locked_by stays: it says which worker finished the job.
		res, err = tx.exec(`UPDATE jobs SET state = ?, locked_until = NULL, last_error = ?, finished_at = ?
			WHERE id = ? AND locked_by = ? AND attempts = ? AND state = 'running'`, state, lastError, tx.now, job.ID, worker, job.Attempts)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.ErrLeaseLost
	}
	return nil
}

// CompleteJob marks a job the worker holds done.
func (s *WorkerService) CompleteJob(ctx context.Context, worker string, job *vigil.Job) (err error) {
	defer s.db.op("job.complete")(&err)
	return s.db.write(ctx, func(tx *Tx) error { return tx.finishJob(job, worker, "done", "", time.Time{}) })
}

// FailJob reschedules a job at retryAt, or marks it dead after its last
// attempt or when retryAt is zero (the failure is permanent).
func (s *WorkerService) FailJob(ctx context.Context, worker string, job *vigil.Job, jobErr error, retryAt time.Time) (err error) {
	defer s.db.op("job.fail")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		msg := truncate(jobErr.Error(), 2000)
		if retryAt.IsZero() || job.Attempts >= job.MaxAttempts {
			return tx.finishJob(job, worker, "dead", msg, time.Time{})
		}
		return tx.finishJob(job, worker, "available", msg, retryAt)
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// ExpandEvent fans an event out: one delivery per matching subscription,
// and the escalations of reporting duties, queued with the job's
// completion in one transaction (so a crash either queues them all or
// leaves the event to be expanded again, never half).
func (s *WorkerService) ExpandEvent(ctx context.Context, worker string, job *vigil.Job) (err error) {
	defer s.db.op("job.event")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.expandEvent(job); err != nil {
			return err
		}
		return tx.finishJob(job, worker, "done", "", time.Time{})
	})
}

func (tx *Tx) expandEvent(job *vigil.Job) error {
	var ev vigil.Event
	if err := json.Unmarshal(job.Payload, &ev); err != nil {
		return nil // nothing to do with a malformed event; done
	}
	about := vigil.About{Event: &ev}
	if ev.Kind == vigil.EventPlanReviewDue {
		return tx.expandPlanEvent(job, &ev)
	}
	if ev.IncidentID == 0 {
		return nil
	}
	inc, err := tx.findIncidentByID(ev.IncidentID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if inc.Exercise {
		return nil // exercises notify no one outside
	}
	about.Incident = inc
	concerns := []int64{}
	if ev.UserID != 0 {
		concerns = append(concerns, ev.UserID)
	}
	if inc.LeadID != nil {
		concerns = append(concerns, *inc.LeadID)
	}
	if ev.ObligationID != 0 {
		o, err := scanObligation(tx.queryRow(`SELECT `+obligationColumns+` FROM obligations o WHERE o.id = ?`, ev.ObligationID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if o.Status != vigil.ObligationPending {
			return nil // submitted, waived or withdrawn since: no reminder
		}
		about.Obligation = o
	}
	if ev.TaskID != 0 {
		t, err := tx.findTask(ev.TaskID)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if ev.Kind == vigil.EventTaskDue && (t.Status == vigil.TaskDone || t.Status == vigil.TaskCancelled) {
			return nil
		}
		about.Task = t
		if t.AssigneeID != nil {
			concerns = append(concerns, *t.AssigneeID)
		}
	}
	users, err := tx.userDirectory()
	if err != nil {
		return err
	}
	if ev.Kind == vigil.EventAssigned {
		about.Assignee = users[ev.UserID].name
	}
	profile, _, err := tx.dutyConfig()
	if err != nil {
		return err
	}
	loc, _ := profile.Location()

	order, err := queryAll(tx, scanChannel, `SELECT `+channelColumns+` FROM channels WHERE enabled ORDER BY id`)
	if err != nil {
		return err
	}
	if len(order) == 0 {
		return nil
	}
	channels := map[int64]*vigil.Channel{}
	for _, c := range order {
		channels[c.ID] = c
	}
	subs, err := queryAll(tx, scanSubscription, `SELECT `+subscriptionColumns+` FROM subscriptions s JOIN channels c ON c.id = s.channel_id WHERE c.enabled ORDER BY s.id`)
	if err != nil {
		return err
	}
	incID := &inc.ID
	for _, sub := range subs {
		c := channels[sub.ChannelID]
		if c == nil || !sub.Matches(&ev, inc, concerns) {
			continue
		}
		u, ok := users[sub.UserID]
		if !ok || u.disabled {
			continue
		}
		// A subscriber hears only of incidents they may read.
		member, err := tx.isMember(inc.ID, sub.UserID)
		if err != nil {
			return err
		}
		if !vigil.VisibilityFor(u.actor(sub.UserID)).CanSee(inc, member) {
			continue
		}
		var to []string
		if c.Kind == vigil.ChannelEmail {
			to = sub.To
			if len(to) == 0 {
				to = c.SMTP.To
			}
			if len(to) == 0 {
				continue
			}
		}
		key := deliveryKey(fmt.Sprintf("%d/sub/%d", job.ID, sub.ID))
		if _, err := tx.queueDelivery(key, c, &ev, incID, to, vigil.Compose(about, c.TLP, loc)); err != nil {
			return err
		}
	}
	if about.Obligation == nil || (ev.Kind != vigil.EventDutyDueSoon && ev.Kind != vigil.EventDutyOverdue) {
		return nil
	}
	// Escalation: the lead and the DPO before the due time; the managers
	// too once it has passed. Someone who may not read the incident (a
	// manager who is not a member of a TLP:RED one; the DPO, who is a
	// contact rather than a user, of a RED one) gets the redacted message.
	var to, toRedacted []string
	seen := map[string]bool{}
	addAs := func(email string, full bool) {
		if email == "" || seen[email] {
			return
		}
		seen[email] = true
		if full {
			to = append(to, email)
		} else {
			toRedacted = append(toRedacted, email)
		}
	}
	addUser := func(id int64) error {
		u, ok := users[id]
		if !ok || u.disabled {
			return nil
		}
		member, err := tx.isMember(inc.ID, id)
		if err != nil {
			return err
		}
		addAs(u.email, vigil.VisibilityFor(u.actor(id)).CanSee(inc, member))
		return nil
	}
	add := func(email string) { addAs(email, inc.TLP != vigil.TLPRed) }
	if inc.LeadID != nil {
		if err := addUser(*inc.LeadID); err != nil {
			return err
		}
	}
	// The key contacts are the default organisation's: its DPO hears of
	// its own incidents, not of another organisation's.
	if inc.OrganisationID == vigil.DefaultOrganisationID {
		err := eachRow(tx, func(r rowScanner) error {
			var email string
			var roles []vigil.ContactRole
			if err := r.Scan(&email, scanJSON(&roles)); err != nil {
				return err
			}
			if slices.Contains(roles, vigil.ContactDPO) {
				add(email)
			}
			return nil
		}, `SELECT email, roles FROM contacts WHERE email <> ''`)
		if err != nil {
			return err
		}
	}
	if ev.Kind == vigil.EventDutyOverdue {
		for _, id := range sortedKeys(users) {
			if r, _ := users[id].actor(id).RoleIn(inc.OrganisationID); r == vigil.RoleManager {
				if err := addUser(id); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range order {
		if !c.Escalation || c.Kind != vigil.ChannelEmail {
			continue
		}
		m := vigil.Compose(about, c.TLP, loc)
		if len(to) > 0 {
			key := deliveryKey(fmt.Sprintf("%d/escalation/%d", job.ID, c.ID))
			if _, err := tx.queueDelivery(key, c, &ev, incID, to, m); err != nil {
				return err
			}
		}
		if len(toRedacted) > 0 {
			key := deliveryKey(fmt.Sprintf("%d/escalation-redacted/%d", job.ID, c.ID))
			if _, err := tx.queueDelivery(key, c, &ev, incID, toRedacted, vigil.Redact(m, inc.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}

type dirUser struct {
	name, email string
	role        vigil.Role // in the default organisation
	orgs        []vigil.OrgRole
	disabled    bool
}

// actor is the user as an actor, to ask what they may see and do.
func (u dirUser) actor(id int64) *vigil.Actor {
	return &vigil.Actor{UserID: id, Role: u.role, Orgs: u.orgs}
}

// userDirectory loads every user's name, address and roles.
func (tx *Tx) userDirectory() (map[int64]dirUser, error) {
	users, err := queryMap(tx, func(r rowScanner) (id int64, u dirUser, err error) {
		var username string
		err = r.Scan(&id, &username, &u.name, &u.email, &u.disabled)
		if u.name == "" {
			u.name = username
		}
		u.orgs = []vigil.OrgRole{}
		return id, u, err
	}, `SELECT id, username, name, email, disabled FROM users`)
	if err != nil {
		return nil, err
	}
	err = eachRow(tx, func(r rowScanner) error {
		var id int64
		var m vigil.OrgRole
		if err := r.Scan(&id, &m.ID, &m.Slug, &m.Role); err != nil {
			return err
		}
		if u, ok := users[id]; ok {
			u.orgs = append(u.orgs, m)
			if m.ID == vigil.DefaultOrganisationID {
				u.role = m.Role
			}
			users[id] = u
		}
		return nil
	}, `SELECT m.user_id, m.organisation_id, o.slug, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id ORDER BY m.organisation_id`)
	return users, err
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (tx *Tx) isMember(incidentID, userID int64) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM incident_members WHERE incident_id = ? AND user_id = ?`, incidentID, userID).Scan(&n)
	return n > 0, err
}

// Outbound loads the delivery a deliver job sends, with its channel's
// secrets; ENOTFOUND when the delivery or its channel is gone.
func (s *WorkerService) Outbound(ctx context.Context, job *vigil.Job) (out *vigil.Outbound, err error) {
	defer s.db.op("job.outbound")(&err)
	var p struct {
		DeliveryID int64 `json:"delivery_id"`
	}
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Malformed delivery job.")
	}
	err = s.db.read(ctx, func(tx *Tx) error {
		d, err := tx.findDelivery(p.DeliveryID)
		if err != nil {
			return err
		}
		c, err := tx.findChannel(d.ChannelID)
		if err != nil {
			return err
		}
		// The message was composed when the event was fanned out. If the
		// incident has been raised above the channel's clearance since (or
		// the clearance lowered), what goes out now is the redacted one.
		if d.IncidentID != nil && !d.Message.Redacted {
			var tlp vigil.TLP
			if err := tx.queryRow(`SELECT tlp FROM incidents WHERE id = ?`, *d.IncidentID).Scan(&tlp); err != nil {
				return err
			}
			if tlp.Rank() > c.TLP.Rank() {
				d.Message = vigil.Redact(d.Message, *d.IncidentID)
			}
		}
		out = &vigil.Outbound{Delivery: d, Channel: c}
		return nil
	})
	return out, err
}

// Delivered records the outcome of sending a delivery and completes or
// reschedules its job in one transaction. A sent notification about an
// incident goes on that incident's timeline.
func (s *WorkerService) Delivered(ctx context.Context, worker string, job *vigil.Job, sendErr error, retryAt time.Time) (err error) {
	defer s.db.op("job.delivered")(&err)
	var p struct {
		DeliveryID int64 `json:"delivery_id"`
	}
	json.Unmarshal(job.Payload, &p)
	return s.db.write(ctx, func(tx *Tx) error {
		d, err := tx.findDelivery(p.DeliveryID)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return tx.finishJob(job, worker, "dead", "The delivery or its channel was deleted.", time.Time{})
		} else if err != nil {
			return err
		}
		if sendErr == nil {
			if err := tx.finishJob(job, worker, "done", "", time.Time{}); err != nil {
				return err
			}
			if _, err := tx.exec(`UPDATE deliveries SET status = 'sent', attempts = ?, sent_at = ?, next_at = NULL, last_error = '' WHERE id = ?`,
				job.Attempts, tx.now, d.ID); err != nil {
				return err
			}
			if d.IncidentID != nil {
				how := map[vigil.ChannelKind]string{vigil.ChannelEmail: "by e-mail to " + strings.Join(d.Recipients, ", "),
					vigil.ChannelSlack: "to Slack", vigil.ChannelTeams: "to Microsoft Teams", vigil.ChannelWebhook: "by webhook"}[d.ChannelKind]
				msg := fmt.Sprintf("Notification sent %s (channel %q): %s", how, d.ChannelName, d.Message.Subject)
				if _, err := tx.addTimeline(*d.IncidentID, vigil.KindNotification, tx.now, msg, nil); err != nil {
					return err
				}
			}
			return nil
		}
		msg := truncate(sendErr.Error(), 2000)
		if retryAt.IsZero() || job.Attempts >= job.MaxAttempts {
			if err := tx.finishJob(job, worker, "dead", msg, time.Time{}); err != nil {
				return err
			}
			_, err := tx.exec(`UPDATE deliveries SET status = 'failed', attempts = ?, last_error = ?, next_at = NULL WHERE id = ?`,
				job.Attempts, msg, d.ID)
			return err
		}
		if err := tx.finishJob(job, worker, "available", msg, retryAt); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE deliveries SET status = 'retrying', attempts = ?, last_error = ?, next_at = ? WHERE id = ?`,
			job.Attempts, msg, retryAt, d.ID)
		return err
	})
}

// Reminder thresholds before a duty's due time.
const (
	remindEarly = 12 * time.Hour
	remindLate  = time.Hour
	taskSoon    = time.Hour
	// reminderWindow is how long after its due time an overdue duty or
	// task is still looked at (a server down for longer sends nothing).
	reminderWindow = 30 * 24 * time.Hour
)

// Schedule queues the events that have come due: a reporting duty's
// reminders at 12 h and 1 h before its due time and when it is overdue,
// and a task's when it is due within the hour. Each is keyed by the
// obligation or task, the stage and the due time, so every instance may
// run Schedule at once and each reminder is queued exactly once; a due
// time that moves (awareness corrected) gets its own reminders. Only the
// most urgent stage is queued: a server that was down for the 12 h mark
// sends the 1 h one, not both. Finished jobs older than keep are pruned,
// and so are expired idempotency keys (see IdempotencyService).
func (s *WorkerService) Schedule(ctx context.Context, now time.Time, keep time.Duration) (queued int, err error) {
	defer s.db.op("job.schedule")(&err)
	queued, err = writeV(ctx, s.db, func(tx *Tx) (int, error) {
		var queued int
		duties, err := tx.dueItems(`SELECT o.id, o.incident_id, o.due_at FROM obligations o JOIN incidents i ON i.id = o.incident_id
			WHERE o.status = 'pending' AND o.due_at IS NOT NULL AND o.due_at <= ? AND o.due_at > ? AND NOT i.exercise
			ORDER BY o.id`, // one order on every instance: concurrent inserts of the same keys cannot deadlock
			now.Add(remindEarly), now.Add(-reminderWindow))
		if err != nil {
			return queued, err
		}
		for _, d := range duties {
			stage, kind := "12h", vigil.EventDutyDueSoon
			switch left := d.at.Sub(now); {
			case left <= 0:
				stage, kind = "overdue", vigil.EventDutyOverdue
			case left <= remindLate:
				stage = "1h"
			}
			key := fmt.Sprintf("duty:%d:%s:%d", d.id, stage, d.at.Unix())
			ok, err := tx.emit(vigil.Event{Kind: kind, IncidentID: d.incident, ObligationID: d.id, Stage: stage}, key)
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
		}
		tasks, err := tx.dueItems(`SELECT t.id, t.incident_id, t.due_at FROM tasks t JOIN incidents i ON i.id = t.incident_id
			WHERE t.status IN ('open', 'in_progress') AND t.due_at IS NOT NULL AND t.due_at <= ? AND t.due_at > ? AND NOT i.exercise
			AND (i.status IN ('triage', 'confirmed', 'contained', 'recovered') OR t.follow_up)
			ORDER BY t.id`, now.Add(taskSoon), now.Add(-reminderWindow))
		if err != nil {
			return queued, err
		}
		for _, d := range tasks {
			ok, err := tx.emit(vigil.Event{Kind: vigil.EventTaskDue, IncidentID: d.incident, TaskID: d.id},
				fmt.Sprintf("task:%d:%d", d.id, d.at.Unix()))
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
		}
		// Plans whose review falls due within 30 days, then once overdue:
		// keyed by plan, stage and due date, so a plan approved again (a
		// new date) is reminded afresh.
		plans, err := tx.dueItems(`SELECT id, 0, review_due FROM plans WHERE review_due <= ? ORDER BY id`, now.Add(planReviewSoon))
		if err != nil {
			return queued, err
		}
		for _, d := range plans {
			stage := "soon"
			if !d.at.After(now) {
				stage = "overdue"
			}
			ok, err := tx.emit(vigil.Event{Kind: vigil.EventPlanReviewDue, PlanID: d.id, Stage: stage}, fmt.Sprintf("plan:%d:%s:%d", d.id, stage, d.at.Unix()))
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
		}
		// Mailboxes due for a poll, likewise.
		boxes, err := tx.dueItems(`SELECT id, 0, next_poll_at FROM mailboxes WHERE NOT disabled AND next_poll_at <= ? ORDER BY id`, now)
		if err != nil {
			return queued, err
		}
		for _, b := range boxes {
			res, err := tx.exec(`INSERT INTO jobs (kind, unique_key, payload, state, max_attempts, run_at, created_at) VALUES (?, ?, ?, 'available', 3, ?, ?)
				ON CONFLICT (unique_key) DO NOTHING`, vigil.JobMailboxPoll, fmt.Sprintf("mailbox:%d:%d", b.id, b.at.UnixMicro()),
				mustJSON(map[string]int64{"mailbox_id": b.id}), now, now)
			if err != nil {
				return queued, err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				queued++
			}
		}
		// Feeds due for a poll: one job per due time, whichever instance
		// queues it first.
		feeds, err := tx.dueItems(`SELECT id, 0, next_poll_at FROM taxii_feeds WHERE enabled AND next_poll_at <= ? ORDER BY id`, now)
		if err != nil {
			return queued, err
		}
		for _, f := range feeds {
			res, err := tx.exec(`INSERT INTO jobs (kind, unique_key, payload, state, max_attempts, run_at, created_at) VALUES (?, ?, ?, 'available', 3, ?, ?)
				ON CONFLICT (unique_key) DO NOTHING`, vigil.JobFeedPoll, fmt.Sprintf("feed:%d:%d", f.id, f.at.UnixMicro()),
				mustJSON(map[string]int64{"feed_id": f.id}), now, now)
			if err != nil {
				return queued, err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				queued++
			}
		}
		// A job whose lease ran out on its last attempt (its worker died
		// every time, perhaps because of the job) is not taken again.
		if _, err := tx.exec(`UPDATE deliveries SET status = 'failed', last_error = 'The worker sending it stopped on every attempt.', next_at = NULL
			WHERE key IN (SELECT substr(unique_key, 9) FROM jobs WHERE kind = 'deliver' AND state = 'running' AND locked_until < ? AND attempts >= max_attempts)`,
			now); err != nil {
			return queued, err
		}
		if _, err := tx.exec(`UPDATE jobs SET state = 'dead', last_error = 'The worker running it stopped on every attempt.', finished_at = ?
			WHERE state = 'running' AND locked_until < ? AND attempts >= max_attempts`, now, now); err != nil {
			return queued, err
		}
		if keep > 0 {
			// A keyed job is kept until its obligation or task has left the
			// 30-day scan window above: pruned sooner, it would be queued again.
			if _, err := tx.exec(`DELETE FROM jobs WHERE state = 'done' AND finished_at < ? AND (unique_key IS NULL OR finished_at < ?)`,
				now.Add(-keep), now.Add(-reminderWindow-24*time.Hour)); err != nil {
				return queued, err
			}
		}
		if err := tx.pruneIdempotencyKeys(now); err != nil {
			return queued, err
		}
		return queued, nil
	})
	return queued, err
}

// planReviewSoon is how long before a plan's review date it is reminded.
const planReviewSoon = 30 * 24 * time.Hour

// expandPlanEvent sends a plan review reminder to the subscriptions that
// ask for it ("mine": plans the subscriber owns) of people who may read
// plans. A plan approved since (its date moved on) is reminded no more.
func (tx *Tx) expandPlanEvent(job *vigil.Job, ev *vigil.Event) error {
	p, err := tx.findPlan(ev.PlanID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if p.ReviewDue.After(tx.now.Add(planReviewSoon)) || (ev.Stage == "overdue" && p.ReviewDue.After(tx.now)) {
		return nil
	}
	if p.OwnerID != nil {
		_ = tx.queryRow(`SELECT coalesce(name, username) FROM users WHERE id = ?`, *p.OwnerID).Scan(&p.OwnerName)
	}
	var concerns []int64
	if p.OwnerID != nil {
		concerns = append(concerns, *p.OwnerID)
	}
	users, err := tx.userDirectory()
	if err != nil {
		return err
	}
	profile, _, err := tx.dutyConfig()
	if err != nil {
		return err
	}
	loc, _ := profile.Location()
	subs, err := queryAll(tx, scanSubscription, `SELECT `+subscriptionColumns+` FROM subscriptions s JOIN channels c ON c.id = s.channel_id WHERE c.enabled ORDER BY s.id`)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if !sub.Matches(ev, nil, concerns) {
			continue
		}
		u, ok := users[sub.UserID]
		if !ok || u.disabled || !u.actor(sub.UserID).Can(vigil.PermPlanRead) {
			continue
		}
		c, err := scanChannel(tx.queryRow(`SELECT `+channelColumns+` FROM channels WHERE id = ?`, sub.ChannelID))
		if err != nil {
			return err
		}
		to := sub.To
		if c.Kind == vigil.ChannelEmail {
			if len(to) == 0 {
				to = c.SMTP.To
			}
			if len(to) == 0 {
				continue
			}
		}
		key := deliveryKey(fmt.Sprintf("%d/sub/%d", job.ID, sub.ID))
		if _, err := tx.queueDelivery(key, c, ev, nil, to, vigil.Compose(vigil.About{Event: ev, Plan: p}, c.TLP, loc)); err != nil {
			return err
		}
	}
	return nil
}

// dueItem is something that has come due: its id, its incident's, when.
type dueItem struct {
	id, incident int64
	at           time.Time
}

// dueItems reads (id, incident id, time) rows.
func (tx *Tx) dueItems(q string, args ...any) ([]dueItem, error) {
	return queryAll(tx, func(r rowScanner) (d dueItem, err error) {
		err = r.Scan(&d.id, &d.incident, scanTime(&d.at))
		return d, err
	}, q, args...)
}

// PendingJobs counts jobs not yet finished, by kind: for metrics and tests.
func (db *DB) PendingJobs(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		out, err = queryMap(tx, func(r rowScanner) (kind string, n int, err error) {
			err = r.Scan(&kind, &n)
			return kind, n, err
		}, `SELECT kind, count(*) FROM jobs WHERE state IN ('available', 'running') GROUP BY kind`)
		return err
	})
	return out, err
}
