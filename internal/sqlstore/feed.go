package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigil-ir/vigil"
)

// FeedService implements vigil.FeedService.
type FeedService struct{ db *DB }

const feedColumns = `id, name, url, username, password, collection_id, poll_interval, enabled, added_after, next_token,
	last_poll_at, last_success_at, last_error, failures, next_poll_at, objects_fetched, created_at`

func scanFeed(r rowScanner) (*vigil.Feed, error) {
	var f vigil.Feed
	err := r.Scan(&f.ID, &f.Name, &f.URL, &f.Username, &f.Password, &f.CollectionID, &f.PollInterval, &f.Enabled, scanNullTime(&f.AddedAfter),
		&f.Next, scanNullTime(&f.LastPollAt), scanNullTime(&f.LastSuccessAt), &f.LastError, &f.Failures, scanNullTime(&f.NextPollAt),
		&f.ObjectsFetched, scanTime(&f.CreatedAt))
	return &f, err
}

// CreateFeed subscribes to an external collection (admins). Its first
// poll is due at once.
func (s *FeedService) CreateFeed(ctx context.Context, f *vigil.Feed) (err error) {
	defer s.db.op("feed.create")(&err)
	if err := f.Validate(); err != nil {
		return err
	}
	if err := f.CheckDestination(s.db.OutboundAllow); err != nil {
		return err
	}
	f.Enabled = true
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		if _, err := tx.collectionAccess(f.CollectionID); err != nil {
			return vigil.Invalid("collection_id", "No collection %q.", f.CollectionID)
		}
		f.CreatedAt, f.NextPollAt = tx.now, &tx.now
		id, err := tx.insert(`INSERT INTO taxii_feeds (name, url, username, password, collection_id, poll_interval, enabled, next_poll_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.Name, f.URL, f.Username, tx.db.Secrets.seal(colFeedPassword, f.Password), f.CollectionID, f.PollInterval, true, tx.now, tx.now)
		if err != nil {
			if vigil.ErrorCode(tx.db.formatError(err)) == vigil.ECONFLICT {
				return vigil.Invalid("name", "A feed named %q exists already.", f.Name)
			}
			return err
		}
		f.ID = id
		pub := *f
		pub.Password = ""
		tx.audit("feed.create", "feed", id, nil, &pub)
		return nil
	})
	f.Password = ""
	return err
}

// FindFeeds lists the feeds and their status, without passwords.
func (s *FeedService) FindFeeds(ctx context.Context) (out []*vigil.Feed, err error) {
	defer s.db.op("feed.list")(&err)
	out = []*vigil.Feed{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		out, err = queryAll(tx, scanFeed, `SELECT `+feedColumns+` FROM taxii_feeds ORDER BY name`)
		for _, f := range out {
			f.Password = ""
		}
		return err
	})
	return out, err
}

// FindFeed returns a feed with its password, for the poller.
func (s *FeedService) FindFeed(ctx context.Context, id int64) (f *vigil.Feed, err error) {
	defer s.db.op("feed.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		f, err = scanFeed(tx.queryRow(`SELECT `+feedColumns+` FROM taxii_feeds WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return vigil.Errorf(vigil.ENOTFOUND, "No feed %d.", id)
		} else if err != nil {
			return err
		}
		f.Password, err = tx.db.Secrets.open(colFeedPassword, f.Password)
		return err
	})
	return f, err
}

// feedBackoff is the wait before polling again after failures in a row:
// a minute, doubling, at most six hours.
func feedBackoff(failures int) time.Duration {
	d := time.Minute
	for i := 1; i < failures && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// FeedPolled moves a feed's cursor after a page, or backs off after a
// failure. While the feed pages with next, added_after stays the
// request's; when a sequence ends, added_after moves to the last page's
// X-TAXII-Date-Added-Last (the standard's recipe), so a restart resumes
// where it left off.
func (s *FeedService) FeedPolled(ctx context.Context, id int64, p vigil.FeedPage, final bool) (err error) {
	defer s.db.op("feed.polled")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		var interval, failures int
		if err := tx.queryRow(`SELECT poll_interval, failures FROM taxii_feeds WHERE id = ?`+tx.forUpdate(), id).Scan(&interval, &failures); err != nil {
			return err
		}
		if p.Err != nil {
			failures++
			if p.ResetNext {
				if _, err := tx.exec(`UPDATE taxii_feeds SET next_token = '' WHERE id = ?`, id); err != nil {
					return err
				}
			}
			_, err := tx.exec(`UPDATE taxii_feeds SET last_poll_at = ?, last_error = ?, failures = ?, next_poll_at = ? WHERE id = ?`,
				tx.now, truncate(p.Err.Error(), 1000), failures, tx.now.Add(feedBackoff(failures)), id)
			return err
		}
		if p.More && p.Next != "" {
			if _, err := tx.exec(`UPDATE taxii_feeds SET next_token = ?, objects_fetched = objects_fetched + ?, last_poll_at = ? WHERE id = ?`,
				p.Next, p.Objects, tx.now, id); err != nil {
				return err
			}
		} else {
			if _, err := tx.exec(`UPDATE taxii_feeds SET next_token = '', objects_fetched = objects_fetched + ?, last_poll_at = ? WHERE id = ?`,
				p.Objects, tx.now, id); err != nil {
				return err
			}
			if p.AddedAfter != nil {
				if _, err := tx.exec(`UPDATE taxii_feeds SET added_after = ? WHERE id = ?`, *p.AddedAfter, id); err != nil {
					return err
				}
			}
		}
		if final {
			next := tx.now.Add(time.Duration(interval) * time.Second)
			if p.More {
				next = tx.now // the poll stopped at its budget: carry on at once
			}
			_, err := tx.exec(`UPDATE taxii_feeds SET failures = 0, last_error = '', last_success_at = ?, next_poll_at = ? WHERE id = ?`,
				tx.now, next, id)
			return err
		}
		return nil
	})
}

// FeedStarted puts a feed's next poll an interval away as a poll begins.
func (s *FeedService) FeedStarted(ctx context.Context, id int64) (err error) {
	defer s.db.op("feed.started")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		var interval int
		if err := tx.queryRow(`SELECT poll_interval FROM taxii_feeds WHERE id = ?`, id).Scan(&interval); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE taxii_feeds SET last_poll_at = ?, next_poll_at = ? WHERE id = ?`, tx.now, tx.now.Add(time.Duration(interval)*time.Second), id)
		return err
	})
}
