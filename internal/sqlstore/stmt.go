package sqlstore

import (
	"context"
	"database/sql"
)

// maxCachedStmts bounds the statement cache. Queries built from filters
// vary (IN lists of different lengths); past the bound they are simply
// prepared each time, as without a cache.
const maxCachedStmts = 1000

// stmtCache holds statements prepared on one connection, by query string.
// SQLite spends a sixth of a small write transaction parsing SQL; a
// prepared statement is parsed once. Only the group committer uses one: it
// is the only goroutine on its connection, so no locking is needed.
type stmtCache struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if st, ok := c.stmts[q]; ok {
		return st
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil // the caller runs it unprepared and reports the error
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[q] = st
	return st
}

func (c *stmtCache) close() {
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}
