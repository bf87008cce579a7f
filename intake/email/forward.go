package email

import (
	"net/mail"
	"strings"
	"time"
)

// forwardMarkers start the forwarded message in a body, as the common mail
// programs write it: Gmail, Outlook (old and new), Apple Mail, Thunderbird.
var forwardMarkers = []string{
	"---------- forwarded message ---------",
	"-------- forwarded message --------",
	"-----original message-----",
	"________________________________",
	"begin forwarded message:",
	"-------- original message --------",
}

// markerAt returns the byte offset of the first forward marker line in
// text followed by a From: line, and the offset just after that marker
// line; -1 if there is none.
func markerAt(text string) (start, after int) {
	lower := asciiLower(text) // same length as text, so its offsets are text's
	best, bestAfter := -1, -1
	for _, mk := range forwardMarkers {
		from := 0
		for {
			i := strings.Index(lower[from:], mk)
			if i < 0 {
				break
			}
			i += from
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				end = len(text) - i
			}
			next := i + end
			if hasFromSoon(text[min(next+1, len(text)):]) && (best < 0 || i < best) {
				best, bestAfter = i, min(next+1, len(text))
				break
			}
			from = i + len(mk)
		}
	}
	return best, bestAfter
}

// hasFromSoon reports whether a From: line starts within the first few
// lines of s.
func hasFromSoon(s string) bool {
	for i, line := range strings.SplitN(s, "\n", 6) {
		line = strings.TrimSpace(strings.Trim(line, "*>\r"))
		l := strings.ToLower(line)
		if strings.HasPrefix(l, "from:") || strings.HasPrefix(l, "von:") || strings.HasPrefix(l, "de :") || strings.HasPrefix(l, "de:") {
			return true
		}
		if line != "" && i > 2 {
			return false
		}
	}
	return false
}

// inlineForward reads a forward written into the body (Gmail's "Forwarded
// message", Outlook's "From: … Sent: …" block) into the suspect's header
// fields and text; nil when text holds none.
func inlineForward(text string) *Message {
	start, after := markerAt(text)
	if start < 0 {
		return nil
	}
	m := &Message{URLs: []string{}, Domains: []string{}, Addresses: []string{}, Attachments: []*Attachment{}}
	rest := text[after:]
	lines := strings.Split(rest, "\n")
	i := 0
	for ; i < len(lines) && i < 40; i++ {
		line := strings.TrimSpace(strings.Trim(strings.TrimSpace(lines[i]), "*>"))
		if line == "" {
			if m.From != nil {
				break
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			break
		}
		v = strings.TrimSpace(strings.Trim(strings.TrimSpace(v), "*"))
		switch strings.ToLower(strings.TrimSpace(strings.Trim(k, "*"))) {
		case "from", "von", "de":
			m.From = looseAddresses(v)
		case "reply-to":
			m.ReplyTo = looseAddresses(v)
		case "to", "an", "à", "a":
			m.To = looseAddresses(v)
		case "subject", "betreff", "objet", "asunto":
			m.Subject = clip(v, 1000)
		case "date", "sent", "gesendet", "envoyé", "enviado":
			m.DateText = clip(v, 200)
			m.Date = looseDate(v)
		case "cc":
		default:
			if m.From == nil {
				return nil
			}
			i = len(lines)
		}
	}
	if m.From == nil {
		return nil
	}
	if i < len(lines) {
		m.Text = clip(strings.TrimSpace(strings.Join(lines[i:], "\n")), MaxText)
	}
	return m
}

// noteAbove returns what a reporter wrote above an inline forward (the
// whole text when there is none).
func noteAbove(text string) string {
	if start, _ := markerAt(text); start >= 0 {
		return text[:start]
	}
	return text
}

// looseAddresses reads the addresses of an inline forward's From or To
// line: "Name <a@b>", "Name [mailto:a@b]", "a@b".
func looseAddresses(v string) []Address {
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: a.Name, Address: strings.ToLower(a.Address)})
		}
		return out
	}
	var out []Address
	for _, a := range emailRE.FindAllString(v, 20) {
		name := ""
		if len(out) == 0 {
			if i := strings.IndexAny(v, "<["); i > 0 {
				name = strings.Trim(strings.TrimSpace(v[:i]), `"`)
			}
		}
		out = append(out, Address{Name: name, Address: strings.ToLower(a)})
	}
	return out
}

var looseDateLayouts = []string{
	"Mon, 2 Jan 2006 at 15:04",        // Gmail
	"Mon, Jan 2, 2006 at 3:04 PM",     // Gmail (US)
	"Monday, January 2, 2006 3:04 PM", // Outlook (US)
	"Monday, 2 January 2006 15:04",    // Outlook (UK)
	"02 January 2006 15:04",           // Outlook (UK, short)
	"2 January 2006 15:04",
	"January 2, 2006 at 3:04:05 PM MST", // Apple Mail
}

func looseDate(v string) time.Time {
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	for _, l := range looseDateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// parseReceived reads one Received header: from, by, with and the date
// after the last ";".
func parseReceived(v string) Hop {
	v = unfold(v)
	h := Hop{Raw: clip(v, 1000)}
	words := v
	if i := strings.LastIndexByte(v, ';'); i >= 0 {
		words = v[:i]
		if t, err := mail.ParseDate(strings.TrimSpace(v[i+1:])); err == nil {
			h.At = t
		}
	}
	f := strings.Fields(stripComments(words))
	for i := 0; i+1 < len(f); i++ {
		switch strings.ToLower(f[i]) {
		case "from":
			h.From = clip(f[i+1], 255)
		case "by":
			h.By = clip(f[i+1], 255)
		case "with":
			h.With = clip(f[i+1], 50)
		}
	}
	return h
}

// stripComments removes RFC 5322 comments (nested parentheses).
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseAuthResults reads an Authentication-Results header (RFC 8601):
// the server that recorded it, then "method=result property=value …"
// statements separated by ";".
func parseAuthResults(v string) []AuthResult {
	parts := strings.Split(stripComments(unfold(v)), ";")
	if len(parts) == 0 {
		return nil
	}
	server := strings.Fields(parts[0])
	srv := ""
	if len(server) > 0 {
		srv = clip(server[0], 255)
	}
	var out []AuthResult
	for _, p := range parts[1:] {
		f := strings.Fields(p)
		if len(f) == 0 {
			continue
		}
		method, result, ok := strings.Cut(f[0], "=")
		if !ok || method == "" || result == "" {
			continue
		}
		method = strings.ToLower(method)
		if i := strings.IndexByte(method, '/'); i >= 0 {
			method = method[:i] // "dkim/1" version suffixes
		}
		out = append(out, AuthResult{Server: srv, Method: method, Result: strings.ToLower(result),
			Detail: clip(strings.Join(f[1:], " "), 500)})
	}
	return out
}

// asciiLower lower-cases the ASCII letters of s and nothing else, so that
// the result's byte offsets are s's (strings.ToLower may change lengths).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
