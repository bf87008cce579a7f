package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/internal/sqlitetest"
	"github.com/vigil-ir/vigil/internal/sqlstore"
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

// testSecretBox seals the conformance stores' secrets.
var testSecretBox = func() *sqlstore.SecretBox {
	b, err := sqlstore.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	return b
}()

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
		// Secrets sealed, as a server seals them (a twin instance, with the
		// same key, opens what the first sealed).
		db.Secrets = testSecretBox
		return &storetest.Store{
			Services:         db.Services(),
			Engine:           "sqlite",
			SetNow:           func(now func() time.Time) { db.Now = now },
			SetOutboundAllow: func(a vigil.OutboundAllow) { db.OutboundAllow = a },
			Exec:             db.Exec,
			FillScopeKeys:    db.FillScopeKeys,
			QueryRow:         db.QueryRow,
			SealSecrets:      db.SealSecrets,
			EvidenceDir:      dir,
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

// TestOwnerOnlyFiles: the database, its WAL and shared-memory files and
// its folder are the owner's alone, whatever the umask; so is a backup's
// copy; and a database an older Vigil left open to others is closed.
func TestOwnerOnlyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, sqlite.FileName)
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := storetest.SystemContext(t)
	for i := range 20 {
		if err := db.Services().Incidents.CreateIncident(ctx, &vigil.Incident{Title: fmt.Sprintf("Private %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Services().Incidents.FindIncidents(ctx, vigil.IncidentFilter{}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	if err := db.Backup(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	wantMode := func(p string, want fs.FileMode) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, want)
		}
	}
	wantMode(dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm", backup} {
		wantMode(p, 0o600)
	}
	db.Close()

	// Opened to others (as Vigil once made them): closed at the next open.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	db, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Services().Incidents.CreateIncident(ctx, &vigil.Incident{Title: "After"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(p, 0o600)
	}
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
