package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// query reads query parameters, collecting problems as it goes, and
// rejects parameters the endpoint does not know: a typo in a filter should
// be an error, not a silently unfiltered list.
type query struct {
	v       url.Values
	known   map[string]bool
	p       vigil.Problems
	actorID int64
}

func newQuery(r *http.Request, known ...string) *query {
	q := &query{v: r.URL.Query(), known: map[string]bool{}}
	for _, k := range known {
		q.known[k] = true
	}
	if a := vigil.ActorFromContext(r.Context()); a != nil {
		q.actorID = a.UserID
	}
	return q
}

// list returns the values of a parameter given repeatedly or comma-separated.
func (q *query) list(name string) []string {
	var out []string
	for _, v := range q.v[name] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func (q *query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

func (q *query) int(name string, def int) int {
	s := q.str(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.p.Add(name, "Must be a whole number.")
	}
	return n
}

func (q *query) bool(name string) *bool {
	s := q.str(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.p.Add(name, "Must be true or false.")
		return nil
	}
	return &b
}

func (q *query) time(name string) *time.Time {
	s := q.str(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if d, derr := time.Parse("2006-01-02", s); derr == nil {
			return &d
		}
		q.p.Add(name, "Must be an RFC 3339 time (2026-03-01T09:30:00Z) or a date (2026-03-01).")
		return nil
	}
	return &t
}

// user reads a user ID, accepting "me" for the caller.
func (q *query) user(name string) *int64 {
	s := q.str(name)
	switch s {
	case "":
		return nil
	case "me":
		id := q.actorID
		return &id
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		q.p.Add(name, "Must be a user ID or \"me\".")
		return nil
	}
	return &id
}

func (q *query) err() error {
	for k := range q.v {
		if !q.known[k] {
			q.p.Add(k, "Unknown query parameter %q.", k)
		}
	}
	return q.p.Err()
}

func enumList[T ~string](q *query, name string) []T {
	var out []T
	for _, s := range q.list(name) {
		out = append(out, T(s))
	}
	return out
}

// ifMatchVersion reads the version from an If-Match header ("3" or W/"3").
// ok is false when there is none.
func ifMatchVersion(r *http.Request) (int, bool, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, false, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.Atoi(h)
	if err != nil {
		return 0, false, vigil.Invalid("If-Match", "If-Match must be the ETag of the version you edited, such as \"3\".")
	}
	return n, true, nil
}

// etag formats a version as an ETag.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }
