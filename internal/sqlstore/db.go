// Package sqlstore implements Vigil's services on database/sql. It is the one
// implementation behind both stores: package sqlite and package postgres each
// open their database, run their own migrations and hand this package a
// Dialect with the few things that differ (placeholders, time encoding,
// full-text search SQL and driver error codes). The storetest suite runs
// against both, so a behaviour cannot exist in one and not the other.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ir/vigil"
)

// Dialect is what differs between the SQL engines.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// ReaderReset, if set, runs on a read connection before its first
	// transaction after a write has committed (see DB.beginRead).
	ReaderReset string
	// Numbered rewrites ? placeholders to $1, $2, … (PostgreSQL).
	Numbered bool
	// TimeAsText stores times as fixed-precision RFC 3339 text (SQLite);
	// otherwise they are passed as time.Time (PostgreSQL timestamptz).
	TimeAsText bool
	// ForUpdate is appended to SELECTs that read a row about to be changed,
	// to lock it ("" for SQLite, whose write transactions are exclusive).
	ForUpdate string
	// SkipLocked is appended to the SELECT that claims jobs, so workers
	// claiming at once take different rows ("" for SQLite: one writer).
	SkipLocked string
	// CommitLag is how long a write transaction may take, at most in
	// practice: rows stamped earlier than that are committed, so a cursor
	// over ids may read past them (PostgreSQL, whose concurrent
	// transactions commit ids out of order; 0 for SQLite, one writer).
	CommitLag time.Duration
	// FormatError maps typed driver errors to *vigil.Error (unique
	// violation to ECONFLICT, …) and leaves other errors alone.
	FormatError func(error) error
	// Search builds the full-text search queries (see search.go).
	Search SearchDialect
	// AfterBulkLoad runs after Seed: statistics for the planner, and
	// identity sequences moved past the IDs the loader chose.
	AfterBulkLoad []string
	// GroupCommit runs writes through one goroutine in grouped
	// transactions; otherwise each write is a transaction of its own.
	GroupCommit bool
	// BeginGroup starts a group's transaction ("BEGIN IMMEDIATE" on
	// SQLite, to take the write lock at once).
	BeginGroup string
	// MaxGroup bounds the operations (savepoints) in one group.
	MaxGroup int
	// CacheStatements keeps prepared statements per query string
	// (SQLite; pgx caches its own).
	CacheStatements bool
	// BeforeGroupCommit runs at the end of each group, before COMMIT, in
	// the group's transaction (SQLite: apply the search queue to FTS5).
	BeforeGroupCommit []string
	// FoldRepeats add the alert_repeats log to the alerts and empty it,
	// in one transaction (see foldRepeats).
	FoldRepeats []string
	// LazyCommit, when set, runs before COMMIT in a group whose every
	// operation allows it (vigil.DurableLater): PostgreSQL's
	// synchronous_commit=off, so the commit does not wait for the log's
	// flush. SQLite needs none: its commits do not wait for the disk.
	LazyCommit string
	// GroupDeadline runs each group under a deadline (see
	// groupCommitter.groupContext), so that a connection that stopped
	// answering is given up (PostgreSQL). SQLite's connection is a file
	// on this machine, and its driver watches a cancellable context with
	// a goroutine per statement, which halved the size of groups under
	// load (TestGroupsGrowWhenSaturated): its groups run without one.
	GroupDeadline bool
	// WriterSession runs on the group committer's connection each time it
	// connects (PostgreSQL: end a transaction whose client stopped
	// answering, so that its locks do not hold every instance's writes).
	WriterSession []string
	// CopyRows, if set, loads rows into a table on conn, inside the
	// transaction open on it, faster than INSERT (PostgreSQL's COPY).
	CopyRows func(ctx context.Context, conn *sql.Conn, table string, cols []string, rows [][]any) error
}

