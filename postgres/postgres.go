// Package postgres is Vigil's production store: PostgreSQL through pgx, for
// several Vigil instances behind a load balancer on one database. It opens
// the database, runs the embedded migrations under a session lock (so that
// instances starting together migrate once), and hands the SQL to the
// shared implementation in internal/sqlstore with the PostgreSQL dialect.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migrations.
func Migrations() embed.FS { return migrations }

// DB is an open PostgreSQL store.
type DB struct {
	*sqlstore.DB
	URL string
}

// Dialect is the PostgreSQL dialect of the shared store.
var Dialect = &sqlstore.Dialect{
	Name:        "postgres",
	Numbered:    true,
	ForUpdate:   " FOR UPDATE",
	SkipLocked:  " FOR UPDATE SKIP LOCKED",
	CommitLag:   10 * time.Second,
	FormatError: formatError,
	Search:      sqlstore.TSVector{},
	// Group commit here too: the audit chain makes writes take turns at
	// its head, and one WAL flush per group instead of per write is what
	// lets them. Groups stay under the 64 subtransactions a backend caches.
	GroupCommit:   true,
	MaxGroup:      32,
	GroupDeadline: true,
	CopyRows:      copyRows,
	LazyCommit:    `SET LOCAL synchronous_commit = off`,
	// The group committer's session: a transaction of ours left idle,
	// its client frozen or cut off, ends after writerIdleTimeout, which
	// frees the audit chain's head for the other instances' writes; and
	// where the server can (14 and later), a statement whose client went
	// away is stopped within seconds instead of running on.
	WriterSession: []string{
		`SET idle_in_transaction_session_timeout = '` + writerIdleTimeout + `'`,
		`SELECT set_config('client_connection_check_interval', '5s', false) WHERE current_setting('server_version_num')::int >= 140000`,
	},
	// One statement: what it deletes is what it adds, so instances that
	// fold at once never add a repeat twice.
	FoldRepeats: []string{
		`WITH d AS (DELETE FROM alert_repeats RETURNING alert_id, n, last_seen),
			r AS (SELECT alert_id, SUM(n) AS n, MAX(last_seen) AS last_seen FROM d GROUP BY alert_id)
		UPDATE alerts SET count = alerts.count + r.n, last_seen = GREATEST(alerts.last_seen, r.last_seen)
			FROM r WHERE alerts.id = r.alert_id`,
	},
	AfterBulkLoad: []string{
		`SELECT setval(pg_get_serial_sequence('incidents', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM incidents), false)`,
		`SELECT setval(pg_get_serial_sequence('timeline', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM timeline), false)`,
		`SELECT setval(pg_get_serial_sequence('observables', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM observables), false)`,
		`SELECT setval(pg_get_serial_sequence('search_docs', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM search_docs), false)`,
		`ANALYZE`,
	},
}

// writerIdleTimeout is how long the group committer's transaction may sit
// idle before the server ends it. Between two statements of a group there
// is only Go code, milliseconds at most; a transaction idle for this long
// has a client that stopped answering.
const writerIdleTimeout = "30s"

// SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	diskFull            = "53100"
	// The server cannot serve now: out of connections or resources,
	// shutting down, starting up, or it cancelled the statement
	// (statement_timeout, a cancel request) or ended an idle transaction.
	insufficientResources    = "53000"
	outOfMemory              = "53200"
	tooManyConnections       = "53300"
	queryCanceled            = "57014"
	adminShutdown            = "57P01"
	crashShutdown            = "57P02"
	cannotConnectNow         = "57P03"
	idleInTransactionTimeout = "25P03"
)

// formatError maps typed PostgreSQL errors to Vigil's codes: constraint
// violations; a full disk; and the faults of a server that is down,
// restarting, out of connections or cut off (connection exceptions are
// SQLSTATE class 08).
func formatError(err error) error {
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case uniqueViolation:
			return vigil.Errorf(vigil.ECONFLICT, "That already exists.")
		case foreignKeyViolation:
			return vigil.Errorf(vigil.EINVALID, "That refers to something that does not exist.")
		case diskFull:
			return sqlstore.StorageFull(err)
		case insufficientResources, outOfMemory, tooManyConnections, queryCanceled, adminShutdown, crashShutdown,
			cannotConnectNow, idleInTransactionTimeout:
			return sqlstore.Unavailable(err)
		}
		if strings.HasPrefix(pgErr.Code, "08") {
			return sqlstore.Unavailable(err)
		}
	case errors.As(err, &connectErr):
		return sqlstore.Unavailable(err)
	case pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded):
		// A deadline is the request's: the store says so itself.
		return sqlstore.Unavailable(err)
	}
	return err
}

// MaxConns is the connection pool size per instance.
const MaxConns = 16

// Open connects to the database at url (postgres://…) and migrates it.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	// Every session in UTC, so that times never depend on the server's zone.
	cfg.RuntimeParams["timezone"] = "UTC"
	// Plan each statement for its arguments. pgx prepares statements per
	// connection, and PostgreSQL may settle on a generic plan made while a
	// table was small (seen: the STIX import's version lookup fell back to
	// scanning the collection once it held 100,000 objects, taking
	// seconds per batch). Vigil's queries are cheap to plan.
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	dialTimeouts(cfg)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	pg := &DB{DB: sqlstore.New(db, db, Dialect), URL: url}
	if err := pg.FillScopeKeys(ctx); err != nil {
		pg.Close()
		return nil, err
	}
	return pg, nil
}

// ConnectTimeout bounds connecting to the server, unless the URL sets
// connect_timeout: a server that accepts connections but never answers
// (frozen, or behind a black hole) must not hold a request.
const ConnectTimeout = 10 * time.Second

// dialTimeouts sets how a connection to a server that stopped answering is
// noticed. TCP keepalives probe an idle connection after 15 s and give it
// up after three unanswered probes 5 s apart; on Linux, TCP_USER_TIMEOUT
// gives up a connection whose sent data stays unacknowledged for 30 s
// (instead of the kernel's ~15 minutes of retransmissions).
func dialTimeouts(cfg *pgx.ConnConfig) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = ConnectTimeout
	}
	d := &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3},
		Control:         userTimeout(30 * time.Second),
	}
	cfg.DialFunc = d.DialContext
}

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

// Provider returns the goose migration provider for db, with a session
// lock so that several instances starting at once migrate one at a time.
func Provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// copyRows loads rows with COPY, on the connection's open transaction.
func copyRows(ctx context.Context, conn *sql.Conn, table string, cols []string, rows [][]any) error {
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		// The foreign-key checks PostgreSQL runs for each row keep their
		// plan (see Open: force_custom_plan would plan each one again).
		if _, err := c.Exec(ctx, `SET LOCAL plan_cache_mode = auto`); err != nil {
			return err
		}
		n, err := c.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		if err == nil && int(n) != len(rows) {
			err = fmt.Errorf("copy into %s: %d of %d rows", table, n, len(rows))
		}
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, `RESET plan_cache_mode`)
		return err
	})
}
