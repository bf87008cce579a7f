package notify_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/notify"
)

// loopback admits the test servers, which listen on 127.0.0.1: without
// it the sender refuses them, as TestRefusesInternal shows.
var loopback = vigil.OutboundAllow{Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// hostile is incident text written by an attacker: markup for every
// medium, a header injection and a mention that pings a whole channel.
const hostile = "<script>alert(1)</script> <!channel> [click](https://evil.example) *bold* \r\nBcc: evil@attacker.example"

func message() vigil.Message {
	return vigil.Message{Subject: "New incident INC-2026-000001 " + hostile, Text: "A new incident was opened.",
		Fields: []vigil.Field{{Name: "Summary", Value: hostile}}, Path: "/incidents/INC-2026-000001", Event: vigil.EventIncidentCreated,
		Reference: "INC-2026-000001", TLP: vigil.TLPGreen}
}

// --- SMTP, against a real SMTP server (emersion/go-smtp) ---

type mailServer struct {
	mu       sync.Mutex
	msgs     []received
	auths    []string
	sessions int
	addr     string
	pool     *x509.CertPool
}

type received struct {
	from string
	to   []string
	data []byte
}

type smtpBackend struct{ s *mailServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.sessions++
	b.s.mu.Unlock()
	return &smtpSession{s: b.s}, nil
}

type smtpSession struct {
	s   *mailServer
	cur received
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, username+":"+password)
		ss.s.mu.Unlock()
		if username != "vigil" || password != "right password" {
			return smtp.ErrAuthFailed // 535 5.7.8, as real servers answer
		}
		return nil
	}), nil
}
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error { ss.cur.from = from; return nil }
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.to = append(ss.cur.to, to)
	return nil
}
func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.data = b
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	ss.s.mu.Unlock()
	return nil
}
func (ss *smtpSession) Reset()        { ss.cur = received{} }
func (ss *smtpSession) Logout() error { return nil }

// startSMTP runs an SMTP server on 127.0.0.1 with a self-signed
// certificate for STARTTLS (or none when withTLS is false).
func startSMTP(t *testing.T, withTLS bool) *mailServer {
	t.Helper()
	ms := &mailServer{}
	srv := smtp.NewServer(smtpBackend{ms})
	srv.Domain = "mail.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ms.pool = pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ms
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func emailChannel(ms *mailServer, password string) *vigil.Channel {
	host, port, _ := net.SplitHostPort(ms.addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return &vigil.Channel{ID: 1, Name: "Mail", Kind: vigil.ChannelEmail, Enabled: true,
		SMTP: &vigil.SMTPConfig{Host: host, Port: p, Security: "starttls", Username: "vigil", Password: password, From: "vigil@example.org"}}
}

func TestEmail(t *testing.T) {
	ms := startSMTP(t, true)
	s := &notify.Sender{BaseURL: "https://vigil.example.org", RootCAs: ms.pool, Timeout: 5 * time.Second, Allow: loopback}
	d := &vigil.Delivery{Key: "vgd_0123456789abcdef0123456789abcdef", Recipients: []string{"soc@example.org", "dpo@example.org"}, Message: message()}
	if err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: emailChannel(ms, "right password")}); err != nil {
		t.Fatal(err)
	}
	if len(ms.msgs) != 1 {
		t.Fatalf("server received %d messages", len(ms.msgs))
	}
	got := ms.msgs[0]
	if got.from != "vigil@example.org" || strings.Join(got.to, ",") != "soc@example.org,dpo@example.org" {
		t.Errorf("envelope: %q → %q", got.from, got.to)
	}
	if ms.auths[0] != "vigil:right password" {
		t.Errorf("auth: %q", ms.auths)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(got.data), "\r\n\r\n")
	if m.Header.Get("Bcc") != "" || strings.Contains(head, "\r\nBcc:") {
		t.Error("the subject injected a Bcc header")
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || !strings.HasPrefix(subject, "New incident INC-2026-000001 <script>") {
		t.Errorf("subject %q (%v)", subject, err)
	}
	if m.Header.Get("Message-Id") != "<vgd_0123456789abcdef0123456789abcdef@vigil>" {
		t.Errorf("Message-ID %q", m.Header.Get("Message-Id"))
	}
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "<script>alert(1)</script>") || !strings.Contains(parts["text/plain"], "https://vigil.example.org/incidents/INC-2026-000001") {
		t.Errorf("text part:\n%s", parts["text/plain"])
	}
	html := parts["text/html"]
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") ||
		!strings.Contains(html, `href="https://vigil.example.org/incidents/INC-2026-000001"`) {
		t.Errorf("HTML part not escaped:\n%s", html)
	}
}

