package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/outbound"
)

// sendEmail sends one message over SMTP: STARTTLS (required, never
// skipped when the server does not offer it), implicit TLS, or plain for
// a relay on localhost; AUTH PLAIN when a username is set. The whole
// session is bounded by the context's deadline. The server's address is
// checked as a webhook's is: an internal relay must be allowed.
func (s *Sender) sendEmail(ctx context.Context, c *vigil.Channel, d *vigil.Delivery) error {
	cfg := c.SMTP
	if cfg == nil {
		return permanent("the channel has no SMTP settings")
	}
	if len(d.Recipients) == 0 {
		return permanent("no recipients")
	}
	msg, err := BuildEmail(cfg.From, d.Recipients, d.Key, &d.Message, s.link(&d.Message), s.now())
	if err != nil {
		return permanent("%v", err)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	dialer := &outbound.Dialer{Allow: s.Allow}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if be := outbound.Blocked(err); be != nil {
			return &Error{Permanent: true, Err: be}
		}
		return &Error{Err: fmt.Errorf("cannot reach the SMTP server %s: %v", addr, err)}
	}
	raw := conn
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	// Cancelling ctx (shutdown) ends the session too.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if cfg.Security == "tls" {
		conn = tls.Client(conn, s.tlsConfig(cfg.Host))
	}
	cl, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return smtpError("greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello("vigil"); err != nil {
		return smtpError("EHLO", err)
	}
	if cfg.Security == "starttls" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return permanent("the SMTP server %s does not offer STARTTLS; Vigil will not send in the clear (set security to tls or, for a local relay, none)", addr)
		}
		if err := cl.StartTLS(s.tlsConfig(cfg.Host)); err != nil {
			return smtpError("STARTTLS", err)
		}
	}
	if cfg.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)); err != nil {
			return smtpError("AUTH", err)
		}
	}
	if err := cl.Mail(cfg.From); err != nil {
		return smtpError("MAIL FROM", err)
	}
	for _, to := range d.Recipients {
		if err := cl.Rcpt(to); err != nil {
			return smtpError("RCPT TO "+to, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("DATA", err)
	}
	cl.Quit()
	return nil
}

// smtpError classifies an SMTP failure: 5xx replies are permanent (bad
// credentials, refused recipient), 4xx and broken connections are retried.
// What the log keeps of the server's words is a well-formed reply's code
// and the start of its text; an answer that is not SMTP at all (another
// service on that port) is not repeated.
func smtpError(step string, err error) error {
	var te *textproto.Error
	var pe textproto.ProtocolError
	switch {
	case errors.As(err, &te) && te.Code >= 500:
		return &Error{Permanent: true, Err: fmt.Errorf("SMTP %s refused: %d %s", step, te.Code, cut(te.Msg, 200))}
	case errors.As(err, &te):
		return &Error{Err: fmt.Errorf("SMTP %s: %d %s", step, te.Code, cut(te.Msg, 200))}
	case errors.As(err, &pe):
		return &Error{Permanent: true, Err: fmt.Errorf("SMTP %s: the server's answer is not SMTP", step)}
	}
	if strings.Contains(err.Error(), "unencrypted connection") { // net/smtp's PlainAuth refusing to send a password in the clear
		return &Error{Permanent: true, Err: fmt.Errorf("SMTP %s: %v", step, err)}
	}
	return &Error{Err: fmt.Errorf("SMTP %s: %v", step, err)}
}

var emailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2 style="font-size: 1.1em">{{.M.Subject}}</h2>
<p>{{.M.Text}}</p>
{{- if .M.Fields}}
<table cellpadding="4" style="border-collapse: collapse">
{{- range .M.Fields}}
<tr><th align="left" valign="top">{{.Name}}</th><td style="white-space: pre-wrap">{{.Value}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .Link}}
<p><a href="{{.Link}}">Open in Vigil</a></p>
{{- end}}
</body></html>
`))

// BuildEmail writes the RFC 5322 message: a plain-text part and an HTML
// part (every value escaped by html/template), the subject encoded as RFC
// 2047 words, and the delivery key as the Message-ID so a resent copy is
// recognisably the same message.
func BuildEmail(from string, to []string, key string, m *vigil.Message, link string, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	clean := strings.NewReplacer("\r", " ", "\n", " ").Replace // no header injection
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", "Vigil <"+clean(from)+">")
	h("To", clean(strings.Join(to, ", ")))
	h("Subject", mime.QEncoding.Encode("utf-8", clean(m.Subject)))
	h("Date", now.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+clean(key)+"@vigil>")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	mw := multipart.NewWriter(&buf)
	h("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	buf.WriteString("\r\n")

	var text strings.Builder
	text.WriteString(m.Subject + "\n\n" + m.Text + "\n")
	if len(m.Fields) > 0 {
		text.WriteString("\n")
		for _, f := range m.Fields {
			text.WriteString(f.Name + ": " + f.Value + "\n")
		}
	}
	if link != "" {
		text.WriteString("\nOpen in Vigil: " + link + "\n")
	}
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, struct {
		M    *vigil.Message
		Link string
	}{m, link}); err != nil {
		return nil, err
	}
	for _, part := range []struct{ ctype, body string }{{"text/plain; charset=utf-8", text.String()}, {"text/html; charset=utf-8", html.String()}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		qp.Write([]byte(part.body))
		qp.Close()
	}
	mw.Close()
	return buf.Bytes(), nil
}
