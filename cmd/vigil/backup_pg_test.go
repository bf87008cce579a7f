package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// testPostgresURL returns a URL for a fresh schema on the test server, or
// skips (fails in CI) when there is none.
func testPostgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("VIGIL_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("VIGIL_CI") != "" {
			t.Fatal("VIGIL_TEST_POSTGRES_URL is not set in CI")
		}
		t.Skip("VIGIL_TEST_POSTGRES_URL is not set")
	}
	schema := fmt.Sprintf("t_backup_%d_%d", time.Now().UnixNano(), rand.IntN(1000000))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, _ := sql.Open("pgx", base)
		defer admin.Close()
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestBackupPostgres backs up a PostgreSQL store with pg_dump, changes it,
// restores the backup and finds the store as it was.
func TestBackupPostgres(t *testing.T) {
	dbURL := testPostgresURL(t)
	cfg := &Config{Database: dbURL, Data: t.TempDir()}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx := cliContext(t.Context())
	svc := s.Services()
	var kept []int64
	for i := range 20 {
		inc := &vigil.Incident{Title: fmt.Sprintf("Before the backup %d", i)}
		if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, inc.ID)
	}
	path := filepath.Join(t.TempDir(), "pg.backup")
	m, err := Backup(t.Context(), s, path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Engine != "postgres" || m.Files[0].Name != pgDumpFileName {
		t.Errorf("manifest = %+v", m)
	}
	// A restore test, into a scratch database beside this one.
	detail, err := VerifyBackup(t.Context(), s, path)
	if err != nil || !strings.Contains(detail, "scratch postgres store") || !strings.Contains(detail, "20 incidents") {
		t.Errorf("restore test: %q %v", detail, err)
	}
	late := &vigil.Incident{Title: "After the backup"}
	if err := svc.Incidents.CreateIncident(ctx, late); err != nil {
		t.Fatal(err)
	}
	s.Close()

	if _, err := Restore(context.Background(), cfg, path, false); err != nil {
		t.Fatal(err)
	}
	s, err = cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc = s.Services()
	for _, id := range kept {
		if _, err := svc.Incidents.FindIncidentByID(ctx, id); err != nil {
			t.Errorf("incident %d from before the backup: %v", id, err)
		}
	}
	if _, err := svc.Incidents.FindIncidentByID(ctx, late.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("the incident made after the backup is still there: %v", err)
	}
	v, err := svc.Audit.VerifyAudit(ctx)
	if err != nil || !v.OK {
		t.Errorf("audit after restore: %+v, %v", v, err)
	}
	// New incidents get fresh IDs after the restore (the sequences came back too).
	again := &vigil.Incident{Title: "After the restore"}
	if err := svc.Incidents.CreateIncident(ctx, again); err != nil {
		t.Fatal(err)
	}
	// A SQLite backup is refused by a PostgreSQL store, and the other way round.
	if _, err := Restore(context.Background(), &Config{Data: t.TempDir()}, path, false); err == nil {
		t.Error("a PostgreSQL backup was restored into SQLite")
	}
}
