// Package mailbox polls IMAP mailboxes of reported e-mail (a shared
// "report phishing" mailbox) with github.com/emersion/go-imap v1: each new
// message becomes an alert of the mailbox's email integration, as an upload
// to /api/v1/intake/email does, and is then moved to a folder or flagged.
//
// Each poll runs as a job under the worker's lease (one poller per mailbox
// at a time, whichever instance claims it). The mailbox's UIDVALIDITY and
// the last UID taken are kept in the store, so a restart or another
// instance carries on where the last poll stopped; a message whose
// processing fails is left unmarked, recorded with its error and tried
// again with backoff. An alert's fingerprint (reporter and Message-ID)
// makes a message taken twice — a crash between storing the alert and
// recording the UID — one alert, its count one more.
package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake/email"
	"github.com/vigil-ir/vigil/outbound"
)

// ProcessedFlag marks a processed message when the mailbox flags rather
// than moves.
const ProcessedFlag = "$VigilProcessed"

// Poller polls mailboxes.
type Poller struct {
	Store  vigil.MailboxService
	Alerts vigil.AlertService
	// MaxBytes bounds a message taken whole (default 25 MiB); a longer one
	// is kept to this length, marked truncated.
	MaxBytes int64
	// Timeout bounds each IMAP command and the connection (default 1 min).
	Timeout time.Duration
	// Batch bounds the messages taken in one poll (default 500); the rest
	// wait for the next.
	Batch int
	Now   func() time.Time
	// Allow lists the internal destinations a mailbox may be on (vigil
	// serve -outbound-allow); others on loopback, private or link-local
	// addresses are refused, as for every outbound call.
	Allow vigil.OutboundAllow
	// TLSConfig is for tls and starttls (default: the system's roots, the
	// mailbox's host as server name).
	TLSConfig *tls.Config
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Poll polls mailbox id once: every message above the last UID taken, and
// the failed messages whose retry is due. A failure of the whole poll
// (connection, login, folder) is recorded on the mailbox (health failing,
// its error shown) and returned.
func (p *Poller) Poll(ctx context.Context, id int64) error {
	m, in, err := p.Store.MailboxForPoll(ctx, id)
	if err != nil {
		return err
	}
	res := vigil.MailboxPoll{UIDValidity: m.UIDValidity, LastUID: m.LastUID}
	if m.Disabled {
		return nil
	}
	res.Err = p.poll(ctx, m, in, &res)
	if err := p.Store.RecordMailboxPoll(context.WithoutCancel(ctx), id, res); err != nil {
		return err
	}
	return res.Err
}

func (p *Poller) poll(ctx context.Context, m *vigil.Mailbox, in *vigil.Integration, res *vigil.MailboxPoll) error {
	c, stop, err := p.connect(ctx, m)
	if err != nil {
		return err
	}
	defer stop()
	defer c.Logout()
	status, err := c.Select(m.Folder, false)
	if err != nil {
		return fmt.Errorf("open folder %q: %w", m.Folder, err)
	}
	if status.UidValidity != m.UIDValidity {
		// A new folder, or one rebuilt: its UIDs start again. Messages
		// taken before are found again (and flagged or moved ones are
		// skipped); their alerts' fingerprints keep them one alert each.
		res.UIDValidity, res.LastUID = status.UidValidity, 0
	}
	// New messages: UID last+1:* (which also names the last message
	// when there is none above, so UIDs are filtered again).
	crit := imap.NewSearchCriteria()
	set := new(imap.SeqSet)
	set.AddRange(res.LastUID+1, 0)
	crit.Uid = set
	if m.Processed == "flag" {
		crit.WithoutFlags = []string{ProcessedFlag}
	}
	uids, err := c.UidSearch(crit)
	if err != nil {
		return fmt.Errorf("search folder %q: %w", m.Folder, err)
	}
	todo := []uint32{}
	for _, u := range uids {
		if u > res.LastUID {
			todo = append(todo, u)
		}
	}
	slices.Sort(todo)
	batch := p.Batch
	if batch <= 0 {
		batch = 500
	}
	if len(todo) > batch {
		todo = todo[:batch]
	}
	// Failed messages due again (of this UIDVALIDITY, below the last UID).
	now := p.now()
	for _, f := range m.Failures {
		if f.UIDValidity == res.UIDValidity && f.UID <= res.LastUID && !now.Before(f.NextAt) {
			todo = append(todo, f.UID)
		}
	}
	for _, uid := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		perr := p.take(ctx, c, m, in, uid, res.UIDValidity)
		if perr != nil {
			if isConnErr(perr) {
				return perr // the connection is gone: the rest wait
			}
			res.Failed = append(res.Failed, vigil.MailboxFailure{UID: uid, UIDValidity: res.UIDValidity, Error: perr.Error()})
		} else {
			res.Done = append(res.Done, uid)
		}
		if uid > res.LastUID {
			res.LastUID = uid
		}
	}
	return nil
}

