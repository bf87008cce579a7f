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
