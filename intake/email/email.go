// Package email reads a reported e-mail — usually a member of staff's
// forward of a suspected phishing message — into what a responder needs:
// who reported it, and of the suspect message its senders, subject, date,
// Message-ID, Received chain, the receiving server's SPF/DKIM/DMARC
// verdicts, the links (text and HTML, unwrapped from Microsoft Safe Links
// and Proofpoint URL Defense), their domains, and the attachments with
// their digests. It parses MIME with github.com/emersion/go-message (every
// transfer encoding, RFC 2047 headers and the legacy charsets of
// golang.org/x/text) and HTML with golang.org/x/net/html; it does no I/O.
//
// Parse never fails on a malformed message: it returns what it could read
// and says, in Problems, what it could not.
package email

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // legacy charsets (ISO-8859-*, Windows-125x, Shift_JIS, GB2312, KOI8-R…)
	gomail "github.com/emersion/go-message/mail"
)

// Limits on what one message may make the parser hold or do.
const (
	MaxDepth       = 20        // nested multiparts and attached messages
	MaxParts       = 1000      // MIME parts in all
	MaxURLs        = 1000      // distinct links kept
	MaxText        = 2 << 20   // bytes of text and HTML read for links
	MaxAttachments = 100       // attachments kept (with their content)
	maxHeaderBytes = 256 << 10 // one header block
)

// Report is a reported message: who reported it (the outer sender, when
// the message is a forward) and the suspect (the forwarded message, or the
// message itself when it was not forwarded).
type Report struct {
	// Reporter is the sender of the outer message when the suspect was
	// forwarded (attached or inline); nil when the message came as it was.
	Reporter *Address `json:"reporter,omitempty"`
	// ReportNote is what the reporter wrote above the forward (plain text,
	// at most 2,000 characters).
	ReportNote string `json:"report_note,omitempty"`
	// Forward says how the suspect was found: "attached" (message/rfc822
	// or an .eml file), "inline" (Outlook's or Gmail's forward in the
	// body), or "none" (the message is the suspect).
	Forward string   `json:"forward"`
	Suspect *Message `json:"suspect"`
	// SuspectRaw is the suspect's bytes as received: the attached message,
	// or the whole message when it was not attached.
	SuspectRaw []byte `json:"-"`
	// Problems say what could not be read: an unknown charset, a MIME tree
	// cut short, a header that is not an address.
	Problems []string `json:"problems,omitempty"`
}

// Address is a mailbox: a display name and an address (lower-cased).
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

func (a Address) String() string {
	if a.Name == "" {
		return a.Address
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Address)
}

