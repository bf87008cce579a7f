package anchor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Sink is somewhere checkpoints are written. Write takes one round's lines
// (without newlines); an error means the sink did not take them.
type Sink interface {
	Write(ctx context.Context, lines []string) error
	String() string // what it is, for logs
}

// File appends checkpoints to a file, one line each. The file is opened for
// each round (O_APPEND, created owner-only) and synced before Write
// returns, so a log rotator may move it at any time.
type File struct{ Path string }

func (f *File) String() string { return "file " + f.Path }

// Write appends lines to the file and syncs it.
func (f *File) Write(_ context.Context, lines []string) error {
	out, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// One write: lines are appended whole, not interleaved with another
	// instance's appending to the same file.
	_, err = out.WriteString(strings.Join(lines, "\n") + "\n")
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}

// Webhook posts each round's lines to a URL as text/plain, one per line.
// Lines a post fails to deliver are kept (up to MaxPending, the oldest
// dropped first) and sent with the next round's.
type Webhook struct {
	URL    string
	Client *http.Client // nil: a client with a 10 s timeout that follows no redirects

	mu      sync.Mutex
	pending []string
}

// MaxPending bounds the lines a Webhook keeps while its receiver is down.
const MaxPending = 10000

func (w *Webhook) String() string { return "webhook " + w.URL }

var webhookClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Write posts the lines, with any left from failed rounds.
func (w *Webhook) Write(ctx context.Context, lines []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, lines...)
	if n := len(w.pending) - MaxPending; n > 0 {
		w.pending = append(w.pending[:0], w.pending[n:]...)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, strings.NewReader(strings.Join(w.pending, "\n")+"\n"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	c := w.Client
	if c == nil {
		c = webhookClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%d checkpoints kept for the next round: %w", len(w.pending), err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%d checkpoints kept for the next round: the receiver answered %s", len(w.pending), resp.Status)
	}
	w.pending = w.pending[:0]
	return nil
}

// Memory keeps checkpoints in memory, for tests.
type Memory struct {
	mu    sync.Mutex
	lines []string
}

func (m *Memory) String() string { return "memory" }

// Write keeps the lines.
func (m *Memory) Write(_ context.Context, lines []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, lines...)
	return nil
}

// Lines returns what was written, as a file would hold it.
func (m *Memory) Lines() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b bytes.Buffer
	for _, l := range m.lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}
