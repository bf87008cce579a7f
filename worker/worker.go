// Package worker runs Vigil's durable background jobs: it fans events out
// to subscriptions, sends notifications with retries and backoff, and
// queues reporting-duty reminders and escalations as they come due.
//
// Jobs live in the database (vigil.WorkerService). Each is leased to one
// worker at a time; a worker that dies loses its leases when they run out
// and another instance takes the jobs over. Every reminder is queued under
// a unique key and every delivery carries an idempotency key, so with any
// number of instances on one PostgreSQL each notification is sent once in
// effect: a receiver that saw a delivery's key before may drop it (a
// delivery cut off by a crash between sending and recording is sent again
// with the same key).
package worker

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/notify"
)

// Worker claims and runs jobs until its context ends.
type Worker struct {
	Store  vigil.WorkerService
	Sender *notify.Sender
	// Feeds polls TAXII feeds; nil polls none.
	Feeds interface {
		Poll(ctx context.Context, feedID int64) error
	}
	// Mailboxes polls the mailboxes of reported e-mail; nil polls none.
	Mailboxes interface {
		Poll(ctx context.Context, mailboxID int64) error
	}
	// IOC matches observables and alerts against received indicators;
	// nil matches nothing.
	IOC interface {
		MatchIOCs(ctx context.Context, limit int) (vigil.MatchStats, error)
	}
	// Exercises releases the injects of running exercises as their
	// time comes, at each schedule tick; nil releases none.
	Exercises interface {
		ReleaseDueInjects(ctx context.Context) (int, error)
	}
	// MatchEvery is how often to look for new indicators, observables
	// and alerts to match when the last round found nothing more (default
	// 5 s).
	MatchEvery time.Duration
	Logger     *slog.Logger
	// ID names this worker in job leases; unique per process by default.
	ID string
	// Lease is how long a claimed job is this worker's (default 2 min);
	// it must outlast a send (Sender.Timeout) by a wide margin.
	Lease time.Duration
	// Poll is how often to look for due jobs (default 1 s).
	Poll time.Duration
	// ScheduleEvery is how often to queue reminders (default 30 s).
	ScheduleEvery time.Duration
	// Keep is how long finished jobs stay before they are pruned (7 days).
	Keep time.Duration
	// Concurrency bounds the jobs run at once (default 8).
	Concurrency int
	// Observe, if set, is told each job's kind and result ("ok",
	// "retry", "failed", "lease_lost").
	Observe func(kind, result string)
	Now     func() time.Time

	wake chan struct{}
	once sync.Once
}

func (w *Worker) init() {
	w.once.Do(func() {
		if w.ID == "" {
			b := make([]byte, 4)
			crand.Read(b)
			host, _ := os.Hostname()
			w.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
		}
		if w.Lease <= 0 {
			w.Lease = 2 * time.Minute
		}
		if w.Poll <= 0 {
			w.Poll = time.Second
		}
		if w.ScheduleEvery <= 0 {
			w.ScheduleEvery = 30 * time.Second
		}
		if w.MatchEvery <= 0 {
			w.MatchEvery = 5 * time.Second
		}
		if w.Keep <= 0 {
			w.Keep = 7 * 24 * time.Hour
		}
		if w.Concurrency <= 0 {
			w.Concurrency = 8
		}
		if w.Logger == nil {
			w.Logger = slog.Default()
		}
		if w.Now == nil {
			w.Now = time.Now
		}
		if w.Sender == nil {
			w.Sender = &notify.Sender{}
		}
		w.wake = make(chan struct{}, 1)
	})
}

