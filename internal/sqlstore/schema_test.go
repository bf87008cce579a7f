package sqlstore_test

import (
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil/postgres"
	"github.com/vigil-ir/vigil/sqlite"
)

// schema reads the migrations of one engine: their versions, and each
// table's columns, following each Up in order: CREATE TABLE, ALTER TABLE
// … ADD COLUMN, DROP TABLE and ALTER TABLE … RENAME TO (SQLite changes a
// table's constraints by building a new one and renaming it).
func schema(t *testing.T, fsys fs.FS) (versions []string, tables map[string][]string) {
	t.Helper()
	tables = map[string][]string{}
	stmt := regexp.MustCompile(`(?is)CREATE TABLE (\w+) \((.*?)\n\);|ALTER TABLE (\w+) ADD COLUMN (\w+)|DROP TABLE (?:IF EXISTS )?(\w+)|ALTER TABLE (\w+) RENAME TO (\w+)`)
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		versions = append(versions, strings.SplitN(strings.TrimPrefix(f, "migrations/"), "_", 2)[0])
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		for _, m := range stmt.FindAllStringSubmatch(up, -1) {
			switch {
			case m[1] != "":
				var cols []string
				for _, line := range strings.Split(m[2], "\n") {
					line = strings.TrimSpace(line)
					if line == "" || strings.HasPrefix(line, "--") || strings.HasPrefix(line, "PRIMARY KEY") || strings.HasPrefix(line, "UNIQUE") {
						continue
					}
					cols = append(cols, strings.Fields(line)[0])
				}
				tables[m[1]] = cols
			case m[3] != "":
				tables[m[3]] = append(tables[m[3]], m[4])
			case m[5] != "":
				delete(tables, m[5])
			case m[6] != "":
				tables[m[7]] = tables[m[6]]
				delete(tables, m[6])
			}
		}
	}
	for _, cols := range tables {
		sort.Strings(cols)
	}
	return versions, tables
}

// TestSchemasMatch keeps the two engines' migrations in step: the same
// version numbers, and the same tables with the same columns (PostgreSQL's
// generated tsvector column aside).
func TestSchemasMatch(t *testing.T) {
	lv, lt := schema(t, sqlite.Migrations())
	pv, pt := schema(t, postgres.Migrations())
	if diff := cmp.Diff(lv, pv); diff != "" {
		t.Errorf("migration versions differ (-sqlite +postgres):\n%s", diff)
	}
	pt["search_docs"] = slicesDelete(pt["search_docs"], "tsv")
	delete(lt, "search_queue") // SQLite's queue in front of FTS5
	if diff := cmp.Diff(lt, pt); diff != "" {
		t.Errorf("tables differ (-sqlite +postgres):\n%s", diff)
	}
	if len(lt) < 10 {
		t.Errorf("found %d tables; the parser is broken", len(lt))
	}
}

func slicesDelete(ss []string, s string) []string {
	var out []string
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