func TestEmailFailures(t *testing.T) {
	d := &vigil.Delivery{Key: "vgd_x", Recipients: []string{"soc@example.org"}, Message: message()}
	t.Run("WrongPassword", func(t *testing.T) {
		ms := startSMTP(t, true)
		s := &notify.Sender{RootCAs: ms.pool, Timeout: 5 * time.Second, Allow: loopback}
		err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: emailChannel(ms, "wrong")})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "AUTH") {
			t.Errorf("wrong password: %v (permanent %v)", err, notify.IsPermanent(err))
		}
		if len(ms.msgs) != 0 {
			t.Error("sent anyway")
		}
	})
	t.Run("NoSTARTTLS", func(t *testing.T) {
		ms := startSMTP(t, false)
		s := &notify.Sender{Timeout: 5 * time.Second, Allow: loopback}
		err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: emailChannel(ms, "right password")})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("no STARTTLS: %v", err)
		}
		if len(ms.auths) != 0 {
			t.Error("the password was sent in the clear")
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		ms := startSMTP(t, true)
		s := &notify.Sender{Timeout: 5 * time.Second, Allow: loopback} // system roots only
		err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: emailChannel(ms, "right password")})
		if err == nil || len(ms.auths) != 0 {
			t.Errorf("untrusted certificate: %v, auths %q", err, ms.auths)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		s := &notify.Sender{Timeout: 2 * time.Second, Allow: loopback}
		err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: emailChannel(&mailServer{addr: addr}, "x")})
		if err == nil || notify.IsPermanent(err) {
			t.Errorf("unreachable SMTP: %v, want a retryable error", err)
		}
	})
	t.Run("Hanging", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		go func() { // accepts and never greets
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		s := &notify.Sender{Timeout: 500 * time.Millisecond, Allow: loopback}
		start := time.Now()
		err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: emailChannel(&mailServer{addr: l.Addr().String()}, "x")})
		if err == nil || notify.IsPermanent(err) || time.Since(start) > 5*time.Second {
			t.Errorf("hanging SMTP server: %v after %s", err, time.Since(start))
		}
	})
}

// --- webhooks ---

func TestWebhookSignature(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	var verr error
	var id string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verr = wh.Verify(body, r.Header) // the Standard Webhooks reference library
		id = r.Header.Get("webhook-id")
		json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := &notify.Sender{BaseURL: "https://vigil.example.org/", Allow: loopback}
	d := &vigil.Delivery{Key: "vgd_abc", Message: message()}
	c := &vigil.Channel{Kind: vigil.ChannelWebhook, URL: srv.URL, Secret: secret, Enabled: true}
	if err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: c}); err != nil {
		t.Fatal(err)
	}
	if verr != nil {
		t.Errorf("signature does not verify: %v", verr)
	}
	if id != "vgd_abc" || got.Type != "vigil.incident.created" || got.Data["incident"] != "INC-2026-000001" ||
		got.Data["url"] != "https://vigil.example.org/incidents/INC-2026-000001" {
		t.Errorf("payload: id %q %+v", id, got)
	}
	// A wrong secret does not verify.
	other, _ := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("A", 32))
	h, _ := notify.SignatureHeaders(secret, "vgd_abc", time.Now(), []byte(`{}`))
	if other.Verify([]byte(`{}`), h) == nil {
		t.Error("verified with the wrong secret")
	}
	if _, err := notify.SignatureHeaders("whsec_not base64!", "x", time.Now(), nil); err == nil {
		t.Error("a malformed secret signed")
	}
}

