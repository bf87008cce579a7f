package sqlstore

import (
	"context"
	"time"

	"github.com/vigil-ir/vigil"
)

// ingestReq is one IngestAlerts call waiting for its batch.
type ingestReq struct {
	handoff
	ctx    context.Context
	in     *vigil.Integration
	alerts []*vigil.AlertInput
	res    *vigil.IngestResult
	done   chan error
}

// ingestBatcher merges concurrent intake calls into one write operation:
// one transaction (one group-commit operation on SQLite) for many requests,
// and the repeats of firing alerts among them in one UPDATE per integration.
// It runs one batch at a time; the next one gathers while it does.
type ingestBatcher struct {
	db    *DB
	queue chan *ingestReq
	stop  chan struct{}
	done  chan struct{}
	// repeats is about how many repeats were logged since the last fold
	// of the alert_repeats log, at folded.
	repeats int
	folded  time.Time
}

// maxIngestBatch bounds the alerts in one batch. A batch of fewer than
// ingestLingerBelow requests waits up to ingestLinger for more. The log of
// repeats is folded into the alerts every foldEvery, or sooner once it
// holds foldAt repeats: every read of an alert sums the log, so its size
// bounds what that costs (~2.5 ms at 5,000 rows, 9 ms at 24,000).
const (
	maxIngestBatch    = 4000
	ingestLingerBelow = 16
	ingestLinger      = 500 * time.Microsecond
	foldEvery         = time.Second
	foldAt            = 5000
)

func (db *DB) ingester() *ingestBatcher {
	db.ingestOnce.Do(func() {
		db.ingest = &ingestBatcher{db: db, queue: make(chan *ingestReq, 1024), stop: make(chan struct{}), done: make(chan struct{}),
			repeats: 1} // what an earlier process left, folded with the first batch
		go db.ingest.run()
	})
	return db.ingest
}

func (b *ingestBatcher) close() {
	close(b.stop)
	<-b.done
}

// submit queues r and waits for its outcome. Once taken, the request is
// written or refused as a whole; a caller whose context ends first
// withdraws it (see handoff.await).
func (b *ingestBatcher) submit(r *ingestReq) error {
	select {
	case b.queue <- r:
	case <-r.ctx.Done():
		return notRun(r.ctx.Err())
	case <-b.stop:
		return errClosed
	}
	return r.await(r.ctx, r.done, b.done)
}

func (b *ingestBatcher) run() {
	defer close(b.done)
	idle := time.NewTimer(foldEvery)
	defer idle.Stop()
	for {
		var first *ingestReq
		idle.Reset(foldEvery)
		select {
		case first = <-b.queue:
			if !first.take() {
				continue // withdrawn by its caller
			}
		case <-idle.C:
			// Quiet: fold what the last batches logged.
			if b.repeats > 0 {
				b.fold()
			}
			continue
		case <-b.stop:
			for {
				select {
				case r := <-b.queue:
					r.done <- errClosed
				default:
					return
				}
			}
		}
		batch, n := []*ingestReq{first}, len(first.alerts)
		// Gather what is queued; when that is little, linger a moment for
		// more, as a storm of small requests arrives just behind: one
		// commit for many requests is what keeps up with it.
		linger := time.NewTimer(ingestLinger)
	fill:
		for n < maxIngestBatch {
			select {
			case r := <-b.queue:
				if r.take() {
					batch, n = append(batch, r), n+len(r.alerts)
				}
				continue
			default:
			}
			if len(batch) >= ingestLingerBelow {
				break fill
			}
			select {
			case r := <-b.queue:
				if r.take() {
					batch, n = append(batch, r), n+len(r.alerts)
				}
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		live := batch[:0:0]
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				r.done <- err
			} else {
				live = append(live, r)
			}
		}
		if len(live) == 0 {
			continue
		}
		ctx, cancel := batchContext(live)
		err := b.db.write(ctx, func(tx *Tx) error { return tx.ingestBatch(live) })
		if c := vigil.ErrorCode(err); c == vigil.EUNAVAILABLE || c == vigil.ESTORAGEFULL {
			// The database's fault, not a request's: writing each
			// request alone would fail alike, or write twice what may
			// have been applied.
			b.repeats++ // it may have logged some: fold soon
			for _, r := range live {
				r.done <- err
			}
		} else if err != nil && (len(live) > 1 || c == vigil.ECONFLICT) {
			// One request's failure must not fail the others: the batch
			// rolled back whole, so write each request on its own.
			for _, r := range live {
				err := b.writeAlone(ctx, r)
				if err == nil {
					b.repeats += r.res.Repeated // before the caller has it
				}
				r.done <- err
			}
		} else {
			for _, r := range live {
				if err == nil {
					b.repeats += r.res.Repeated // before the caller has it
				}
				r.done <- err
			}
		}
		cancel()
		if b.repeats > 0 && (b.repeats >= foldAt || time.Since(b.folded) >= foldEvery) {
			b.fold()
		}
	}
}

// batchContext is the context of a batch's write: the intake's actor, and
// the latest deadline of its requests (none if one has none), so that a
// batch is not given up while a caller still waits for it.
func batchContext(live []*ingestReq) (context.Context, context.CancelFunc) {
	ctx := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("intake"))
	var latest time.Time
	for _, r := range live {
		d, ok := r.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}

// fold adds the alert_repeats log to the alerts. If it fails, nothing is
// lost: reads still add the log, and the next fold takes it up.
func (b *ingestBatcher) fold() {
	var err error
	defer b.db.op("alert.fold")(&err)
	ctx := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("intake"))
	err = b.db.write(ctx, func(tx *Tx) error { return tx.foldRepeats() })
	b.folded = time.Now()
	if err == nil {
		b.repeats = 0
	}
}

// writeAlone writes one request in a transaction of its own. A conflict
// (another instance on the same PostgreSQL database raised the same new
// alert in the same instant) is tried again, as the alert is then a
// repeat; so a tool is not told to give up on notifications that would
// store fine (Alertmanager does not retry a 4xx).
func (b *ingestBatcher) writeAlone(ctx context.Context, r *ingestReq) error {
	var err error
	for range 3 {
		err = b.db.write(ctx, func(tx *Tx) error { return tx.ingestBatch([]*ingestReq{r}) })
		if vigil.ErrorCode(err) != vigil.ECONFLICT {
			return err
		}
	}
	return err
}