// DB is an open store. Writes go through Write, which for SQLite holds one
// connection (SQLite has one writer at a time; queueing in Go is cheaper
// than busy-waiting in SQLite); reads go through Read.
type DB struct {
	Write *sql.DB
	Read  *sql.DB
	d     *Dialect

	// Now is the clock, injectable for tests. Times are truncated to the
	// microsecond, the precision both engines keep.
	Now func() time.Time
	// Observe, if set, is called after every store operation with its name,
	// duration and error, for metrics.
	Observe func(op string, d time.Duration, err error)
	// ObserveGroup, if set, is called after each group commit with the
	// operations it ran and how many committed.
	ObserveGroup func(ops, committed int)
	// ObserveReaderReset, if set, is called each time a read connection
	// runs the dialect's ReaderReset.
	ObserveReaderReset func()
	// RerunWrites, for tests, runs every write function, rolls it back
	// and runs it again, as a group commit does when another write of the
	// group fails: a write that depends on running once shows up in any
	// test that uses it.
	RerunWrites bool
	// Secrets seals the secrets stored in the database (see db_secrets.go);
	// nil stores them as given.
	Secrets *SecretBox
	// Blobs keeps the evidence files; nil refuses evidence.
	Blobs vigil.BlobStore
	// MaxEvidenceBytes bounds one evidence file (0: the default).
	MaxEvidenceBytes int64
	// OutboundAllow lists the internal destinations that channels and
	// feeds may name (vigil.Channel.CheckDestination); the zero value
	// refuses them all.
	OutboundAllow vigil.OutboundAllow
	// WriteTimeout bounds a group of writes none of whose callers set a
	// deadline (workers, commands); 0 leaves such a group unbounded. A
	// group with callers that did runs until the latest of their
	// deadlines. Past it the group is rolled back and its connection
	// given up, so that one that stopped answering does not hold every
	// write (see groupCommitter.groupContext).
	WriteTimeout time.Duration
	// DataDir is the folder of the database files, probed during a
	// disk-full episode (SQLite); "" when the database is elsewhere.
	DataDir string
	// OnStorage, if set, is called when a volume's disk fills up (full,
	// with the error that showed it) and when the volume takes writes
	// again (see db_storage.go): for the log and the metrics.
	OnStorage func(volume string, full bool, err error)

	rebound sync.Map // query string -> numbered query string
	group   *groupCommitter

	// stixAdded counts STIX objects added by this process, and
	// stixAnalyzeAt is when statistics are next refreshed (PostgreSQL).
	stixAdded, stixAnalyzeAt atomic.Int64

	// writeGen counts commits; readerGen holds, for each read connection
	// (by its driver connection), the count it last began a read at.
	writeGen  atomic.Uint64
	readerGen sync.Map

	ingestOnce sync.Once
	ingest     *ingestBatcher

	dutyMu  sync.Mutex
	dutyCfg map[int64]*dutyConfig // by organisation; see Tx.dutyConfigFor

	storage storageWatch
}

// New returns a DB on open handles. read may be the same as write.
func New(write, read *sql.DB, d *Dialect) *DB {
	db := &DB{Write: write, Read: read, d: d, Now: time.Now}
	if d.GroupCommit {
		db.group = newGroupCommitter(db)
	}
	return db
}

// Dialect returns the dialect the DB was opened with.
func (db *DB) Dialect() *Dialect { return db.d }

// Services returns every service on this store.
func (db *DB) Services() vigil.Services {
	return vigil.Services{
		Incidents:    &IncidentService{db: db},
		Timeline:     &TimelineService{db: db},
		Tasks:        &TaskService{db: db},
		Comments:     &CommentService{db: db},
		Observables:  &ObservableService{db: db},
		Links:        &LinkService{db: db},
		Members:      &MemberService{db: db},
		Search:       &SearchService{db: db},
		Users:        &UserService{db: db},
		Auth:         &AuthService{db: db},
		MFA:          &MFAService{db: db},
		Audit:        &AuditService{db: db},
		Anchors:      &AnchorService{db: db},
		Reports:      &ReportService{db: db},
		Integrations: &IntegrationService{db: db},
		Alerts:       &AlertService{db: db},
		Views:        &ViewService{db: db},
		Duties:       &DutyService{db: db},
		Contacts:     &ContactService{db: db},
		Notify:       &NotificationService{db: db},
		Worker:       &WorkerService{db: db},
		Sharing:      &SharingService{db: db},
		Feeds:        &FeedService{db: db},
		Mailboxes:    &MailboxService{db: db},
		IOC:          &IOCService{db: db},
		Evidence:     &EvidenceService{db: db},
		Plans:        &PlanService{db: db},
		Reviews:      &ReviewService{db: db},
		Recovery:     &RecoveryService{db: db},
		Exercises:    &ExerciseService{db: db},
		Metrics:      &MetricsService{db: db},
		Orgs:         &OrganisationService{db: db},
		Advisories:   &AdvisoryService{db: db},
		Idempotency:  &IdempotencyService{db: db},
		OIDC:         &OIDCService{db: db},
	}
}

// Ping checks that the store answers reads and writes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Read.PingContext(ctx); err != nil {
		return err
	}
	if db.group != nil {
		// The committer owns the write connection: ask it for an empty write.
		return db.group.do(ctx, func(*Tx) error { return nil })
	}
	return db.Write.PingContext(ctx)
}

