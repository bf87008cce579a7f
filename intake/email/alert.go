package email

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// Source says where a message came from, for its alert and its evidence's
// chain of custody.
type Source struct {
	// From is the mailbox or channel: "upload to integration phishing",
	// "imap://mail.example.org/Phishing".
	From string
	// Method is how it was acquired: "POST /api/v1/intake/email",
	// "IMAP FETCH BODY.PEEK[] UID 42".
	Method string
	// At is when it was received.
	At time.Time
	// Truncated: the message was longer than the limit and Raw is its
	// first Limit bytes.
	Truncated bool
	Limit     int64
	Size      int64 // the size received (at least Limit+1 when truncated)
}

// Alert turns a reported message into an alert of kind email, prepared
// with in's defaults: its observables are the suspect's link domains,
// each attachment's SHA-256, the sender addresses and domains, and the
// links; its labels carry what grouping and the triage queue need; its
// files are the message as received and each attachment, to keep as
// evidence. raw is the message as received (cut at the limit when
// src.Truncated).
func (r *Report) Alert(in *vigil.Integration, raw []byte, src Source) *vigil.AlertInput {
	s := r.Suspect
	subject := s.Subject
	if subject == "" {
		subject = "(no subject)"
	}
	a := &vigil.AlertInput{Title: "Reported e-mail: " + subject, At: src.At, ObservablesOnly: true, Labels: map[string]string{}}
	// One alert per reporter and suspect: the same upload sent again, or
	// the same person reporting the same message twice, is a repeat.
	h := sha256.New()
	reporter := ""
	if r.Reporter != nil {
		reporter = r.Reporter.Address
	}
	id := s.MessageID
	if id == "" {
		sum := sha256.Sum256(r.SuspectRaw)
		id = hex.EncodeToString(sum[:])
	}
	fmt.Fprintf(h, "email\x00%s\x00%s", reporter, id)
	if reporter == "" {
		sum := sha256.Sum256(raw)
		h.Write(sum[:])
	}
	a.Fingerprint = hex.EncodeToString(h.Sum(nil))[:32]

	senderDomain := ""
	if len(s.From) > 0 {
		if _, d, ok := strings.Cut(s.From[0].Address, "@"); ok {
			senderDomain = d
		}
		a.Labels["email.from"] = s.From[0].String()
	}
	label := func(k, v string) {
		if v != "" {
			a.Labels[k] = v
		}
	}
	label("email.sender_domain", senderDomain)
	label("email.subject", s.Subject)
	label("email.subject_key", NormalizeSubject(s.Subject))
	label("email.message_id", s.MessageID)
	label("email.return_path", s.ReturnPath)
	if len(s.ReplyTo) > 0 {
		label("email.reply_to", s.ReplyTo[0].String())
	}
	label("email.date", s.DateText)
	label("email.forward", r.Forward)
	if r.Reporter != nil {
		label("email.reporter", r.Reporter.String())
	}
	for _, m := range []string{"spf", "dkim", "dmarc"} {
		label("email."+m, s.Verdict(m))
	}
	if src.Truncated {
		a.Labels["email.truncated"] = "true"
	}
	a.Labels["email.links"] = fmt.Sprint(len(s.URLs))
	a.Labels["email.attachments"] = fmt.Sprint(len(s.Attachments))

	a.Description = r.describe(src)

	// Observables, most telling first (an alert keeps at most
	// vigil.MaxAlertObservables): attachments' digests, the links'
	// domains, the senders, then the links.
	add := func(t vigil.ObservableType, v string) {
		a.Observables = append(a.Observables, vigil.ObservableInput{Type: t, Value: v})
	}
	for _, at := range s.Attachments {
		add(vigil.ObsSHA256, at.SHA256)
	}
	linkHosts := map[string]bool{}
	for _, u := range s.URLs {
		if h := hostOf(u); h != "" && !linkHosts[h] {
			linkHosts[h] = true
			add(vigil.ObsDomain, h)
		}
	}
	for _, d := range s.Domains {
		if !linkHosts[d] {
			add(vigil.ObsDomain, d)
		}
	}
	for _, ad := range s.Addresses {
		add(vigil.ObsEmail, ad)
	}
	for _, at := range s.Attachments {
		add(vigil.ObsFileName, at.Name)
	}
	for _, u := range s.URLs {
		add(vigil.ObsURL, u)
	}

	collected := src.At
	file := func(name, media, desc string, content []byte) {
		a.Files = append(a.Files, &vigil.AlertFile{Content: content, Evidence: vigil.Evidence{
			Name: name, MediaType: media, Description: desc, CollectedBy: "Vigil (integration " + in.Name + ")",
			CollectedAt: &collected, CollectedFrom: src.From, Method: src.Method}})
	}
	desc := "The reported message as received"
	if r.Reporter != nil {
		desc += ", from " + r.Reporter.Address
	}
	if src.Truncated {
		desc += fmt.Sprintf(". TRUNCATED: the message was %d bytes or more; only its first %d bytes are kept", src.Size, src.Limit)
	}
	file("reported-message.eml", "message/rfc822", desc+".", raw)
	if r.Forward == "attached" {
		file("suspect-message.eml", "message/rfc822", "The suspect message, as attached to the report.", r.SuspectRaw)
	}
	for _, at := range s.Attachments {
		d := "An attachment of the suspect message"
		if at.Truncated {
			d += " (truncated: the message was cut short inside it)"
		}
		file(at.Name, at.MediaType, d+".", at.Content)
	}
	return a
}

