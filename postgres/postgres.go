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
	GroupCommit: true,
	MaxGroup:    32,
	CopyRows:    copyRows,
	LazyCommit:  `SET LOCAL synchronous_commit = off`,
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

// SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// formatError maps typed PostgreSQL errors to Vigil's codes.
func formatError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case uniqueViolation:
			return vigil.Errorf(vigil.ECONFLICT, "That already exists.")
		case foreignKeyViolation:
			return vigil.Errorf(vigil.EINVALID, "That refers to something that does not exist.")
		}
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