func (p *Poller) connect(ctx context.Context, m *vigil.Mailbox) (*client.Client, func() bool, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	cfg := p.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: m.Host, MinVersion: tls.VersionTLS12}
	}
	dialer := dialFunc(func(network, address string) (net.Conn, error) {
		return (&outbound.Dialer{Allow: p.Allow, Timeout: timeout}).DialContext(ctx, network, address)
	})
	var c *client.Client
	var err error
	if m.Security == "tls" {
		c, err = client.DialWithDialerTLS(dialer, addr, cfg)
	} else {
		c, err = client.DialWithDialer(dialer, addr)
	}
	if err != nil {
		if be := outbound.Blocked(err); be != nil {
			return nil, nil, fmt.Errorf("connect to %s: %s", addr, be.Msg)
		}
		return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c.Timeout = timeout
	stop := context.AfterFunc(ctx, func() { c.Terminate() })
	fail := func(err error) (*client.Client, func() bool, error) {
		stop()
		c.Terminate()
		return nil, nil, err
	}
	if m.Security == "starttls" {
		if err := c.StartTLS(cfg); err != nil {
			return fail(fmt.Errorf("STARTTLS with %s: %w", addr, err))
		}
	}
	if err := c.Login(m.Username, m.Password); err != nil {
		return fail(fmt.Errorf("log in to %s as %s: %w", addr, m.Username, err))
	}
	return c, stop, nil
}

// dialFunc is a go-imap Dialer.
type dialFunc func(network, address string) (net.Conn, error)

func (f dialFunc) Dial(network, address string) (net.Conn, error) { return f(network, address) }

// take fetches message uid, makes it an alert and marks it processed.
func (p *Poller) take(ctx context.Context, c *client.Client, m *vigil.Mailbox, in *vigil.Integration, uid, validity uint32) error {
	limit := p.MaxBytes
	if limit <= 0 {
		limit = 25 << 20
	}
	section := &imap.BodySectionName{Peek: true, Partial: []int{0, int(limit) + 1}}
	set := new(imap.SeqSet)
	set.AddNum(uid)
	ch := make(chan *imap.Message, 1)
	done := make(chan error, 1)
	go func() { done <- c.UidFetch(set, []imap.FetchItem{section.FetchItem(), imap.FetchRFC822Size}, ch) }()
	var raw []byte
	var size uint32
	var readErr error
	for msg := range ch {
		size = msg.Size
		if body := msg.GetBody(section); body != nil {
			raw, readErr = io.ReadAll(body)
		}
	}
	if err := <-done; err != nil {
		return connErr{fmt.Errorf("fetch UID %d: %w", uid, err)}
	}
	if readErr != nil {
		return fmt.Errorf("read UID %d: %w", uid, readErr)
	}
	if raw == nil {
		return fmt.Errorf("UID %d is gone from the folder", uid)
	}
	src := email.Source{From: fmt.Sprintf("imap://%s:%d/%s (user %s)", m.Host, m.Port, m.Folder, m.Username),
		Method: fmt.Sprintf("IMAP UID FETCH %d BODY.PEEK[] (UIDVALIDITY %d), mailbox %q", uid, validity, m.Name),
		At:     p.now(), Limit: limit, Size: int64(max(size, uint32(len(raw))))}
	if int64(len(raw)) > limit {
		src.Truncated = true
		raw = raw[:limit]
	}
	rep, err := email.Parse(raw)
	if err != nil {
		return fmt.Errorf("UID %d: %w", uid, err)
	}
	a := rep.Alert(in, raw, src)
	a.Prepare(in)
	if _, err := p.Alerts.IngestAlerts(ctx, in, []*vigil.AlertInput{a}); err != nil {
		return fmt.Errorf("store UID %d: %w", uid, err)
	}
	if m.Processed == "flag" {
		if err := c.UidStore(set, imap.FormatFlagsOp(imap.AddFlags, true), []any{ProcessedFlag}, nil); err != nil {
			return connErr{fmt.Errorf("flag UID %d: %w", uid, err)}
		}
		return nil
	}
	if err := c.UidMove(set, m.ProcessedFolder); err != nil {
		// The folder may not exist yet: make it and try once more.
		if cerr := c.Create(m.ProcessedFolder); cerr == nil {
			err = c.UidMove(set, m.ProcessedFolder)
		}
		if err != nil {
			return fmt.Errorf("move UID %d to %q: %w", uid, m.ProcessedFolder, err)
		}
	}
	return nil
}

// connErr is an error of the IMAP connection rather than of one message.
type connErr struct{ error }

func (e connErr) Unwrap() error { return e.error }

func isConnErr(err error) bool {
	var c connErr
	return errors.As(err, &c)
}
