package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/internal/sqlitetest"
	"github.com/vigil-ir/vigil/sqlite"
	"github.com/vigil-ir/vigil/storetest"
)

func TestMain(m *testing.M) {
	// Cheap password hashing: the suite creates hundreds of users.
	vigil.DefaultPasswordParams = vigil.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

// MustOpenDB opens a fresh SQLite store in a temporary folder.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), sqlitetest.FreshFile(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Store {
		db := MustOpenDB(t)
		dir := t.TempDir()
		blobs, err := blob.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		db.Blobs = blobs
		// Every write runs twice, the first run rolled back, so that a
		// write that depends on running once fails the suite (see DB.write).
		db.RerunWrites = true
		return &storetest.Store{
			Services:      db.Services(),
			Engine:        "sqlite",
			SetNow:        func(now func() time.Time) { db.Now = now },
			Exec:          db.Exec,
			FillScopeKeys: db.FillScopeKeys,
			EvidenceDir:   dir,
			Migrate: func(ctx context.Context, version int64) error {
				raw, err := sql.Open("sqlite", "file:"+db.Path+"?_pragma=busy_timeout(10000)")
				if err != nil {
					return err
				}
				defer raw.Close()
				p, err := sqlite.Provider(raw)
				if err != nil {
					return err
				}
				return migrateTo(ctx, p, version)
			},
		}
	})
}

// migrateTo moves p's database to version, down or up.
func migrateTo(ctx context.Context, p *goose.Provider, version int64) error {
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if version < cur {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	return err
}
