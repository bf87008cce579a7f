package sqlstore

import (
	"context"
	"database/sql"
)

// maxCachedStmts bounds the statement cache. Queries built from filters
// vary (IN lists and multi-row INSERTs of different lengths); once the
// cache is full, a new statement takes the place of one chosen at random,
// so the statements used all the time stay cached (a full cache that took
// no more left every statement first seen after it unprepared).
const maxCachedStmts = 1000

// stmtCache holds statements prepared on one connection, by query string.
// SQLite spends a sixth of a small write transaction parsing SQL; a
// prepared statement is parsed once. Only the group committer uses one: it
// is the only goroutine on its connection, so no locking is needed.
type stmtCache struct {
	conn    *sql.Conn
	stmts   map[string]*sql.Stmt
	retired []*sql.Stmt // taken out of the cache, closed by sweep
}

func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if st, ok := c.stmts[q]; ok {
		return st
	}
	if len(c.stmts) >= maxCachedStmts {
		for old, st := range c.stmts { // map order: a random one
			// Rows of it may still be open: it is closed between groups.
			c.retired = append(c.retired, st)
			delete(c.stmts, old)
			break
		}
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

// sweep closes the statements taken out of the cache; the group
// committer calls it between groups, when none of them is in use.
func (c *stmtCache) sweep() {
	for _, st := range c.retired {
		st.Close()
	}
	c.retired = nil
}

func (c *stmtCache) close() {
	c.sweep()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}
