// Package feed polls external TAXII 2.1 collections into Vigil's own: it
// asks for what was added after its cursor, a page at a time, follows
// "next", streams each page into the store (a feed of a million objects
// is never held in memory), and moves the cursor after every page so a
// restart resumes where it stopped.
package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/outbound"
)

// Poller polls feeds.
type Poller struct {
	Feeds   vigil.FeedService
	Sharing vigil.SharingService
	// Allow lists the internal destinations that feeds may reach; every
	// other internal address is refused, also at the end of a redirect
	// (package outbound).
	Allow vigil.OutboundAllow
	// PageSize is the limit asked for (default 1000); MaxPages (default
	// 10,000) and Budget (default one minute, well inside a job's lease)
	// bound one poll: the rest is fetched by the next, due at once.
	PageSize, MaxPages int
	Budget             time.Duration

	once   sync.Once
	client *http.Client // made from Allow on first use
}

// maxRedirects bounds the redirects one request of a feed follows.
const maxRedirects = 5

// statusError is a feed's answer other than 200: only its status is kept
// (outbound.StatusText), never its body.
type statusError struct{ code int }

func (e *statusError) Error() string { return "the feed answered " + outbound.StatusText(e.code) }

// maxPageBytes bounds one page of a feed: a hostile or broken feed cannot
// make Vigil read without end.
const maxPageBytes = 256 << 20

// Poll fetches what a feed has added since its cursor. Failures are
// recorded on the feed, which then backs off.
func (p *Poller) Poll(ctx context.Context, id int64) error {
	f, err := p.Feeds.FindFeed(ctx, id)
	if err != nil {
		return err
	}
	if !f.Enabled {
		return nil
	}
	size, pages := p.PageSize, p.MaxPages
	if size <= 0 {
		size = 1000
	}
	if pages <= 0 {
		pages = 10000
	}
	if err := p.Feeds.FeedStarted(ctx, id); err != nil {
		return err
	}
	budget := p.Budget
	if budget <= 0 {
		budget = time.Minute
	}
	deadline := time.Now().Add(budget)
	next, after := f.Next, f.AddedAfter
	var highest *time.Time // the latest date_added seen during a next sequence
	for i := 0; ; i++ {
		page := p.page(ctx, f, size, next, after)
		if se := (*statusError)(nil); errors.As(page.Err, &se) && next != "" && (se.code == http.StatusBadRequest || se.code == http.StatusNotFound) {
			page.ResetNext = true // an expired paging session: start again from added_after
		}
		if page.AddedAfter != nil && (highest == nil || page.AddedAfter.After(*highest)) {
			t := *page.AddedAfter
			highest = &t
		}
		if page.Err == nil && (!page.More || page.Next == "") {
			page.AddedAfter = highest // the sequence is over: resume after the latest object it brought
		}
		if page.Err == nil && page.More && page.Next == "" && (page.AddedAfter == nil || (after != nil && !page.AddedAfter.After(*after))) {
			page.Err = errors.New("the feed says there is more but gives neither next nor a later X-TAXII-Date-Added-Last to ask from")
		}
		final := page.Err != nil || !page.More || i == pages-1 || time.Now().After(deadline)
		if err := p.Feeds.FeedPolled(ctx, id, page, final); err != nil {
			return err
		}
		if page.Err != nil {
			return page.Err
		}
		if final {
			return nil
		}
		if page.Next != "" {
			next = page.Next
		} else {
			next, after, highest = "", page.AddedAfter, nil
		}
	}
}

func (p *Poller) page(ctx context.Context, f *vigil.Feed, size int, next string, after *time.Time) vigil.FeedPage {
	q := url.Values{"limit": {fmt.Sprint(size)}}
	if after != nil {
		q.Set("added_after", after.UTC().Format("2006-01-02T15:04:05.000000Z"))
	}
	if next != "" {
		q.Set("next", next)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL+"objects/?"+q.Encode(), nil)
	if err != nil {
		return vigil.FeedPage{Err: err}
	}
	req.Header.Set("Accept", vigilhttp.TAXIIMediaType)
	req.Header.Set("User-Agent", "Vigil")
	switch {
	case f.Username != "":
		req.SetBasicAuth(f.Username, f.Password)
	case f.Password != "":
		req.Header.Set("Authorization", "Bearer "+f.Password)
	}
	if err := f.CheckDestination(p.Allow); err != nil { // a feed saved before its host was refused
		return vigil.FeedPage{Err: errors.New(vigil.ErrorMessage(err))}
	}
	p.once.Do(func() { p.client = outbound.NewClient(p.Allow, maxRedirects) })
	resp, err := p.client.Do(req)
	if err != nil {
		if be := outbound.Blocked(err); be != nil {
			return vigil.FeedPage{Err: be}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // not the URL: it may hold a token
		}
		return vigil.FeedPage{Err: fmt.Errorf("cannot reach the feed: %v", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return vigil.FeedPage{Err: &statusError{resp.StatusCode}}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/taxii+json") {
		// The media type alone, and short: the header is the server's text.
		mt, _, _ := strings.Cut(ct, ";")
		return vigil.FeedPage{Err: fmt.Errorf("the feed answered %q, not TAXII 2.1 JSON", cut(strings.TrimSpace(mt), 60))}
	}
	st, env, derr, err := vigilhttp.ImportEnvelope(ctx, p.Sharing, f.CollectionID, io.LimitReader(resp.Body, maxPageBytes))
	if err != nil {
		return vigil.FeedPage{Err: fmt.Errorf("storing the feed's objects: %v", err)}
	}
	if derr != nil && st == nil {
		return vigil.FeedPage{Err: fmt.Errorf("the feed sent a malformed envelope: %v", derr)}
	}
	page := vigil.FeedPage{More: env.More, Next: env.Next}
	if st != nil {
		page.Objects = st.SuccessCount
	}
	if v := resp.Header.Get("X-TAXII-Date-Added-Last"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			page.AddedAfter = &t
		}
	}
	if derr != nil {
		page.Err = fmt.Errorf("the feed's envelope broke after %d objects: %v", page.Objects, derr)
	}
	return page
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
