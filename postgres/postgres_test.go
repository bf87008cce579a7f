package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/internal/sqlstore"
	"github.com/vigil-ir/vigil/postgres"
	"github.com/vigil-ir/vigil/storetest"
)

func TestMain(m *testing.M) {
	vigil.DefaultPasswordParams = vigil.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

// testURL returns the server for tests from VIGIL_TEST_POSTGRES_URL. Unset,
// the tests skip locally; CI sets VIGIL_CI=1, and then a missing server is
// a failure, not a skip.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("VIGIL_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("VIGIL_CI") != "" {
			tb.Fatal("VIGIL_TEST_POSTGRES_URL is not set in CI")
		}
		tb.Skip("VIGIL_TEST_POSTGRES_URL is not set")
	}
	return u
}

// MustOpenDB opens a fresh store in a schema of its own, dropped afterwards.
func MustOpenDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	db, _ := mustOpenSchema(tb)
	return db
}

// mustOpenSchema is MustOpenDB, and the URL that opens the same schema.
func mustOpenSchema(tb testing.TB) (*postgres.DB, string) {
	tb.Helper()
	base := testURL(tb)
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), rand.IntN(1_000_000))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(tb.Context(), `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(tb.Context(), u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, u.String()
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
		db, url := mustOpenSchema(t)
		dir := t.TempDir()
		s := conformanceStore(t, db, dir)
		s.Migrate = func(ctx context.Context, version int64) error {
			raw, err := sql.Open("pgx", url)
			if err != nil {
				return err
			}
			defer raw.Close()
			p, err := postgres.Provider(raw)
			if err != nil {
				return err
			}
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
		s.Twin = func(t *testing.T) *storetest.Store {
			twin, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { twin.Close() })
			return conformanceStore(t, twin, dir)
		}
		return s
	})
}

// conformanceStore is db as the conformance suite sees it, its evidence
// in dir.
func conformanceStore(t *testing.T, db *postgres.DB, dir string) *storetest.Store {
	blobs, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Blobs = blobs
	// Every write runs twice, the first run rolled back, so that a write
	// that depends on running once fails the suite (see DB.write).
	db.RerunWrites = true
	// Secrets sealed, as a server seals them (a twin instance, with the
	// same key, opens what the first sealed).
	db.Secrets = testSecretBox
	return &storetest.Store{
		Services:         db.Services(),
		Engine:           "postgres",
		SetNow:           func(now func() time.Time) { db.Now = now },
		SetOutboundAllow: func(a vigil.OutboundAllow) { db.OutboundAllow = a },
		Exec:             db.Exec,
		FillScopeKeys:    db.FillScopeKeys,
		QueryRow:         db.QueryRow,
		SealSecrets:      db.SealSecrets,
		EvidenceDir:      dir,
	}
}