// Close finishes queued writes and closes both handles.
func (db *DB) Close() error {
	db.ingestOnce.Do(func() {}) // no batcher starts after this
	if db.ingest != nil {
		db.ingest.close()
	}
	if db.group != nil {
		db.group.close()
	}
	db.closeStorage()
	err := db.Write.Close()
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	return err
}

// querier is what a transaction runs statements on: a *sql.Tx, or the
// group committer's *sql.Conn inside its BEGIN … COMMIT.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Tx is a transaction with the request's actor, its visibility and one
// clock reading, so every row it writes carries the same time.
type Tx struct {
	q      querier
	sqlTx  *sql.Tx    // nil inside a group commit
	conn   *sql.Conn  // the read connection to give back, with ReaderReset
	stmts  *stmtCache // prepared statements on the group committer's connection
	head   *auditHead // the audit chain head, inside a group commit
	db     *DB
	now    time.Time
	actor  *vigil.Actor
	vis    vigil.Visibility
	ctx    context.Context
	audits []*vigil.AuditEvent
	write  bool
	// required are the organisation-scoped permissions a write required;
	// orgsTouched the organisations of the incidents it loaded, and
	// whether each is suspended.
	required    []vigil.Permission
	orgsTouched map[int64]orgState
	// dutyUncached reads the duty profile and packs from this transaction
	// (it is changing them) instead of the cache.
	dutyUncached bool
}

// begin starts a transaction; write selects the write handle.
func (db *DB) begin(ctx context.Context, write bool) (*Tx, error) {
	h := db.Read
	var opts *sql.TxOptions
	if write {
		h = db.Write
	} else if db.d.ReaderReset != "" {
		return db.beginRead(ctx)
	} else if db.d.Name == "postgres" {
		// A read-only snapshot: list and count see the same data.
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := h.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return db.newTx(ctx, tx, write), nil
}

// beginRead begins a read transaction on a connection of its own, first
// running the dialect's ReaderReset on it if a write has committed since
// that connection last began one. On SQLite it frees the connection's page
// cache. SQLite discards those pages at this transaction's start anyway, as
// the database changed; yet a reader that had filled its cache before a
// burst of writes ran lists and searches 5–8 times slower after it than a
// new connection, reading most of their pages from the file again at every
// query (~80 MB for a list of 26 incidents, against 5 MB once for a new
// connection), and stayed so; PRAGMA shrink_memory on it, or a new
// connection, ended it (docs/benchmarks.md, "Reader caches"). Why SQLite's
// own discard does not is not known.
func (db *DB) beginRead(ctx context.Context) (*Tx, error) {
	conn, err := db.Read.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	gen, stale := db.writeGen.Load(), false
	conn.Raw(func(dc any) error {
		last, seen := db.readerGen.Swap(dc, gen)
		stale = seen && last.(uint64) != gen
		return nil
	})
	if stale {
		if _, err := conn.ExecContext(ctx, db.d.ReaderReset); err != nil {
			conn.Close()
			return nil, fmt.Errorf("reset reader: %w", err)
		}
		if db.ObserveReaderReset != nil {
			db.ObserveReaderReset()
		}
	}
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin: %w", err)
	}
	tx := db.newTx(ctx, sqlTx, false)
	tx.conn = conn
	return tx, nil
}

// op times a store operation for Observe: defer db.op("incident.create")(&err).
func (db *DB) op(name string) func(*error) {
	if db.Observe == nil {
		return func(*error) {}
	}
	start := time.Now()
	return func(err *error) { db.Observe(name, time.Since(start), *err) }
}

// read runs fn in a read transaction.
func (db *DB) read(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.begin(ctx, false)
	if err != nil {
		return db.formatError(err)
	}
	if tx.conn != nil {
		defer tx.conn.Close() // after the rollback below
	}
	defer tx.sqlTx.Rollback()
	if err := fn(tx); err != nil {
		return db.formatError(err)
	}
	return db.formatError(tx.sqlTx.Commit())
}