func TestWebhookFailures(t *testing.T) {
	d := &vigil.Delivery{Key: "vgd_abc", Message: message()}
	send := func(h http.HandlerFunc, timeout time.Duration) error {
		srv := httptest.NewServer(h)
		defer srv.Close()
		s := &notify.Sender{Timeout: timeout, Allow: loopback}
		c := &vigil.Channel{Kind: vigil.ChannelSlack, URL: srv.URL, Enabled: true}
		return s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: c})
	}
	err := send(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}, time.Second)
	if err == nil || notify.IsPermanent(err) || notify.RetryAfter(err) != 2*time.Minute || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: %v (retry after %s)", err, notify.RetryAfter(err))
	}
	err = send(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, time.Second)
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("500: %v", err)
	}
	err = send(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "invalid_payload", 400) }, time.Second)
	if !notify.IsPermanent(err) || err.Error() != "the receiver answered HTTP 400 Bad Request" {
		t.Errorf("400: %v", err)
	}
	err = send(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
	}, time.Second)
	if !notify.IsPermanent(err) {
		t.Errorf("redirect followed or retried: %v", err)
	}
	start := time.Now()
	err = send(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server notices the client hanging up
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}, 300*time.Millisecond)
	if err == nil || notify.IsPermanent(err) || time.Since(start) > 5*time.Second {
		t.Errorf("hanging receiver: %v after %s", err, time.Since(start))
	}
}

func TestChatEscaping(t *testing.T) {
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, b)
	}))
	defer srv.Close()
	s := &notify.Sender{BaseURL: "https://vigil.example.org", Allow: loopback}
	d := &vigil.Delivery{Key: "k", Message: message()}
	for _, kind := range []vigil.ChannelKind{vigil.ChannelSlack, vigil.ChannelTeams} {
		if err := s.Send(context.Background(), &vigil.Outbound{Delivery: d, Channel: &vigil.Channel{Kind: kind, URL: srv.URL, Enabled: true}}); err != nil {
			t.Fatal(err)
		}
	}
	var slack struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text   *struct{ Text string }  `json:"text"`
			Fields []struct{ Text string } `json:"fields"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(bodies[0], &slack); err != nil {
		t.Fatal(err)
	}
	head := slack.Blocks[0].Text.Text
	if !strings.HasPrefix(head, "*<https://vigil.example.org/incidents/INC-2026-000001|") {
		t.Errorf("Slack link: %q", head)
	}
	all := slack.Text + head + slack.Blocks[1].Fields[0].Text
	if strings.Contains(all, "<!channel>") || strings.Contains(all, "<script>") || !strings.Contains(all, "&lt;!channel&gt;") {
		t.Errorf("Slack text not escaped: %q", all)
	}
	var teams struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct {
					Type  string `json:"type"`
					Text  string `json:"text"`
					Facts []struct{ Title, Value string }
				} `json:"body"`
				Actions []struct{ Type, URL string } `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(bodies[1], &teams); err != nil {
		t.Fatal(err)
	}
	card := teams.Attachments[0].Content
	if teams.Type != "message" || teams.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || card.Type != "AdaptiveCard" ||
		card.Actions[0].URL != "https://vigil.example.org/incidents/INC-2026-000001" {
		t.Errorf("Teams card: %s", bodies[1])
	}
	if title := card.Body[0].Text; strings.Contains(title, "[click](https") || !strings.Contains(title, `\[click\]\(https`) {
		t.Errorf("Teams Markdown not escaped: %q", title)
	}
	if v := card.Body[2].Facts[0].Value; strings.Contains(v, "[click](") {
		t.Errorf("Teams fact not escaped: %q", v)
	}
}

