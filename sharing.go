package vigil

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Collection is a TAXII 2.1 collection: a set of STIX objects shared with
// the partners given access to it.
type Collection struct {
	ID          string    `json:"id"` // a UUID, as TAXII wants
	Title       string    `json:"title"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	// CanRead and CanWrite are the asking actor's rights.
	CanRead  bool `json:"can_read"`
	CanWrite bool `json:"can_write"`
}

// Validate trims and checks a collection.
func (c *Collection) Validate() error {
	var p Problems
	c.Title, c.Description = strings.TrimSpace(c.Title), strings.TrimSpace(c.Description)
	if c.Title == "" || utf8.RuneCountInString(c.Title) > 200 {
		p.Add("title", "Give the collection a title (at most 200 characters).")
	}
	if utf8.RuneCountInString(c.Description) > 5000 {
		p.Add("description", "At most 5,000 characters.")
	}
	return p.Err()
}

// StoredObject is a STIX object in a collection, one version of it.
type StoredObject struct {
	Seq         int64           `json:"-"`
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	SpecVersion string          `json:"spec_version"`
	Version     time.Time       `json:"version"` // modified, else created, else when it was added
	DateAdded   time.Time       `json:"date_added"`
	TLP         TLP             `json:"tlp"` // "" when it carries no TLP marking
	Body        json.RawMessage `json:"-"`   // the object as it came
}

// IncomingObject is an object to add: its JSON and what the STIX parser
// read from it, or why it refused it.
type IncomingObject struct {
	Raw         json.RawMessage
	ID          string
	Type        string
	SpecVersion string
	Version     time.Time // zero: the time it is added
	TLP         TLP
	Err         error // refused by the parser: reported in the status, not stored
}

// ObjectFilter selects objects, as TAXII's query parameters do.
type ObjectFilter struct {
	AddedAfter   *time.Time
	Limit        int
	After        int64    // the cursor: objects added after this one (from "next")
	IDs          []string // match[id]
	Types        []string // match[type]
	Versions     []string // match[version]: "first", "last" (default), "all" or timestamps
	SpecVersions []string // match[spec_version]
}

// ObjectPage is one page of objects.
type ObjectPage struct {
	Objects []*StoredObject
	More    bool
	Next    int64 // the cursor of the next page, when More
}

// TAXII status values.
const (
	StatusPending  = "pending"
	StatusComplete = "complete"
)

// StatusDetail is one object's outcome in a status resource.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// TAXIIStatus is the outcome of adding objects (TAXII 2.1 status resource).
type TAXIIStatus struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"`
	RequestTimestamp time.Time      `json:"request_timestamp"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings"`
}

// CollectionAccess is a partner's rights on one collection.
type CollectionAccess struct {
	CollectionID string `json:"collection_id"`
	Read         bool   `json:"read"`
	Write        bool   `json:"write"`
}

// Partner is an organisation invited to share through TAXII.
type Partner struct {
	ID          int64              `json:"id"`
	Name        string             `json:"name"` // also the HTTP Basic username
	Contact     string             `json:"contact"`
	IdentityRef string             `json:"identity_ref"` // its STIX identity id, if it gave one
	MaxTLP      TLP                `json:"max_tlp"`      // cleared up to: CLEAR, GREEN or AMBER
	Access      []CollectionAccess `json:"access"`
	TokenHint   string             `json:"token_hint"`
	Revoked     bool               `json:"revoked"`
	CreatedAt   time.Time          `json:"created_at"`
}

// PartnerTokenPrefix starts every partner's token.
const PartnerTokenPrefix = "vgp_"

// Validate trims and checks a partner. A partner is never cleared for
// AMBER+STRICT (the organisation's own) or RED.
func (p *Partner) Validate() error {
	var pr Problems
	p.Name, p.Contact = strings.TrimSpace(p.Name), strings.TrimSpace(p.Contact)
	if !usernameRE.MatchString(strings.ToLower(p.Name)) {
		pr.Add("name", "Name the partner with letters, digits, dots, dashes or underscores (it is the HTTP Basic username).")
	}
	p.Name = strings.ToLower(p.Name)
	if utf8.RuneCountInString(p.Contact) > 500 {
		pr.Add("contact", "At most 500 characters.")
	}
	if p.MaxTLP == "" {
		p.MaxTLP = TLPGreen
	}
	if t, ok := ParseTLP(string(p.MaxTLP)); !ok || t.Rank() > TLPAmber.Rank() {
		pr.Add("max_tlp", "A partner is cleared for TLP:CLEAR, GREEN or AMBER; AMBER+STRICT and RED stay in the organisation.")
	} else {
		p.MaxTLP = t
	}
	if p.IdentityRef != "" && !strings.HasPrefix(p.IdentityRef, "identity--") {
		pr.Add("identity_ref", "A STIX identity id starts identity--.")
	}
	return pr.Err()
}