// write runs fn in a write transaction and commits it with its audit
// events; with group commit, in a savepoint of a shared transaction.
//
// fn may run more than once: when another write of its group fails, the
// group is rolled back and run again (see runGroup), and RerunWrites runs
// every write twice. So fn must not depend on running once; a write that
// returns something uses writeV, which keeps only the committed run's value.
//
// A write made for a request holding an Idempotency-Key (ctx carries its
// vigil.IdempotencyClaim) marks the key as applied in the same
// transaction, after fn (see markIdempotencyKey).
func (db *DB) write(ctx context.Context, fn func(tx *Tx) error) error {
	if c := claimOf(ctx); c != nil {
		fn = guarded(c, fn)
	}
	if db.group != nil {
		return db.formatError(db.group.do(ctx, fn))
	}
	if db.RerunWrites {
		// A first run, rolled back, as if its group had failed.
		tx, err := db.begin(ctx, true)
		if err != nil {
			return db.formatError(err)
		}
		fn(tx)
		if err := tx.sqlTx.Rollback(); err != nil {
			return db.formatError(err)
		}
	}
	tx, err := db.begin(ctx, true)
	if err != nil {
		return db.formatError(err)
	}
	defer tx.sqlTx.Rollback()
	if err := fn(tx); err != nil {
		return db.formatError(err)
	}
	if err := tx.commit(); err != nil {
		return db.formatError(err)
	}
	db.noteCommitted()
	return nil
}

// writeV is write for a function that returns a value: the value of the
// run that committed (River's WithTxV). Building the result inside fn and
// returning it, rather than appending to a variable outside it, is what
// keeps a write that runs twice from answering with both runs' results.
func writeV[T any](ctx context.Context, db *DB, fn func(tx *Tx) (T, error)) (T, error) {
	var v T
	err := db.write(ctx, func(tx *Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// formatError maps err to a *vigil.Error where it can: the dialect's
// driver errors first, then the faults every engine shares (see
// classifyFault). A full disk starts a disk-full episode.
func (db *DB) formatError(err error) error {
	if err == nil {
		return nil
	}
	var e *vigil.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.Errorf(vigil.ENOTFOUND, "Not found.")
	}
	if db.d.FormatError != nil {
		err = db.d.FormatError(err)
	}
	if !errors.As(err, &e) {
		err = classifyFault(err)
	}
	if vigil.ErrorCode(err) == vigil.ESTORAGEFULL {
		db.noteFull(VolumeDatabase, err)
	}
	return err
}

// commit appends the transaction's audit events to the chain, then commits.
func (tx *Tx) commit() error {
	if err := tx.flushAudit(); err != nil {
		return err
	}
	if err := tx.sqlTx.Commit(); err != nil {
		err = fmt.Errorf("commit: %w", err)
		if vigil.ErrorCode(tx.db.formatError(err)) == vigil.EUNAVAILABLE {
			// The connection failed with COMMIT sent: it may have
			// committed or not.
			return mayHaveCommitted(err)
		}
		return err
	}
	tx.db.writeGen.Add(1)
	return nil
}

// require checks a permission of the transaction's actor. A permission
// held per organisation (the work on incidents) is also kept: from then
// on a write transaction sees only the incidents of organisations where
// the actor holds it (visible), and an incident it already loaded must
// belong to one (checkIncidentOrg). A responder in one organisation who
// is a viewer in another may read the second one's incidents but change
// only the first one's.
func (tx *Tx) require(p vigil.Permission) error {
	if err := vigil.Require(tx.actor, p); err != nil {
		return err
	}
	if !tx.write || !vigil.OrgScoped(p) || slices.Contains(tx.required, p) {
		return nil
	}
	tx.required = append(tx.required, p)
	for org := range tx.orgsTouched {
		if tx.vis.All {
			break
		}
		if err := vigil.RequireIn(tx.actor, org, p); err != nil {
			return err
		}
	}
	return nil
}

// actorID returns the actor's user ID, or nil for the system.
func (tx *Tx) actorID() *int64 {
	if tx.actor == nil || tx.actor.UserID == 0 {
		return nil
	}
	id := tx.actor.UserID
	return &id
}

// actorName returns the name recorded for the actor.
func (tx *Tx) actorName() string {
	if tx.actor == nil {
		return "anonymous"
	}
	if tx.actor.Name != "" {
		return tx.actor.Name
	}
	return tx.actor.Username
}

// Exec runs one statement with ? placeholders as a write of its own,
// outside the services: for maintenance and for tests that play an
// attacker with database access.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (res sql.Result, err error) {
	err = db.write(ctx, func(tx *Tx) error {
		var err error // its own: the caller may have stopped waiting (a deadline)
		res, err = tx.q.ExecContext(tx.ctx, db.rebind(q), db.args(args)...)
		return err
	})
	return res, err
}

// QueryRow reads one row with ? placeholders straight from the database,
// outside the services: for tests that look at what is stored as an
// attacker with a copy of the database would.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.Read.QueryRowContext(ctx, db.rebind(q), db.args(args)...)
}

// SchemaVersion returns the newest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.Read.QueryRowContext(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version`).Scan(&v)
	return v, err
}