// Wake makes the worker look for jobs now rather than at its next poll.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Backoff is the wait before attempt n+1 after n failed ones: 10 s,
// doubling, at most 2 h, with ±20% jitter so retries from many jobs do
// not arrive together. Twelve attempts span about five hours.
func Backoff(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < 2*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 2*time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Run works until ctx ends, then waits for the jobs it started: each
// finishes its attempt and records the outcome (a send is bounded by the
// sender's timeout).
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, w.Concurrency)
	kinds := []string{vigil.JobEvent, vigil.JobDeliver}
	if w.Feeds != nil {
		kinds = append(kinds, vigil.JobFeedPoll)
	}
	if w.Mailboxes != nil {
		kinds = append(kinds, vigil.JobMailboxPoll)
	}
	nextSchedule := time.Time{}
	matching := make(chan struct{}, 1)
	var nextMatch time.Time
	var matchMore atomic.Bool
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case <-w.wake:
		}
		if now := w.Now(); !now.Before(nextSchedule) {
			n, err := w.Store.Schedule(context.WithoutCancel(ctx), now, w.Keep)
			if err != nil {
				w.logError("schedule reminders", err)
			} else if n > 0 {
				w.Logger.Info("reminders queued", "n", n)
			}
			if w.Exercises != nil {
				if n, err := w.Exercises.ReleaseDueInjects(context.WithoutCancel(ctx)); err != nil {
					w.logError("release exercise injects", err)
				} else if n > 0 {
					w.Logger.Info("exercise injects released", "n", n)
				}
			}
			nextSchedule = now.Add(w.ScheduleEvery)
		}
		if matchMore.Swap(false) {
			nextMatch = time.Time{}
		}
		if now := w.Now(); w.IOC != nil && !now.Before(nextMatch) {
			select {
			case matching <- struct{}{}: // one round at a time
				nextMatch = now.Add(w.MatchEvery)
				wg.Add(1)
				go func() {
					defer func() { <-matching; wg.Done() }()
					if w.match(context.WithoutCancel(ctx)) {
						matchMore.Store(true)
						w.Wake()
					}
				}()
			default:
			}
		}
		for ctx.Err() == nil {
			free := w.Concurrency - len(slots)
			if free == 0 {
				break
			}
			jobs, err := w.Store.ClaimJobs(context.WithoutCancel(ctx), w.ID, kinds, free, w.Lease)
			if err != nil {
				w.logError("claim jobs", err)
				break
			}
			for _, j := range jobs {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-slots; wg.Done(); w.Wake() }()
					w.run(context.WithoutCancel(ctx), ctx, j)
				}()
			}
			if len(jobs) < free {
				break
			}
		}
		poll.Reset(w.Poll)
	}
}

// match runs one round of IOC matching; it reports whether there is more
// to do at once.
func (w *Worker) match(ctx context.Context) (more bool) {
	defer func() {
		if r := recover(); r != nil {
			w.Logger.Error("ioc matching panicked", "panic", r)
			more = false
		}
	}()
	st, err := w.IOC.MatchIOCs(ctx, 1000)
	if err != nil {
		w.logError("ioc matching", err)
		return false
	}
	if st.Hits > 0 {
		w.Logger.Info("ioc hits", "new", st.Hits, "indicators", st.Indicators, "checked", st.Checked)
	}
	if w.Observe != nil {
		w.Observe("ioc_match", "ok")
	}
	return st.More
}

