package anchor

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
)

// Checkpointer signs the heads of the chains that moved since its last
// round and writes them to its sinks: at start, every Every, and once more
// when Run's context ends (shutdown).
//
// Before it signs a moved head it checks that the chain still holds the
// head it signed before. One that does not (its newest entries were
// deleted, or it was rewritten) is logged as an error at every round and
// not signed again, so that no later checkpoint vouches for the changed
// chain. Several instances on one database each write their checkpoints;
// the same head signed twice is harmless.
type Checkpointer struct {
	Anchors vigil.AnchorService // with an actor that may read the audit log in ctx
	Key     ed25519.PrivateKey
	Sinks   []Sink
	Every   time.Duration // 0: DefaultEvery
	Logger  *slog.Logger
	Now     func() time.Time // nil: time.Now

	mu     sync.Mutex
	signed map[vigil.Chain]vigil.ChainHead
}

// DefaultEvery is how often a Checkpointer runs unless told.
const DefaultEvery = time.Minute

// finalTimeout bounds the checkpoint at shutdown.
const finalTimeout = 10 * time.Second

// Seed tells c the heads signed before it started (LatestHeads of its
// file), so that its first round checks that the chains still hold them
// and writes only the heads that moved since.
func (c *Checkpointer) Seed(cps []*Checkpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.signed == nil {
		c.signed = map[vigil.Chain]vigil.ChainHead{}
	}
	for _, cp := range cps {
		if old, ok := c.signed[cp.Chain]; !ok || cp.Seq > old.Seq {
			c.signed[cp.Chain] = cp.ChainHead
		}
	}
}

// Run makes a checkpoint now, every Every, and when ctx ends; it returns
// after that last one.
func (c *Checkpointer) Run(ctx context.Context) {
	every := c.Every
	if every <= 0 {
		every = DefaultEvery
	}
	round := func(ctx context.Context) {
		if _, err := c.Checkpoint(ctx); err != nil {
			c.logger().Error("checkpoint of the audit and custody logs", "err", err)
		}
	}
	round(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			round(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalTimeout)
			round(final)
			cancel()
			return
		}
	}
}

func (c *Checkpointer) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Checkpoint runs one round: it signs the heads that moved and writes them
// to every sink. It returns the checkpoints written, and the sinks'
// errors; only when no sink took them are they signed again next round.
func (c *Checkpointer) Checkpoint(ctx context.Context) ([]*Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.signed == nil {
		c.signed = map[vigil.Chain]vigil.ChainHead{}
	}
	heads, err := c.Anchors.ChainHeads(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the chains' heads: %w", err)
	}
	var moved, before []vigil.ChainHead
	for _, h := range heads {
		old, ok := c.signed[h.Chain]
		if h.Seq == 0 || ok && old == h {
			continue
		}
		moved = append(moved, h)
		if ok {
			before = append(before, old)
		}
	}
	broken := map[vigil.Chain]bool{}
	if len(before) > 0 {
		problems, err := c.Anchors.CheckChainHeads(ctx, before)
		if err != nil {
			return nil, fmt.Errorf("check the chains against their last checkpoints: %w", err)
		}
		for _, p := range problems {
			broken[p.Head.Chain] = true
			c.logger().Error("a chain no longer holds the head signed in its last checkpoint: entries were removed or rewritten behind Vigil's back; it is not signed again until this is resolved (docs/operations.md)",
				"chain", p.Head.Chain.String(), "signed_seq", p.Head.Seq, "signed_head", p.Head.Hash, "problem", p.Problem)
		}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	at := now()
	var cps []*Checkpoint
	var lines []string
	for _, h := range moved {
		if !broken[h.Chain] {
			cp := Sign(c.Key, h, at)
			cps, lines = append(cps, cp), append(lines, cp.String())
		}
	}
	if len(cps) == 0 {
		return nil, nil
	}
	var errs []error
	for _, s := range c.Sinks {
		if err := s.Write(ctx, lines); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
	}
	if len(errs) == len(c.Sinks) {
		return nil, fmt.Errorf("no sink took the checkpoints: %w", errors.Join(errs...))
	}
	for _, cp := range cps {
		c.signed[cp.Chain] = cp.ChainHead
	}
	return cps, errors.Join(errs...)
}
