// Package sqlite is Vigil's embedded store: SQLite through the pure-Go
// modernc.org/sqlite driver, in one file in the data folder. It opens the
// database, runs the embedded migrations, and hands the SQL to the shared
// implementation in internal/sqlstore with the SQLite dialect.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pressly/goose/v3"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/internal/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migrations, for the test that keeps the
// two stores' versions in step.
func Migrations() embed.FS { return migrations }

// FileName is the database file inside the data folder.
const FileName = "vigil.db"

// DB is an open SQLite store.
type DB struct {
	*sqlstore.DB
	Path string
	ckpt *checkpointer
}

// Close stops the checkpoints and closes the store.
func (db *DB) Close() error {
	var err error
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	return errors.Join(db.DB.Close(), err)
}

// Dialect is the SQLite dialect of the shared store.
var Dialect = &sqlstore.Dialect{
	Name: "sqlite",
	// A reader's page cache is freed after writes (see sqlstore.DB.beginRead).
	ReaderReset: "PRAGMA shrink_memory",
	TimeAsText:  true,
	FormatError: formatError,
	Search:      sqlstore.FTS5{},
	// One writer: group its transactions, and keep statements prepared.
	GroupCommit:     true,
	BeginGroup:      "BEGIN IMMEDIATE", // the write lock now, not at the first write
	MaxGroup:        64,
	CacheStatements: true,
	BeforeGroupCommit: []string{
		// An FTS5 insert whose first column is NULL is a plain insert;
		// 'delete' removes the row's old text.
		`INSERT INTO search_fts (search_fts, rowid, body)
			SELECT CASE op WHEN 'd' THEN 'delete' END, doc_id, body FROM search_queue ORDER BY seq`,
		// Not a bare DELETE: SQLite empties a table by truncating it,
		// which writes its root page even when the table is empty, a
		// WAL frame in every group that changed no search document.
		`DELETE FROM search_queue WHERE seq > 0`,
	},
	FoldRepeats: []string{
		`UPDATE alerts SET count = alerts.count + r.n, last_seen = CASE WHEN r.last_seen > alerts.last_seen THEN r.last_seen ELSE alerts.last_seen END
			FROM (SELECT alert_id, SUM(n) AS n, MAX(last_seen) AS last_seen FROM alert_repeats GROUP BY alert_id) AS r
			WHERE alerts.id = r.alert_id`,
		`DELETE FROM alert_repeats WHERE seq > 0`,
	},
	AfterBulkLoad: []string{
		`INSERT INTO search_fts (search_fts) VALUES ('optimize')`,
		`ANALYZE`,
	},
}

// formatError maps typed SQLite errors to Vigil's codes: constraint
// violations, and the faults (a full disk; a statement interrupted by its
// deadline; a lock another process held past busy_timeout).
func formatError(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return vigil.Errorf(vigil.ECONFLICT, "That already exists.")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return vigil.Errorf(vigil.EINVALID, "That refers to something that does not exist.")
		}
		// The primary code (the low byte) of an extended one.
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return sqlstore.StorageFull(err)
		case sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return sqlstore.Unavailable(err)
		}
	}
	return err
}

// dsn builds a connection string. busy_timeout comes first so that the
// other pragmas wait for a lock instead of failing; WAL lets readers run
// beside the writer; synchronous=NORMAL in WAL mode keeps every committed
// transaction across a process crash and costs no fsync per commit (an OS
// crash or power cut can lose the last commits, never corrupt the file).
// The writer makes no checkpoints of its own: they run beside it (see
// checkpoint.go).
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-16000)") // 16 MB per connection
	// Temporary tables, sort spills and the savepoint sub-journals of group
	// commit stay in memory instead of costing a write syscall per page.
	q.Add("_pragma", "temp_store(MEMORY)")
	if write {
		// Write transactions take the lock at BEGIN, so they queue on
		// busy_timeout instead of failing when they later try to write.
		q.Set("_txlock", "immediate")
		q.Add("_pragma", "wal_autocheckpoint(0)")
		// A WAL started over is cut back to this size (128 MiB) too.
		q.Add("_pragma", "journal_size_limit(134217728)")
	} else {
		q.Add("_pragma", "query_only(1)")
		// Readers map the file instead of copying its pages into their
		// caches. A reader's cache is emptied whenever another connection
		// commits, so under any steady trickle of writes every read used to
		// start cold: each page read with a system call into a newly
		// allocated buffer, then freed again, which the C-to-Go allocator
		// turns into an madvise call per page. Searches on 100,000
		// incidents cost 130–300 ms of CPU each at 8 clients; mapped,
		// 5–15 ms (docs/benchmarks.md, "Search under concurrency"). The
		// mapped pages are the kernel's file cache, shared and reclaimable,
		// not the process's own memory. Pages past the first 2 GiB (and
		// pages still in the WAL) are read as before.
		q.Add("_pragma", "mmap_size(2147483648)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// One writer: SQLite serialises writes anyway, and waiting in Go's pool
	// is cheaper and fairer than SQLITE_BUSY retries.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{DB: sqlstore.New(w, r, Dialect), Path: path}
	db.DataDir = filepath.Dir(path) // probed during a disk-full episode
	restart := func(ctx context.Context) (busy bool, err error) {
		err = db.DB.BetweenWrites(ctx, func(ctx context.Context, conn *sql.Conn) error {
			busy, err = restartWAL(ctx, conn)
			return err
		})
		return busy, err
	}
	if db.ckpt, err = startCheckpointer(path, restart); err != nil {
		db.DB.Close()
		return nil, err
	}
	if err := db.FillScopeKeys(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// ownerOnly creates the database file owner-only (0600) if it is missing,
// and takes group and other access away from the database and its -wal
// and -shm files if an older Vigil left them open (0644). SQLite creates
// the -wal and -shm files with the database file's mode, so a database
// made 0600 keeps its WAL private too, whatever the umask.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make %s owner-only: %w", p, err)
			}
		}
	}
	return nil
}

// migrate runs the embedded migrations.
func migrate(ctx context.Context, db *sql.DB) error {
	p, err := Provider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Provider returns the goose migration provider for db.
func Provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Backup writes a consistent copy of the live database to dst with VACUUM
// INTO: it reads one snapshot while writers carry on, and the copy is a
// compacted, self-contained database file.
func (db *DB) Backup(ctx context.Context, dst string) error {
	// VACUUM INTO writes into an empty file as into a new one; made here,
	// the copy is owner-only like the database (SQLite would make it 0644).
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup: %s already exists", dst)
	} else if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// A connection of its own: the read pool is query_only, and the write
	// connection must stay free for the writers that carry on meanwhile.
	c, err := sql.Open("sqlite", "file:"+db.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		os.Remove(dst)
		return fmt.Errorf("vacuum into: %w", err)
	}
	return nil
}
