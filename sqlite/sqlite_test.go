package sqlite_test

import (
	"os"
	"testing"
	"time"

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
		}
	})
}