// SharingService keeps TAXII collections, their objects, and partners.
// Partners act through an Actor with PartnerID set; they see only the
// collections they were given and the objects their TLP clearance allows.
type SharingService interface {
	CreateCollection(ctx context.Context, c *Collection) error
	FindCollections(ctx context.Context) ([]*Collection, error)
	FindCollection(ctx context.Context, id string) (*Collection, error)

	// AddObjects stores objects in a collection; each is reported in the
	// status, refused ones without stopping the others. A large request is
	// added in batches: pass the status of the first batch as into, and
	// the next ones are counted in it.
	AddObjects(ctx context.Context, collectionID string, objs []*IncomingObject, into *TAXIIStatus) (*TAXIIStatus, error)
	FindObjects(ctx context.Context, collectionID string, f ObjectFilter) (*ObjectPage, error)
	// DeleteObject removes the versions of an object that f.Versions
	// names (default: the last).
	DeleteObject(ctx context.Context, collectionID, id string, f ObjectFilter) error
	FindStatus(ctx context.Context, id string) (*TAXIIStatus, error)
	// PublishIncident adds what an incident shares (its indicators) to a
	// collection and records that on the incident's timeline.
	PublishIncident(ctx context.Context, incidentID int64, collectionID string, objs []*IncomingObject) (*TAXIIStatus, error)

	// CreatePartner invites a partner and returns its token, shown once.
	CreatePartner(ctx context.Context, p *Partner) (token string, err error)
	FindPartners(ctx context.Context) ([]*Partner, error)
	RevokePartner(ctx context.Context, id int64) error
	// AuthenticatePartner returns the actor of a partner's token; name,
	// if given (HTTP Basic), must be the partner's.
	AuthenticatePartner(ctx context.Context, name, token string) (*Actor, error)
	// ServerKey returns the 32-byte key of that name that every instance
	// shares, making it on first use. It never leaves the server.
	ServerKey(ctx context.Context, name string) ([]byte, error)
}

// Feed is an external TAXII 2.1 collection that Vigil polls, importing
// what it publishes into a collection of its own.
type Feed struct {
	ID int64 `json:"id"`
	// Name names the feed.
	Name string `json:"name"`
	// URL is the collection's URL: https://host/api-root/collections/ID/.
	URL          string `json:"url"`
	Username     string `json:"username,omitempty"`    // HTTP Basic
	Password     string `json:"password,omitempty"`    // HTTP Basic password or bearer token; write-only
	CollectionID string `json:"collection_id"`         // the local collection it fills
	PollInterval int    `json:"poll_interval_seconds"` // default 3600
	Enabled      bool   `json:"enabled"`
	// The cursor: where the next poll resumes.
	AddedAfter *time.Time `json:"added_after"`
	Next       string     `json:"next,omitempty"`
	// Status.
	LastPollAt     *time.Time `json:"last_poll_at"`
	LastSuccessAt  *time.Time `json:"last_success_at"`
	LastError      string     `json:"last_error"`
	Failures       int        `json:"failures"` // in a row; the poll interval backs off with them
	NextPollAt     *time.Time `json:"next_poll_at"`
	ObjectsFetched int64      `json:"objects_fetched"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Validate checks a feed and fills defaults.
func (f *Feed) Validate() error {
	var p Problems
	f.Name, f.URL = strings.TrimSpace(f.Name), strings.TrimSpace(f.URL)
	if f.Name == "" || utf8.RuneCountInString(f.Name) > 100 {
		p.Add("name", "Name the feed (at most 100 characters).")
	}
	if e := checkWebhookURL(f.URL); e != "" {
		p.Add("url", "%s", strings.ReplaceAll(e, "webhook", "feed"))
	} else if !strings.HasSuffix(f.URL, "/") {
		f.URL += "/"
	}
	if f.CollectionID == "" {
		p.Add("collection_id", "Choose the collection to import into.")
	}
	if f.PollInterval == 0 {
		f.PollInterval = 3600
	}
	if f.PollInterval < 60 || f.PollInterval > 7*24*3600 {
		p.Add("poll_interval_seconds", "Between 60 seconds and a week.")
	}
	return p.Err()
}

// FeedPage is the outcome of fetching one page of a feed, to move its
// cursor.
type FeedPage struct {
	Objects    int
	AddedAfter *time.Time // the X-TAXII-Date-Added-Last of the page, when it had one
	Next       string     // the envelope's next, when more
	More       bool
	Err        error
	// ResetNext drops a next the feed no longer knows (an expired paging
	// session): the next poll starts again from added_after.
	ResetNext bool
}

// FeedService keeps TAXII feeds (administrators).
type FeedService interface {
	CreateFeed(ctx context.Context, f *Feed) error
	FindFeeds(ctx context.Context) ([]*Feed, error)
	// FindFeed returns a feed with its password, for the poller.
	FindFeed(ctx context.Context, id int64) (*Feed, error)
	// FeedPolled records a page fetched (moving the cursor) or a failure
	// (backing off); final says the poll is over, so the next is scheduled.
	FeedPolled(ctx context.Context, id int64, page FeedPage, final bool) error
	// FeedStarted records that a poll began, and puts the next one an
	// interval away, so that a poll whose worker dies is still followed by
	// another.
	FeedStarted(ctx context.Context, id int64) error
}

// JobFeedPoll polls a feed.
const JobFeedPoll = "feed_poll"