// Message is what was read of one message.
type Message struct {
	From       []Address `json:"from"`
	Sender     []Address `json:"sender,omitempty"`
	ReplyTo    []Address `json:"reply_to,omitempty"`
	ReturnPath string    `json:"return_path,omitempty"`
	To         []Address `json:"to,omitempty"`
	Subject    string    `json:"subject"`
	// Date is the Date header; zero when absent or unreadable (DateText
	// keeps what it said).
	Date      time.Time `json:"date,omitzero"`
	DateText  string    `json:"date_text,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	// Received is the Received chain, newest (top) first.
	Received []Hop `json:"received,omitempty"`
	// Auth is every verdict of the Authentication-Results headers (and
	// Received-SPF), top first.
	Auth []AuthResult `json:"auth,omitempty"`
	// URLs are the distinct links, unwrapped, in order of appearance.
	URLs []string `json:"urls"`
	// Deceptive are links whose visible text names another address than
	// the one they go to ("https://bank.example" showing, evil.example
	// underneath).
	Deceptive []DeceptiveLink `json:"deceptive,omitempty"`
	// Domains are the links' hosts and the senders' domains, lower-case.
	Domains []string `json:"domains"`
	// Addresses are the sender addresses: From, Sender, Reply-To and
	// Return-Path.
	Addresses   []string      `json:"addresses"`
	Attachments []*Attachment `json:"attachments"`
	// Text is the plain text of the body (from text/plain, else from the
	// HTML's text), at most MaxText bytes; HTML is never kept to render.
	Text     string `json:"text,omitempty"`
	HasHTML  bool   `json:"has_html"`
	moreURLs int
}

// Hop is one Received header.
type Hop struct {
	From string    `json:"from,omitempty"`
	By   string    `json:"by,omitempty"`
	With string    `json:"with,omitempty"`
	At   time.Time `json:"at,omitzero"`
	Raw  string    `json:"raw"`
}

// AuthResult is one verdict of an Authentication-Results header: the
// method (spf, dkim, dmarc, arc…), the result (pass, fail, softfail,
// neutral, none, temperror, permerror…), who recorded it, and the rest.
type AuthResult struct {
	Server string `json:"server,omitempty"`
	Method string `json:"method"`
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
}

// DeceptiveLink is a link whose text shows one address and goes to another.
type DeceptiveLink struct {
	Shown string `json:"shown"`
	Href  string `json:"href"`
}

// Attachment is a file carried by the suspect message.
type Attachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	SHA1      string `json:"sha1"`
	MD5       string `json:"md5"`
	// Truncated: the part ended before its MIME boundary (the message was
	// cut short), so the content is what arrived.
	Truncated bool   `json:"truncated,omitempty"`
	Content   []byte `json:"-"`
}

// Verdict returns the first (topmost) result recorded for method, or "".
func (m *Message) Verdict(method string) string {
	for _, a := range m.Auth {
		if a.Method == method {
			return a.Result
		}
	}
	return ""
}

// Parse reads raw, a message as received (RFC 5322, any MIME), into a
// Report. It returns an error only for an empty input; anything else that
// cannot be read is noted in the Report's Problems.
func Parse(raw []byte) (*Report, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("the message is empty")
	}
	p := &parser{}
	outer := p.message(raw, 0)
	r := &Report{Forward: "none", Suspect: outer, SuspectRaw: raw}
	if inner, innerRaw := p.attached, p.attachedRaw; inner != nil {
		r.Forward, r.Suspect, r.SuspectRaw = "attached", inner, innerRaw
	} else if in := inlineForward(outer.Text); in != nil {
		r.Forward, r.Suspect = "inline", in
		// The links of an inline forward are the outer body's below the
		// marker; the outer message's attachments are the suspect's.
		in.Attachments = outer.Attachments
		in.HasHTML = outer.HasHTML
		in.Deceptive = outer.Deceptive
		u := &urlSet{}
		for _, s := range outer.URLs {
			u.add(s)
		}
		in.URLs, in.moreURLs = u.list, outer.moreURLs
		in.finish()
	}
	if r.Forward != "none" && len(outer.From) > 0 {
		a := outer.From[0]
		r.Reporter = &a
		r.ReportNote = clip(strings.TrimSpace(noteAbove(outer.Text)), 2000)
	}
	r.Problems = p.problems
	if r.Suspect.moreURLs > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("The message holds more than %d distinct links; the first %d are kept.", MaxURLs, MaxURLs))
	}
	return r, nil
}

type parser struct {
	parts       int
	problems    []string
	attached    *Message // the innermost attached message on the first chain
	attachedRaw []byte
}

func (p *parser) problem(format string, args ...any) {
	if len(p.problems) < 50 {
		p.problems = append(p.problems, fmt.Sprintf(format, args...))
	}
}

// message reads one message (the outer one, or an attached one at depth).
func (p *parser) message(raw []byte, depth int) *Message {
	m := &Message{URLs: []string{}, Domains: []string{}, Addresses: []string{}, Attachments: []*Attachment{}}
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	if e == nil {
		p.problem("The message's header could not be read (%v); its text is searched for links as it is.", plainErr(err))
		b := &body{urls: &urlSet{}}
		b.text.Write(raw[:min(len(raw), MaxText)])
		m.Text = b.text.String()
		b.textURLs(m.Text)
		m.URLs, m.moreURLs = b.urls.list, b.urls.more
		m.finish()
		return m
	}
	if err != nil {
		p.problem("%s", describe(err, "the message"))
	}
	p.headers(m, gomail.Header{Header: e.Header})
	b := &body{urls: &urlSet{}}
	p.walk(e, b, m, depth)
	m.Text = b.text.String()
	if m.Text == "" && b.htmlText.Len() > 0 {
		m.Text = b.htmlText.String()
	}
	m.HasHTML = b.html
	m.Deceptive = b.deceptive
	m.URLs, m.moreURLs = b.urls.list, b.urls.more
	m.finish()
	return m
}

// body gathers what a message's parts hold.
type body struct {
	text, htmlText strings.Builder
	html           bool
	urls           *urlSet
	deceptive      []DeceptiveLink
}

func (b *body) textURLs(s string) {
	for _, u := range findURLs(s) {
		b.urls.add(u)
	}
}

// walk reads entity e, a part of m's tree.
func (p *parser) walk(e *message.Entity, b *body, m *Message, depth int) {
	p.parts++
	if p.parts > MaxParts {
		if p.parts == MaxParts+1 {
			p.problem("The message has more than %d MIME parts; the rest are not read.", MaxParts)
		}
		return
	}
	if depth > MaxDepth {
		p.problem("The MIME tree nests more than %d deep; the deeper parts are not read.", MaxDepth)
		return
	}
	mediaType, params, _ := e.Header.ContentType()
	if mediaType == "" {
		mediaType = "text/plain"
	}
	if mr := e.MultipartReader(); mr != nil {
		before := -1 // the attachments m had before the last part
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil && part == nil {
				// The part read last ended at the cut, not at its boundary.
				if before >= 0 && len(m.Attachments) > before {
					m.Attachments[len(m.Attachments)-1].Truncated = true
				}
				p.problem("The MIME part list of a %s ends early (%s): the message looks truncated; what came before is kept.", mediaType, plainErr(err))
				break
			}
			if err != nil {
				p.problem("%s", describe(err, "a part"))
			}
			before = len(m.Attachments)
			p.walk(part, b, m, depth+1)
		}
		return
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := decodeName(dparams["filename"])
	if name == "" {
		name = decodeName(params["name"])
	}
	content, truncated := readAll(e.Body)
	if truncated != nil {
		p.problem("A %s part could not be read to its end (%s); what arrived is kept.", mediaType, plainErr(truncated))
	}
	isMessage := mediaType == "message/rfc822" || (strings.HasSuffix(strings.ToLower(name), ".eml") &&
		(mediaType == "application/octet-stream" || strings.HasPrefix(mediaType, "text/") || mediaType == "application/eml"))
	if isMessage && len(bytes.TrimSpace(content)) > 0 {
		inner := p.message(content, depth+1)
		// The first attached message is the forward; if it carries an
		// attached message itself (forwarded twice), that one is. The
		// walk reaches the deeper one first.
		if p.attached == nil {
			p.attached, p.attachedRaw = inner, content
		}
		return
	}
	attachment := strings.EqualFold(disp, "attachment") || name != "" ||
		!(strings.HasPrefix(mediaType, "text/plain") || strings.HasPrefix(mediaType, "text/html"))
	if attachment {
		if len(m.Attachments) >= MaxAttachments {
			p.problem("More than %d attachments; the rest are not kept.", MaxAttachments)
			return
		}
		if name == "" {
			name = "attachment"
		}
		a := &Attachment{Name: clip(name, 255), MediaType: mediaType, Size: int64(len(content)), Content: content,
			Truncated: truncated != nil}
		a.SHA256, a.SHA1, a.MD5 = digests(content)
		m.Attachments = append(m.Attachments, a)
		if mediaType == "text/html" || strings.HasSuffix(strings.ToLower(name), ".html") || strings.HasSuffix(strings.ToLower(name), ".htm") {
			// An HTML attachment is a classic credential-phishing form:
			// its links and form targets are the message's too.
			b.htmlURLs(content)
		}
		return
	}
	if !utf8.Valid(content) {
		content = bytes.ToValidUTF8(content, []byte("\uFFFD"))
	}
	room := MaxText - b.text.Len() - b.htmlText.Len()
	if room <= 0 {
		return
	}
	if len(content) > room {
		content = content[:room]
	}
	if mediaType == "text/html" {
		b.html = true
		b.htmlURLs(content)
	} else {
		if b.text.Len() > 0 {
			b.text.WriteByte('\n')
		}
		b.text.Write(content)
		b.textURLs(string(content))
	}
}

// readAll reads a part's decoded body up to the size of the message (the
// caller bounded that), returning what it read and why it stopped early.
func readAll(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func decodeName(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			s = d
		}
	}
	return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("unhandled charset %q", charset)
	}
	return message.CharsetReader(charset, input)
}}

func digests(b []byte) (s256, s1, m5 string) {
	a := sha256.Sum256(b)
	c := sha1.Sum(b)
	d := md5.Sum(b)
	return hex.EncodeToString(a[:]), hex.EncodeToString(c[:]), hex.EncodeToString(d[:])
}

// headers reads the header fields of m.
func (p *parser) headers(m *Message, h gomail.Header) {
	m.From = p.addresses(h, "From")
	m.Sender = p.addresses(h, "Sender")
	m.ReplyTo = p.addresses(h, "Reply-To")
	m.To = p.addresses(h, "To")
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp != "" {
		rp = strings.Trim(rp, "<> \t")
		m.ReturnPath = strings.ToLower(rp)
	}
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = h.Get("Subject")
		p.problem("The subject's encoding could not be read (%s); it is shown as sent.", plainErr(err))
	}
	m.Subject = clip(strings.TrimSpace(strings.ToValidUTF8(m.Subject, "\uFFFD")), 1000)
	if d := strings.TrimSpace(h.Get("Date")); d != "" {
		m.DateText = clip(strings.ToValidUTF8(d, "\uFFFD"), 200)
		if t, err := mail.ParseDate(d); err == nil {
			m.Date = t
		} else {
			p.problem("The Date header %q is not a date Vigil reads.", m.DateText)
		}
	}
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = id
	} else {
		m.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	m.MessageID = clip(strings.ToValidUTF8(m.MessageID, "\uFFFD"), 500)
	fields := h.FieldsByKey("Received")
	for fields.Next() && len(m.Received) < 100 {
		m.Received = append(m.Received, parseReceived(fields.Value()))
	}
	fields = h.FieldsByKey("Authentication-Results")
	for fields.Next() && len(m.Auth) < 100 {
		m.Auth = append(m.Auth, parseAuthResults(fields.Value())...)
	}
	fields = h.FieldsByKey("Received-SPF")
	for fields.Next() && len(m.Auth) < 100 {
		v := strings.TrimSpace(unfold(fields.Value()))
		res, rest, _ := strings.Cut(v, " ")
		if res != "" {
			m.Auth = append(m.Auth, AuthResult{Method: "spf", Result: strings.ToLower(res), Detail: clip("Received-SPF: "+strings.TrimSpace(rest), 500)})
		}
	}
}

func (p *parser) addresses(h gomail.Header, key string) []Address {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil
	}
	list, err := h.AddressList(key)
	if err != nil || len(list) == 0 {
		// Phishers write broken headers: find what looks like addresses.
		var out []Address
		for _, a := range emailRE.FindAllString(v, 10) {
			out = append(out, Address{Address: strings.ToLower(a)})
		}
		if len(out) == 0 {
			p.problem("The %s header holds no address Vigil reads: %q.", key, clip(v, 200))
		}
		return out
	}
	out := make([]Address, 0, len(list))
	for _, a := range list {
		out = append(out, Address{Name: clip(strings.ToValidUTF8(a.Name, "\uFFFD"), 200), Address: strings.ToLower(a.Address)})
	}
	return out
}

// finish fills Domains and Addresses from what was read.
func (m *Message) finish() {
	seen := map[string]bool{}
	m.Addresses = m.Addresses[:0]
	addAddr := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" || seen[a] || !strings.Contains(a, "@") {
			return
		}
		seen[a] = true
		m.Addresses = append(m.Addresses, a)
	}
	for _, l := range [][]Address{m.From, m.Sender, m.ReplyTo} {
		for _, a := range l {
			addAddr(a.Address)
		}
	}
	addAddr(m.ReturnPath)
	m.Domains = m.Domains[:0]
	seenD := map[string]bool{}
	addDomain := func(d string) {
		d = strings.TrimSuffix(strings.ToLower(d), ".")
		if d == "" || seenD[d] || len(m.Domains) >= MaxURLs {
			return
		}
		seenD[d] = true
		m.Domains = append(m.Domains, d)
	}
	for _, a := range m.Addresses {
		if _, d, ok := strings.Cut(a, "@"); ok {
			addDomain(d)
		}
	}
	for _, u := range m.URLs {
		addDomain(hostOf(u))
	}
}

// describe turns a go-message error into a sentence.
func describe(err error, what string) string {
	switch {
	case message.IsUnknownCharset(err):
		return fmt.Sprintf("The charset of %s is not one Vigil knows (%s); its text is read as it is.", what, plainErr(err))
	case message.IsUnknownEncoding(err):
		return fmt.Sprintf("The transfer encoding of %s is not one Vigil knows (%s); it is read as it is.", what, plainErr(err))
	}
	return fmt.Sprintf("Part of %s could not be read: %s.", what, plainErr(err))
}

func plainErr(err error) string {
	if err == nil {
		return "no error"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends early"
	}
	return clip(err.Error(), 200)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func unfold(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// NormalizeSubject reduces a subject to what a campaign's messages share:
// without reply and forward prefixes in the common languages (Re, Fw, Fwd,
// AW, WG, TR, SV, RV), bracketed tags such as [EXTERNAL] or [SPAM], and
// spacing, lower-cased.
func NormalizeSubject(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	for {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "[") || strings.HasPrefix(t, "(") {
			closer := "]"
			if t[0] == '(' {
				closer = ")"
			}
			if i := strings.Index(t, closer); i > 0 && i < 30 {
				t = t[i+1:]
			}
		}
		t = strings.TrimSpace(t)
		if m := subjectPrefixRE.FindStringIndex(t); m != nil {
			t = t[m[1]:]
		}
		t = strings.TrimSpace(t)
		if t == s {
			return t
		}
		s = t
	}
}

var subjectPrefixRE = regexp.MustCompile(`^(re|fw|fwd|aw|wg|tr|sv|vs|rv|enc|antw|doorst)(\[\d+\])?\s*:`)
