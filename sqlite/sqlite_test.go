package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/sqlite"
	"github.com/vigil-ir/vigil/storetest"
)

func TestMain(m *testing.M) {
	// Cheap password hashing: the suite creates hundreds of users.
	vigil.DefaultPasswordParams = vigil.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

// template is a freshly migrated database that each store of the suite
// starts as a copy of (sqlite.Open then finds nothing to migrate): the
// migrations are most of a fresh store's cost. The template itself is
// migrated from nothing, once per run.
var (
	templateOnce sync.Once
	templateFile string
	templateErr  error
)

// MustOpenDB opens a fresh SQLite store in a temporary folder.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-sqlite-test-")
		if err != nil {
			templateErr = err
			return
		}
		templateFile = filepath.Join(dir, sqlite.FileName)
		db, err := sqlite.Open(context.Background(), templateFile)
		if err == nil {
			err = db.Close()
		}
		templateErr = err
	})
	if templateErr != nil {
		tb.Fatal(templateErr)
	}
	b, err := os.ReadFile(templateFile)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), sqlite.FileName)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.Open(tb.Context(), path)
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
		return &storetest.Store{
			Services:    db.Services(),
			Engine:      "sqlite",
			SetNow:      func(now func() time.Time) { db.Now = now },
			Exec:        db.Exec,
			EvidenceDir: dir,
		}
	})
}