// describe writes the alert's description: plain text, never HTML.
func (r *Report) describe(src Source) string {
	s := r.Suspect
	var b strings.Builder
	if src.Truncated {
		fmt.Fprintf(&b, "TRUNCATED: the message was larger than the limit of %d bytes; only its first %d bytes were kept as evidence and read. What follows may be incomplete.\n\n", src.Limit, src.Limit)
	}
	switch r.Forward {
	case "attached":
		fmt.Fprintf(&b, "Reported by %s (the suspect message was attached).\n", r.Reporter)
	case "inline":
		fmt.Fprintf(&b, "Reported by %s (the suspect message was forwarded inline: its Received chain and authentication results are not available).\n", r.Reporter)
	default:
		b.WriteString("The message itself is the suspect (it was not forwarded).\n")
	}
	if r.ReportNote != "" {
		fmt.Fprintf(&b, "Reporter's note: %s\n", clip(r.ReportNote, 1000))
	}
	b.WriteString("\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	addrs := func(l []Address) string {
		out := make([]string, len(l))
		for i, a := range l {
			out[i] = a.String()
		}
		return strings.Join(out, ", ")
	}
	row("From", addrs(s.From))
	row("Reply-To", addrs(s.ReplyTo))
	row("Return-Path", s.ReturnPath)
	row("Subject", s.Subject)
	row("Date", s.DateText)
	row("Message-ID", s.MessageID)
	for _, m := range []string{"spf", "dkim", "dmarc"} {
		if v := s.Verdict(m); v != "" {
			row(strings.ToUpper(m), v)
		}
	}
	if len(s.Received) > 0 {
		fmt.Fprintf(&b, "Received: %d hops; first: from %s by %s\n", len(s.Received), s.Received[len(s.Received)-1].From, s.Received[len(s.Received)-1].By)
	}
	if len(s.Deceptive) > 0 {
		b.WriteString("\nDeceptive links (the text shows one address, the link goes to another):\n")
		for _, d := range s.Deceptive[:min(len(s.Deceptive), 20)] {
			fmt.Fprintf(&b, "- shows %s, goes to %s\n", d.Shown, d.Href)
		}
	}
	if len(s.Attachments) > 0 {
		b.WriteString("\nAttachments:\n")
		for _, at := range s.Attachments {
			fmt.Fprintf(&b, "- %s (%s, %d bytes) SHA-256 %s\n", at.Name, at.MediaType, at.Size, at.SHA256)
		}
	}
	if len(s.URLs) > 0 {
		fmt.Fprintf(&b, "\nLinks (%d):\n", len(s.URLs))
		for _, u := range s.URLs[:min(len(s.URLs), 50)] {
			fmt.Fprintf(&b, "- %s\n", u)
		}
		if len(s.URLs) > 50 {
			fmt.Fprintf(&b, "- … and %d more\n", len(s.URLs)-50)
		}
	}
	if len(r.Problems) > 0 {
		b.WriteString("\nWhat could not be read:\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	return b.String()
}