// run runs one job. Store writes use base (never cancelled, so an outcome
// is always recorded); the send may be cut short by ctx at shutdown.
func (w *Worker) run(base, ctx context.Context, j *vigil.Job) {
	defer func() {
		if r := recover(); r != nil {
			w.Logger.Error("job panicked", "job", j.ID, "kind", j.Kind, "panic", r)
			w.Store.FailJob(base, w.ID, j, fmt.Errorf("internal error: %v", r), w.Now().Add(Backoff(j.Attempts)))
		}
	}()
	var result string
	switch j.Kind {
	case vigil.JobEvent:
		result = w.outcome(j, w.Store.ExpandEvent(base, w.ID, j), func(err error) error {
			return w.Store.FailJob(base, w.ID, j, err, w.Now().Add(Backoff(j.Attempts)))
		})
	case vigil.JobDeliver:
		result = w.deliver(base, ctx, j)
	case vigil.JobFeedPoll:
		var p struct {
			FeedID int64 `json:"feed_id"`
		}
		json.Unmarshal(j.Payload, &p)
		// The poller records its own failures on the feed and schedules
		// the next poll (with backoff); the job is done either way.
		if err := w.Feeds.Poll(ctx, p.FeedID); err != nil {
			w.Logger.Warn("feed poll failed", "feed", p.FeedID, "err", err)
			result = "failed"
		} else {
			result = "ok"
		}
		if err := w.Store.CompleteJob(base, w.ID, j); err != nil && !errors.Is(err, vigil.ErrLeaseLost) {
			w.Logger.Error("complete feed poll", "job", j.ID, "err", err)
		}
	case vigil.JobMailboxPoll:
		var p struct {
			MailboxID int64 `json:"mailbox_id"`
		}
		json.Unmarshal(j.Payload, &p)
		// As for feeds: the poller records its failures on the mailbox.
		if err := w.Mailboxes.Poll(ctx, p.MailboxID); err != nil {
			w.Logger.Warn("mailbox poll failed", "mailbox", p.MailboxID, "err", err)
			result = "failed"
		} else {
			result = "ok"
		}
		if err := w.Store.CompleteJob(base, w.ID, j); err != nil && !errors.Is(err, vigil.ErrLeaseLost) {
			w.Logger.Error("complete mailbox poll", "job", j.ID, "err", err)
		}
	default:
		w.Store.FailJob(base, w.ID, j, errors.New("unknown job kind"), time.Time{})
		result = "failed"
	}
	if w.Observe != nil {
		w.Observe(j.Kind, result)
	}
}

// logError logs a failed store call: at error level, but as a warning
// when the store is unavailable or its disk full, which the HTTP server's
// /readyz and the disk-full alert report already; a worker polling every
// second would otherwise log an error a second through an outage.
func (w *Worker) logError(msg string, err error, args ...any) {
	level := slog.LevelError
	if c := vigil.ErrorCode(err); c == vigil.EUNAVAILABLE || c == vigil.ESTORAGEFULL {
		level = slog.LevelWarn
	}
	w.Logger.Log(context.Background(), level, msg, append(args, "err", err)...)
}

// outcome names a job's result and reschedules it if it failed.
func (w *Worker) outcome(j *vigil.Job, err error, fail func(error) error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, vigil.ErrLeaseLost):
		w.Logger.Warn("job lease lost", "job", j.ID, "kind", j.Kind)
		return "lease_lost"
	}
	w.logError("job failed", err, "job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
	if ferr := fail(err); ferr != nil {
		w.logError("reschedule job", ferr, "job", j.ID)
	}
	return "retry"
}

func (w *Worker) deliver(base, ctx context.Context, j *vigil.Job) string {
	ob, err := w.Store.Outbound(base, j)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		w.Store.Delivered(base, w.ID, j, errors.New("the delivery or its channel was deleted"), time.Time{})
		return "failed"
	} else if err != nil {
		return w.outcome(j, err, func(err error) error {
			return w.Store.FailJob(base, w.ID, j, err, w.Now().Add(Backoff(j.Attempts)))
		})
	}
	if !ob.Channel.Enabled {
		err = errors.New("the channel is disabled")
	} else if ob.Delivery.Status == vigil.DeliverySent {
		err = nil // recorded as sent already (a retry queued by hand after all)
	} else {
		err = w.Sender.Send(ctx, ob)
	}
	var retryAt time.Time
	result := "ok"
	if err != nil {
		result = "retry"
		if notify.IsPermanent(err) || j.Attempts >= j.MaxAttempts {
			result = "failed"
		} else {
			retryAt = w.Now().Add(max(Backoff(j.Attempts), notify.RetryAfter(err)))
		}
		w.Logger.Warn("delivery failed", "delivery", ob.Delivery.ID, "channel", ob.Channel.Name, "attempt", j.Attempts, "err", err)
	}
	if derr := w.Store.Delivered(base, w.ID, j, err, retryAt); derr != nil {
		if errors.Is(derr, vigil.ErrLeaseLost) {
			return "lease_lost"
		}
		w.logError("record delivery", derr, "delivery", ob.Delivery.ID)
		return "retry"
	}
	return result
}