// TestErrorHidesWebhookURL: a Slack or Teams webhook URL is a credential;
// a failure to reach it must not put it in the delivery log.
func TestErrorHidesWebhookURL(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s := &notify.Sender{Timeout: 2 * time.Second, Allow: loopback}
	c := &vigil.Channel{Kind: vigil.ChannelSlack, URL: "http://" + addr + "/services/T0/B0/SECRETTOKEN", Enabled: true}
	err := s.Send(context.Background(), &vigil.Outbound{Delivery: &vigil.Delivery{Key: "k", Message: message()}, Channel: c})
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Errorf("error %q", err)
	}
}

// TestRefusesInternal: with no allow-list, a webhook, Slack or Teams
// channel or an SMTP server on this machine, in any spelling, is refused
// for good (not retried), and nothing reaches the server; a chat channel
// off its provider's host is refused before any connection.
func TestRefusesInternal(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	s := &notify.Sender{Timeout: 2 * time.Second}
	d := &vigil.Delivery{Key: "vgd_k", Message: message()}
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::]", "127.1"} {
		for _, kind := range []vigil.ChannelKind{vigil.ChannelWebhook, vigil.ChannelSlack, vigil.ChannelTeams} {
			c := &vigil.Channel{Kind: kind, URL: "http://" + host + ":" + port + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true}
			err := s.Send(t.Context(), &vigil.Outbound{Delivery: d, Channel: c})
			if err == nil || !notify.IsPermanent(err) {
				t.Errorf("%s to %s: %v, want a permanent refusal", kind, host, err)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server on 127.0.0.1 got %d requests", n)
	}
	for _, c := range []*vigil.Channel{
		{Kind: vigil.ChannelSlack, URL: "https://chat.example.org/services/x", Enabled: true},
		{Kind: vigil.ChannelTeams, URL: "https://hooks.slack.com/services/x", Enabled: true},
	} {
		err := s.Send(t.Context(), &vigil.Outbound{Delivery: d, Channel: c})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "webhook") {
			t.Errorf("%s channel to %s: %v, want a permanent refusal", c.Kind, c.URL, err)
		}
	}
	ms := startSMTP(t, false)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		c := emailChannel(ms, "x")
		c.SMTP.Host, c.SMTP.Security, c.SMTP.Username = host, "none", ""
		err := s.Send(t.Context(), &vigil.Outbound{Delivery: &vigil.Delivery{Key: "vgd_k", Recipients: []string{"soc@example.org"}, Message: message()}, Channel: c})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "outbound-allow") {
			t.Errorf("SMTP on %s: %v, want a permanent refusal", host, err)
		}
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.sessions != 0 {
		t.Errorf("the SMTP server on 127.0.0.1 had %d sessions", ms.sessions)
	}
}

// TestErrorKeepsNoBody: a receiver's answer other than 2xx is logged as
// its status and the standard reason alone; its body and its own reason
// phrase (which an internal service could fill with its data) are not.
func TestErrorKeepsNoBody(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				http.ReadRequest(bufio.NewReader(c))
				body := "root:x:0:0:root:/root:/bin/bash internal-secret"
				io.WriteString(c, "HTTP/1.1 500 reason-secret\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: "+
					strconv.Itoa(len(body))+"\r\n\r\n"+body)
			}()
		}
	}()
	s := &notify.Sender{Timeout: 2 * time.Second, Allow: loopback}
	c := &vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://" + l.Addr().String() + "/", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Enabled: true}
	err = s.Send(t.Context(), &vigil.Outbound{Delivery: &vigil.Delivery{Key: "vgd_k", Message: message()}, Channel: c})
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("500: %v, want a retryable error", err)
	}
	if got, want := err.Error(), "the receiver answered HTTP 500 Internal Server Error"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}
