package email

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// urlSet keeps distinct links in order, at most MaxURLs.
type urlSet struct {
	list []string
	seen map[string]bool
	more int
}

func (s *urlSet) add(raw string) string {
	u := Unwrap(strings.TrimSpace(raw))
	if u == "" {
		return ""
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[u] {
		return u
	}
	if len(s.list) >= MaxURLs {
		s.more++
		return u
	}
	s.seen[u] = true
	s.list = append(s.list, u)
	return u
}

var urlRE = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'\x60{}|\\^\[\]]+`)

// findURLs returns the links written in text, their trailing punctuation
// trimmed.
func findURLs(text string) []string {
	var out []string
	for _, m := range urlRE.FindAllString(text, MaxURLs+1) {
		m = strings.TrimRight(m, ".,;:!?)>'\"")
		if strings.HasPrefix(strings.ToLower(m), "www.") {
			m = "http://" + m
		}
		if hostOf(m) != "" {
			out = append(out, m)
		}
	}
	return out
}

// htmlURLs reads the links of an HTML document: the targets of links,
// areas, forms, frames and images, and links written in its text. A link
// whose text shows another address than its target is deceptive.
func (b *body) htmlURLs(doc []byte) {
	z := html.NewTokenizer(bytes.NewReader(doc))
	var href string // the open <a>'s target
	var shown strings.Builder
	inScript := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if tag == "script" || tag == "style" {
				inScript = tt == html.StartTagToken
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "href", "src", "action", "formaction", "background", "data-saferedirecturl":
					s := strings.TrimSpace(string(v))
					if !isWebLink(s) {
						continue
					}
					u := b.urls.add(s)
					if tag == "a" && string(k) == "href" {
						href = u
						shown.Reset()
					}
				}
			}
			if tag == "br" || tag == "p" || tag == "div" || tag == "tr" || tag == "li" {
				b.htmlText.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "a":
				if href != "" {
					b.checkShown(strings.TrimSpace(shown.String()), href)
				}
				href = ""
			case "script", "style":
				inScript = false
			}
		case html.TextToken:
			if inScript {
				continue
			}
			t := string(z.Text())
			if b.htmlText.Len() < MaxText {
				b.htmlText.WriteString(t)
			}
			if href != "" {
				// A link's text is what it shows, not where it goes.
				shown.WriteString(t)
			} else {
				b.textURLs(t)
			}
		}
	}
}

// checkShown notes a link whose visible text is an address on another
// host than the link's target.
func (b *body) checkShown(text, href string) {
	links := findURLs(text)
	if len(links) == 0 {
		return
	}
	shown := Unwrap(links[0])
	if h := hostOf(shown); h != "" && h != hostOf(href) && len(b.deceptive) < 100 {
		b.deceptive = append(b.deceptive, DeceptiveLink{Shown: shown, Href: href})
	}
}

func isWebLink(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "//")
}

// hostOf returns a link's host, lower-case, without port; "" when it has none.
func hostOf(s string) string {
	if strings.HasPrefix(s, "//") {
		s = "http:" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if h == "" || strings.ContainsAny(h, " %") {
		return ""
	}
	return h
}

// Unwrap returns the link a rewriting gateway hid behind its own: Microsoft
// Defender for Office 365 Safe Links (*.safelinks.protection.outlook.com,
// the "url" parameter), Proofpoint URL Defense v1 and v2
// (urldefense.proofpoint.com/v1|v2/url?u=…) and v3
// (urldefense.com/v3/__URL__;…!!…), and Google's redirector
// (www.google.com/url?q=…). Links rewritten twice are unwrapped twice. Any
// other link is returned as it is ("" for one that is not a link).
func Unwrap(s string) string {
	if strings.HasPrefix(s, "//") {
		s = "http:" + s
	}
	for range 5 {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			if err != nil {
				return ""
			}
			return s
		}
		host := strings.ToLower(u.Hostname())
		var inner string
		switch {
		case strings.HasSuffix(host, ".safelinks.protection.outlook.com"):
			inner = u.Query().Get("url")
		case host == "urldefense.proofpoint.com" && (strings.HasPrefix(u.Path, "/v2/url") || strings.HasPrefix(u.Path, "/v1/url")):
			inner = u.Query().Get("u")
			if strings.HasPrefix(u.Path, "/v2/") {
				inner = strings.NewReplacer("-", "%", "_", "/").Replace(inner)
				if d, err := url.PathUnescape(inner); err == nil {
					inner = d
				} else {
					inner = ""
				}
			}
		case (host == "urldefense.com" || host == "urldefense.proofpoint.com") && strings.HasPrefix(u.Path, "/v3/"):
			inner = proofpointV3(s)
		case (host == "www.google.com" || host == "google.com") && u.Path == "/url":
			inner = u.Query().Get("q")
			if inner == "" {
				inner = u.Query().Get("url")
			}
		}
		if inner == "" || !isWebLink(inner) {
			return s
		}
		s = inner
	}
	return s
}

var v3RE = regexp.MustCompile(`v3/__(.+?)__;([^!]*)!`)

// v3Runs maps the letter after "**" in a v3 link to the length of the run
// of characters it stands for (A = 2, B = 3, …), as Proofpoint's decoder does.
var v3Runs = func() map[byte]int {
	m := map[byte]int{}
	for i, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		m[c] = i + 2
	}
	return m
}()

// proofpointV3 decodes a URL Defense v3 link: the original URL sits between
// "__" and "__;", with each "*" standing for the next character of the
// base64url text after ";", and "**X" for a run of them.
func proofpointV3(s string) string {
	m := v3RE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	enc := strings.TrimRight(m[2], "=")
	dec, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	chars := []rune(string(dec))
	var out strings.Builder
	embedded := m[1]
	pos := 0
	for i := 0; i < len(embedded); i++ {
		c := embedded[i]
		if c != '*' {
			out.WriteByte(c)
			continue
		}
		if i+2 < len(embedded) && embedded[i+1] == '*' {
			n, ok := v3Runs[embedded[i+2]]
			if !ok || pos+n > len(chars) {
				return ""
			}
			out.WriteString(string(chars[pos : pos+n]))
			pos += n
			i += 2
			continue
		}
		if pos >= len(chars) {
			return ""
		}
		out.WriteRune(chars[pos])
		pos++
	}
	return out.String()
}
