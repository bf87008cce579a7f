// Package sqlitetest gives tests a fresh SQLite database file quickly:
// each is a copy of one database migrated once per test binary, because
// running the migrations is most of a fresh store's cost (many times over
// under the race detector).
package sqlitetest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vigil-ir/vigil/sqlite"
)

var (
	once     sync.Once
	template string
	failure  error
)

// FreshFile returns the path of a new, migrated, empty database file in a
// temporary folder of tb's.
func FreshFile(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-template-")
		if err != nil {
			failure = err
			return
		}
		template = filepath.Join(dir, sqlite.FileName)
		db, err := sqlite.Open(context.Background(), template)
		if err == nil {
			err = db.Close() // the last connection checkpoints the WAL into the file
		}
		failure = err
	})
	if failure != nil {
		tb.Fatal(failure)
	}
	b, err := os.ReadFile(template)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), sqlite.FileName)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
