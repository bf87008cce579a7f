package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// rebind turns ? placeholders into $n for numbered dialects. Queries are
// written with ? only, never inside string literals.
func (db *DB) rebind(q string) string {
	if !db.d.Numbered {
		return q
	}
	if v, ok := db.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	db.rebound.Store(q, out)
	return out
}

// args converts Go values to what the driver stores: times in UTC at
// microsecond precision, as text for SQLite.
func (db *DB) args(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = db.timeArg(v)
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = db.timeArg(*v)
			}
		case *int64:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = *v
			}
		}
	}
	return args
}

// insertRows inserts rows into table: with the dialect's CopyRows inside
// a group commit (PostgreSQL's COPY), else with multi-row INSERTs.
func (tx *Tx) insertRows(table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if conn, ok := tx.q.(*sql.Conn); ok && tx.db.d.CopyRows != nil && len(rows) > 1 {
		for _, r := range rows {
			tx.db.args(r)
			for i, v := range r {
				cv, err := driver.DefaultParameterConverter.ConvertValue(v)
				if err != nil {
					return fmt.Errorf("copy into %s: %w", table, err)
				}
				r[i] = cv
			}
		}
		return tx.db.d.CopyRows(tx.ctx, conn, table, cols, rows)
	}
	// Chunks well under both engines' limits on bound parameters.
	perInsert := max(1, 8000/len(cols))
	row := "(" + placeholders(len(cols)) + ")"
	for chunk := range slices.Chunk(rows, perInsert) {
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES `)
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
			args = append(args, r...)
		}
		if _, err := tx.exec(b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) timeArg(t time.Time) any {
	if db.d.TimeAsText {
		return vigil.FormatTime(t)
	}
	return vigil.TruncateTime(t)
}

func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	if st := tx.stmt(q); st != nil {
		return st.ExecContext(tx.ctx, tx.db.args(args)...)
	}
	return tx.q.ExecContext(tx.ctx, tx.db.rebind(q), tx.db.args(args)...)
}

func (tx *Tx) query(q string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(q); st != nil {
		return st.QueryContext(tx.ctx, tx.db.args(args)...)
	}
	return tx.q.QueryContext(tx.ctx, tx.db.rebind(q), tx.db.args(args)...)
}

func (tx *Tx) queryRow(q string, args ...any) *sql.Row {
	if st := tx.stmt(q); st != nil {
		return st.QueryRowContext(tx.ctx, tx.db.args(args)...)
	}
	return tx.q.QueryRowContext(tx.ctx, tx.db.rebind(q), tx.db.args(args)...)
}

// stmt returns the prepared statement for q on the group committer's
// connection, or nil outside a group commit.
func (tx *Tx) stmt(q string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	return tx.stmts.get(tx.ctx, tx.db.rebind(q))
}

// insert runs an INSERT … RETURNING id and returns the id.
func (tx *Tx) insert(q string, args ...any) (int64, error) {
	var id int64
	if err := tx.queryRow(q+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// forUpdate is the row-lock suffix for a SELECT of a row about to change:
// the dialect's in a write transaction, nothing in a read-only one (where
// PostgreSQL refuses FOR UPDATE).
func (tx *Tx) forUpdate() string {
	if tx.write {
		return tx.db.d.ForUpdate
	}
	return ""
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// anySlice converts a typed slice to []any for query arguments.
func anySlice[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
