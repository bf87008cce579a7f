package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ir/vigil"
)

// Disk-full episodes. A write that fails because a disk is full
// (ESTORAGEFULL) starts an episode for its volume: "database" (the SQLite
// files, or PostgreSQL's own disk) or "evidence" (the blob folder). While
// one lasts, Ready fails, so that /readyz answers 503 and a load balancer
// sends users to an instance that can write; reads go on as before. The
// episode ends by itself: every ProbeEvery the store writes ProbeBytes to
// a file in the volume's folder, syncs and removes it, and once that works
// the volume takes writes again. PostgreSQL's disk is not ours to probe;
// its episode ends at the next write that commits.

// Volumes.
const (
	VolumeDatabase = "database"
	VolumeEvidence = "evidence"
)

// Probe settings: a probe that fits is taken as room to write again. A
// megabyte is more than a burst of small writes needs, and little enough
// to write every second on a disk that is full.
var (
	ProbeBytes = 1 << 20
	ProbeEvery = time.Second
)

// storageWatch tracks disk-full episodes by volume.
type storageWatch struct {
	any     atomic.Bool // some volume is full: the commit path checks this alone
	mu      sync.Mutex
	full    map[string]*episode
	probing bool
	stop    chan struct{} // closed by DB.Close: the prober ends
	once    sync.Once
}

// episode is one volume's disk-full episode.
type episode struct {
	since time.Time
	err   error
	dir   string // the folder to probe; "" ends the episode at the next commit
}

func (w *storageWatch) init() {
	w.once.Do(func() {
		w.full = map[string]*episode{}
		w.stop = make(chan struct{})
	})
}

// noteFull starts an episode for volume, unless one is going on, and
// starts the prober if the volume has a folder to probe.
func (db *DB) noteFull(volume string, err error) {
	w := &db.storage
	w.init()
	w.mu.Lock()
	if _, ok := w.full[volume]; ok {
		w.mu.Unlock()
		return
	}
	e := &episode{since: time.Now(), err: err, dir: db.volumeDir(volume)}
	w.full[volume] = e
	w.any.Store(true)
	probe := e.dir != "" && !w.probing
	if probe {
		w.probing = true
	}
	w.mu.Unlock()
	if db.OnStorage != nil {
		db.OnStorage(volume, true, err)
	}
	if probe {
		go db.probeStorage()
	}
}

// volumeDir is the folder to probe for volume, "" if there is none.
func (db *DB) volumeDir(volume string) string {
	switch volume {
	case VolumeDatabase:
		return db.DataDir
	case VolumeEvidence:
		if r, ok := db.Blobs.(interface{ Root() string }); ok {
			return r.Root()
		}
	}
	return ""
}

// noteCommitted ends an episode without a folder to probe (PostgreSQL's
// disk): a write has just committed.
func (db *DB) noteCommitted() {
	w := &db.storage
	if !w.any.Load() {
		return
	}
	db.endEpisodes(func(e *episode) bool { return e.dir == "" })
}

// endEpisodes ends the episodes for which done says so.
func (db *DB) endEpisodes(done func(*episode) bool) {
	w := &db.storage
	var ended []string
	w.mu.Lock()
	for v, e := range w.full {
		if done(e) {
			delete(w.full, v)
			ended = append(ended, v)
		}
	}
	w.any.Store(len(w.full) > 0)
	w.mu.Unlock()
	if db.OnStorage != nil {
		for _, v := range ended {
			db.OnStorage(v, false, nil)
		}
	}
}

// probeStorage probes the full volumes' folders every ProbeEvery until
// none is left or the store closes.
func (db *DB) probeStorage() {
	w := &db.storage
	t := time.NewTicker(ProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		db.endEpisodes(func(e *episode) bool { return e.dir != "" && probeDir(e.dir) == nil })
		w.mu.Lock()
		left := false
		for _, e := range w.full {
			left = left || e.dir != ""
		}
		if !left {
			w.probing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// probeDir writes ProbeBytes to a new file in dir, syncs and removes it.
// The bytes are random, so that a file system that compresses cannot
// store them in less room than they take.
func probeDir(dir string) error {
	f, err := os.CreateTemp(dir, ".vigil-space-probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 64<<10)
	r := rand.NewChaCha8([32]byte{byte(time.Now().UnixNano())})
	for n := 0; n < ProbeBytes; n += len(buf) {
		r.Read(buf)
		if _, err := f.Write(buf[:min(len(buf), ProbeBytes-n)]); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// StorageErr returns an ESTORAGEFULL error naming the volumes whose disk
// is full, or nil.
func (db *DB) StorageErr() error {
	w := &db.storage
	if !w.any.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var names []string
	var cause error
	for v, e := range w.full {
		names = append(names, fmt.Sprintf("%s (since %s)", v, e.since.UTC().Format(time.RFC3339)))
		cause = errors.Join(cause, e.err)
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return vigil.Wrap(cause, vigil.ESTORAGEFULL, "Disk full: "+strings.Join(names, ", ")+".")
}

// Ready reports whether the store can serve: it answers a read and a
// write, and no disk it writes to is full.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return db.formatError(err)
	}
	return db.StorageErr()
}

// closeStorage stops the prober.
func (db *DB) closeStorage() {
	w := &db.storage
	w.init()
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}
