// Package ratelimit limits events per key in a sliding window, in memory.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows n events per window per key, in memory. Each
// instance limits on its own; that is enough to slow a guesser down.
type Limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	hits   map[string][]time.Time
}

// New returns a limiter of n events per window per key.
func New(n int, window time.Duration) *Limiter {
	return &Limiter{n: n, window: window, hits: map[string][]time.Time{}}
}

// Allow records an event for key at now and reports whether it is within
// the limit, and if not, how long until it would be.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := now.Add(-l.window)
	hits := l.hits[key]
	i := 0
	for i < len(hits) && hits[i].Before(cut) {
		i++
	}
	hits = hits[i:]
	if len(hits) >= l.n {
		l.hits[key] = hits
		return false, hits[0].Sub(cut)
	}
	l.hits[key] = append(hits, now)
	if len(l.hits) > 10000 { // bound memory under a spray of addresses
		for k, v := range l.hits {
			if len(v) == 0 || v[len(v)-1].Before(cut) {
				delete(l.hits, k)
			}
		}
	}
	return true, 0
}
