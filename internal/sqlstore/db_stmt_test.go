package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	_ "modernc.org/sqlite"
)

// TestStmtCacheFull: a full cache takes new statements in place of old
// ones, so a statement first seen after it filled is cached too, and the
// ones taken out are closed only by sweep.
func TestStmtCacheFull(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &stmtCache{conn: conn}
	defer c.close()
	for i := range maxCachedStmts + 10 {
		if c.get(ctx, fmt.Sprintf("SELECT %d", i)) == nil {
			t.Fatalf("statement %d not prepared", i)
		}
	}
	if len(c.stmts) != maxCachedStmts || len(c.retired) != 10 {
		t.Errorf("%d cached, %d retired; want %d and 10", len(c.stmts), len(c.retired), maxCachedStmts)
	}
	hot := "SELECT 'hot'"
	st := c.get(ctx, hot)
	if st == nil || c.get(ctx, hot) != st {
		t.Error("a statement first seen once the cache was full is not cached")
	}
	c.sweep()
	if len(c.retired) != 0 {
		t.Error("sweep left statements")
	}
	var v string
	if err := st.QueryRowContext(ctx).Scan(&v); err != nil || v != "hot" {
		t.Errorf("the cached statement: %q %v", v, err)
	}
}
