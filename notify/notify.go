// Package notify sends Vigil's notifications: e-mail over SMTP, Slack and
// Microsoft Teams incoming webhooks, and generic webhooks signed as the
// Standard Webhooks specification defines (HMAC-SHA256 over the message
// id, timestamp and body). It formats a vigil.Message for each medium,
// escaping the incident's text for that medium's markup, and tells a
// failure worth retrying from a permanent one.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/outbound"
)

// Sender sends deliveries. The zero value works; set BaseURL so messages
// link to Vigil.
type Sender struct {
	// BaseURL is Vigil's public address, joined to each message's path.
	BaseURL string
	// Timeout bounds one attempt, connection to last byte (10 s by default).
	Timeout time.Duration
	// Allow lists the internal destinations that notifications may
	// reach; every other internal address is refused (package outbound).
	Allow vigil.OutboundAllow
	// RootCAs verifies SMTP servers' certificates (nil: the system's).
	RootCAs *x509.CertPool
	// Now is the clock for webhook timestamps.
	Now func() time.Time

	once   sync.Once
	client *http.Client // made from Allow on first use; follows no redirects
}

// Error is a failed attempt. Permanent failures (a receiver refusing the
// request, bad credentials) are not retried; others are, no sooner than
// RetryAfter when the receiver named it.
type Error struct {
	Permanent  bool
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &Error{Permanent: true, Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err should not be retried.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryAfter returns the wait a receiver asked for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// link is the message's page in Vigil, or "".
func (s *Sender) link(m *vigil.Message) string {
	if m.Path == "" || s.BaseURL == "" {
		return ""
	}
	return strings.TrimRight(s.BaseURL, "/") + m.Path
}

// Send makes one attempt at a delivery.
func (s *Sender) Send(ctx context.Context, ob *vigil.Outbound) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	d, c := ob.Delivery, ob.Channel
	// Checked again at each attempt: a channel saved before its host was
	// refused (or the allow-list shrank) must not be sent to.
	if err := c.CheckDestination(s.Allow); err != nil {
		return permanent("%s", vigil.ErrorMessage(err))
	}
	switch c.Kind {
	case vigil.ChannelEmail:
		return s.sendEmail(ctx, c, d)
	case vigil.ChannelSlack:
		return s.post(ctx, c.URL, "application/json", slackPayload(&d.Message, s.link(&d.Message)), nil)
	case vigil.ChannelTeams:
		return s.post(ctx, c.URL, "application/json", teamsPayload(&d.Message, s.link(&d.Message)), nil)
	case vigil.ChannelWebhook:
		body := webhookPayload(d, s.link(&d.Message), s.now())
		h, err := SignatureHeaders(c.Secret, d.Key, s.now(), body)
		if err != nil {
			return permanent("%v", err)
		}
		return s.post(ctx, c.URL, "application/json", body, h)
	}
	return permanent("unknown channel kind %q", c.Kind)
}

func (s *Sender) post(ctx context.Context, target, contentType string, body []byte, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return permanent("bad URL: %v", err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Vigil")
	s.once.Do(func() { s.client = outbound.NewClient(s.Allow, 0) })
	resp, err := s.client.Do(req)
	if err != nil {
		if be := outbound.Blocked(err); be != nil {
			return &Error{Permanent: true, Err: be}
		}
		if ctx.Err() != nil {
			return &Error{Err: fmt.Errorf("no answer within %s", s.timeout())}
		}
		// Not the *url.Error's text: it holds the URL, and a Slack or
		// Teams webhook URL is a credential; the log shows this error.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &Error{Err: fmt.Errorf("cannot reach the receiver: %v", err)}
	}
	defer resp.Body.Close()
	// Read (to reuse the connection) but never kept: the delivery log
	// shows the status alone. A body could be an internal service's
	// page, and even the reason phrase is the receiver's text, so the
	// reason shown is the standard one for the code.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Err: fmt.Errorf("the receiver answered %s", outbound.StatusText(resp.StatusCode))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(min(secs, 3600)) * time.Second
		}
	default:
		// 3xx (redirects are not followed) and other 4xx: the same request
		// will be refused again; an administrator must fix the channel.
		e.Permanent = true
	}
	return e
}

// SignatureHeaders signs a webhook as Standard Webhooks 1.0 defines: the
// webhook-signature header is "v1," and the base64 HMAC-SHA256, keyed by
// the base64 part of the "whsec_" secret, of "id.timestamp.body".
func SignatureHeaders(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, errors.New("the channel's signing secret is malformed; rotate it")
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + t + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", t)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h, nil
}

// webhookPayload is the body of a generic webhook: Standard Webhooks'
// recommended shape, type and timestamp around the data.
func webhookPayload(d *vigil.Delivery, link string, now time.Time) []byte {
	m := d.Message
	data := map[string]any{
		"subject":  m.Subject,
		"text":     m.Text,
		"fields":   m.Fields,
		"redacted": m.Redacted,
		"url":      link,
	}
	if m.Fields == nil {
		data["fields"] = []vigil.Field{}
	}
	if m.Reference != "" {
		data["incident"] = m.Reference
	}
	if m.TLP != "" {
		data["tlp"] = m.TLP
	}
	b, _ := json.Marshal(map[string]any{"type": "vigil." + string(m.Event), "timestamp": now.UTC().Format(time.RFC3339), "data": data})
	return b
}

// slackEscape escapes text for Slack's mrkdwn: &, < and > are the only
// control characters (Slack's "Formatting text for app surfaces").
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackPayload(m *vigil.Message, link string) []byte {
	head := "*" + slackEscape(m.Subject) + "*"
	if link != "" {
		head = "*<" + slackEscape(link) + "|" + slackEscape(m.Subject) + ">*"
	}
	blocks := []map[string]any{{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": head + "\n" + slackEscape(m.Text)}}}
	if len(m.Fields) > 0 {
		var fs []map[string]any
		for _, f := range m.Fields {
			if len(fs) == 10 { // Slack's limit per section
				break
			}
			fs = append(fs, map[string]any{"type": "mrkdwn", "text": "*" + slackEscape(f.Name) + "*\n" + slackEscape(cut(f.Value, 1900))})
		}
		blocks = append(blocks, map[string]any{"type": "section", "fields": fs})
	}
	b, _ := json.Marshal(map[string]any{"text": slackEscape(m.Subject), "blocks": blocks})
	return b
}

// markdownEscape escapes the characters Adaptive Cards' TextBlock reads
// as Markdown, so incident text shows as written and cannot add links.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()#+-.!<>|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func teamsPayload(m *vigil.Message, link string) []byte {
	body := []map[string]any{
		{"type": "TextBlock", "text": markdownEscape(m.Subject), "weight": "Bolder", "size": "Medium", "wrap": true},
		{"type": "TextBlock", "text": markdownEscape(m.Text), "wrap": true},
	}
	if len(m.Fields) > 0 {
		var facts []map[string]string
		for _, f := range m.Fields {
			facts = append(facts, map[string]string{"title": markdownEscape(f.Name), "value": markdownEscape(cut(f.Value, 1900))})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if link != "" {
		card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "Open in Vigil", "url": link}}
	}
	b, _ := json.Marshal(map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	})
	return b
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// tlsConfig is the client TLS configuration for host.
func (s *Sender) tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
}
