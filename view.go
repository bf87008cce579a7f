package vigil

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// SavedView is a named incident list filter a user keeps: the list's
// query string, so that opening it shows the same list (with today's
// incidents). Views are personal; the URL itself is the way to share one.
type SavedView struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Name      string    `json:"name"`
	Query     string    `json:"query"` // an incident list query string, such as "status=triage&severity=high"
	CreatedAt time.Time `json:"created_at"`
}

// View limits.
const (
	MaxViewName     = 100
	MaxViewQuery    = 2000
	MaxViewsPerUser = 50
)

// Prepare trims the view and checks it. The query loses its page cursor:
// a view is a filter, not a place in a list.
func (v *SavedView) Prepare() error {
	var p Problems
	v.Name = strings.TrimSpace(v.Name)
	switch n := utf8.RuneCountInString(v.Name); {
	case n == 0:
		p.Add("name", "Give the view a name.")
	case n > MaxViewName || !utf8.ValidString(v.Name) || hasControlChar(v.Name):
		p.Add("name", "The name must be plain text of at most %d characters.", MaxViewName)
	}
	q, err := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(v.Query), "?"))
	if err != nil || len(v.Query) > MaxViewQuery {
		p.Add("query", "That is not a list filter Vigil can keep.")
	} else {
		q.Del("cursor")
		v.Query = q.Encode()
	}
	return p.Err()
}

// ViewService keeps each user's saved views; an actor sees and changes
// only their own.
type ViewService interface {
	CreateView(ctx context.Context, v *SavedView) error
	FindViews(ctx context.Context) ([]*SavedView, error)
	DeleteView(ctx context.Context, id int64) error
}
