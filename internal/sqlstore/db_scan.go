package sqlstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-ir/vigil"
)

// timeCol scans a time stored as TimeFormat text (SQLite) or timestamptz
// (PostgreSQL) into a time.Time, or a *time.Time for NULL-able columns.
type timeCol struct {
	t    *time.Time  // for NOT NULL columns
	null **time.Time // for NULL-able columns
}

func scanTime(t *time.Time) *timeCol      { return &timeCol{t: t} }
func scanNullTime(t **time.Time) *timeCol { return &timeCol{null: t} }

func (c *timeCol) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
		if c.null == nil {
			return fmt.Errorf("scan time: NULL in a NOT NULL column")
		}
		*c.null = nil
		return nil
	case time.Time:
		t = v
	case string:
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return fmt.Errorf("scan time %q: %w", v, err)
		}
		t = p
	case []byte:
		p, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return fmt.Errorf("scan time %q: %w", v, err)
		}
		t = p
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	t = vigil.TruncateTime(t)
	if c.null != nil {
		*c.null = &t
	} else {
		*c.t = t
	}
	return nil
}

// nullInt scans a NULL-able integer into a *int64.
type nullInt struct{ p **int64 }

func scanNullInt(p **int64) nullInt { return nullInt{p} }

func (n nullInt) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.p = nil
	case int64:
		*n.p = &v
	case int32:
		x := int64(v)
		*n.p = &x
	default:
		return fmt.Errorf("scan int: unexpected %T", src)
	}
	return nil
}

// jsonCol scans a JSON text column into v; NULL leaves v alone.
type jsonCol struct{ v any }

func scanJSON(v any) jsonCol { return jsonCol{v} }

func (j jsonCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan json: unexpected %T", src)
	}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, j.v)
}

// mustJSON marshals a value that cannot fail to marshal (domain structs).
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // a programming error, caught by tests
	}
	return string(b)
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// queryAll runs q and returns one value per row, made by scan (as pgx's
// CollectRows does): an empty slice, not nil, when no row matches, so that
// lists encode as [] in JSON. The rows are closed before it returns, so
// the caller may run its next statement on the same connection (SQLite's
// one writer).
func queryAll[T any](tx *Tx, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	out := []T{}
	err := eachRow(tx, func(r rowScanner) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, q, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// queryMap runs q and returns a map with one entry per row, made by scan;
// a later row replaces an earlier one with the same key.
func queryMap[K comparable, V any](tx *Tx, scan func(rowScanner) (K, V, error), q string, args ...any) (map[K]V, error) {
	out := map[K]V{}
	err := eachRow(tx, func(r rowScanner) error {
		k, v, err := scan(r)
		if err != nil {
			return err
		}
		out[k] = v
		return nil
	}, q, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachRow runs q and calls fn on each row, then closes the rows and
// returns the first error.
func eachRow(tx *Tx, fn func(rowScanner) error, q string, args ...any) error {
	rows, err := tx.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// noExtra adapts a scan function that takes extra destinations (for
// columns some queries add) to queryAll, without them.
func noExtra[T any](scan func(rowScanner, ...any) (T, error)) func(rowScanner) (T, error) {
	return func(r rowScanner) (T, error) { return scan(r) }
}

// scanInt64 scans a row of one integer column.
func scanInt64(r rowScanner) (v int64, err error) {
	err = r.Scan(&v)
	return v, err
}

// scanString scans a row of one text column.
func scanString(r rowScanner) (v string, err error) {
	err = r.Scan(&v)
	return v, err
}
