package email

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func corpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, name string) *Report {
	t.Helper()
	r, err := Parse(corpus(t, name))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return r
}

// zipSHA256 and htmlSHA256 are the corpus attachments' digests
// (testdata/corpus/zip.sha256, written by make_corpus.py).
const (
	zipSHA256  = "60c4078b86a1d5cb6126f2c257030083936e02473000f19cee50fd126eb7f79a"
	htmlSHA256 = "397c118d0063a6ca713bf729d5d4a92514e7afc04bf9889359bdd88a82a0dc70"
)

func TestCorpusDigestsFile(t *testing.T) {
	b := string(corpus(t, "zip.sha256"))
	if !strings.Contains(b, zipSHA256) || !strings.Contains(b, htmlSHA256) {
		t.Fatalf("zip.sha256 does not hold the digests the tests expect:\n%s", b)
	}
}

func TestParseAlternative(t *testing.T) {
	r := parse(t, "alternative.eml")
	if r.Forward != "none" || r.Reporter != nil {
		t.Errorf("forward %q reporter %v, want none and nil", r.Forward, r.Reporter)
	}
	s := r.Suspect
	if len(s.From) != 1 || s.From[0].Address != "security@micros0ft-support.example" || s.From[0].Name != "Microsoft 365 Security" {
		t.Errorf("From = %+v", s.From)
	}
	if len(s.ReplyTo) != 1 || s.ReplyTo[0].Address != "helpdesk.verify@freemail.example" {
		t.Errorf("Reply-To = %+v", s.ReplyTo)
	}
	if s.ReturnPath != "bounce@bounce.micros0ft-support.example" {
		t.Errorf("Return-Path = %q", s.ReturnPath)
	}
	if s.Subject != "Action required: verify your mailbox" || s.MessageID != "phish-0001@micros0ft-support.example" {
		t.Errorf("Subject %q Message-ID %q", s.Subject, s.MessageID)
	}
	if s.Date.IsZero() || s.Date.UTC().Format("2006-01-02T15:04:05") != "2026-12-07T09:11:57" {
		t.Errorf("Date = %v", s.Date)
	}
	if len(s.Received) != 2 || s.Received[0].By != "mx.example.org" || s.Received[1].From != "sender-host.example" || s.Received[0].At.IsZero() {
		t.Errorf("Received = %+v", s.Received)
	}
	for method, want := range map[string]string{"spf": "fail", "dkim": "none", "dmarc": "fail"} {
		if got := s.Verdict(method); got != want {
			t.Errorf("%s = %q, want %q", method, got, want)
		}
	}
	if s.Auth[0].Server != "mx.example.org" {
		t.Errorf("auth server = %q", s.Auth[0].Server)
	}
	for _, u := range []string{
		"https://login.micros0ft-support.example/verify?id=42",  // Safe Links, text and HTML
		"https://invoice-portal.example/pay?ref=7781",           // Proofpoint v2
		"https://docs-share.example/open?user=anna@example.org", // Proofpoint v3
		"https://tracker.example/pixel.gif?id=42",               // an image
	} {
		if !slices.Contains(s.URLs, u) {
			t.Errorf("URLs lack %s: %q", u, s.URLs)
		}
	}
	for _, u := range s.URLs {
		if strings.Contains(u, "safelinks") || strings.Contains(u, "urldefense") || strings.Contains(u, "not-a-link-in-script") {
			t.Errorf("URL %s should have been unwrapped or not read", u)
		}
	}
	if len(s.Deceptive) != 1 || s.Deceptive[0].Shown != "https://outlook.office.com/verify" ||
		s.Deceptive[0].Href != "https://login.micros0ft-support.example/verify?id=42" {
		t.Errorf("Deceptive = %+v", s.Deceptive)
	}
	for _, d := range []string{"micros0ft-support.example", "freemail.example", "bounce.micros0ft-support.example",
		"login.micros0ft-support.example", "invoice-portal.example", "docs-share.example"} {
		if !slices.Contains(s.Domains, d) {
			t.Errorf("Domains lack %s: %q", d, s.Domains)
		}
	}
	if want := []string{"security@micros0ft-support.example", "helpdesk.verify@freemail.example", "bounce@bounce.micros0ft-support.example"}; !slices.Equal(s.Addresses, want) {
		t.Errorf("Addresses = %q, want %q", s.Addresses, want)
	}
	if !strings.Contains(s.Text, "Your mailbox will be suspended") || !s.HasHTML {
		t.Errorf("Text = %q HasHTML %v", s.Text, s.HasHTML)
	}
	if len(r.Problems) != 0 {
		t.Errorf("Problems = %q", r.Problems)
	}
}

func TestParseOutlookAttached(t *testing.T) {
	r := parse(t, "outlook-attached.eml")
	if r.Forward != "attached" || r.Reporter == nil || r.Reporter.Address != "anna.staff@example.org" {
		t.Fatalf("forward %q reporter %+v", r.Forward, r.Reporter)
	}
	if !strings.Contains(r.ReportNote, "This looks fake") {
		t.Errorf("ReportNote = %q", r.ReportNote)
	}
	s := r.Suspect
	if s.Subject != "Action required: verify your mailbox" || s.MessageID != "phish-0002@micros0ft-support.example" {
		t.Errorf("suspect Subject %q Message-ID %q", s.Subject, s.MessageID)
	}
	if s.Verdict("dmarc") != "fail" || len(s.Received) != 2 {
		t.Errorf("suspect dmarc %q, %d Received", s.Verdict("dmarc"), len(s.Received))
	}
	if !strings.HasPrefix(string(r.SuspectRaw), "Received: from mail-eopbgr130071") {
		t.Errorf("SuspectRaw starts %q", string(r.SuspectRaw[:min(60, len(r.SuspectRaw))]))
	}
	checkAttachments(t, s)
	if !slices.Contains(s.URLs, "https://collect.phish-kit.example/post.php") {
		t.Errorf("the HTML attachment's form target is missing: %q", s.URLs)
	}
	if slices.Contains(s.Addresses, "anna.staff@example.org") {
		t.Errorf("the reporter is among the suspect's senders: %q", s.Addresses)
	}
}

func checkAttachments(t *testing.T, s *Message) {
	t.Helper()
	if len(s.Attachments) != 2 {
		t.Fatalf("attachments = %+v", s.Attachments)
	}
	z, h := s.Attachments[0], s.Attachments[1]
	if z.Name != "Invoice_7781.zip" || z.MediaType != "application/zip" || z.SHA256 != zipSHA256 || z.Size != int64(len(z.Content)) ||
		len(z.SHA1) != 40 || len(z.MD5) != 32 {
		t.Errorf("zip = %+v", z)
	}
	if h.Name != "Remittance advice – sign in.html" || h.MediaType != "text/html" || h.SHA256 != htmlSHA256 {
		t.Errorf("html = %+v", h)
	}
}

func TestParseNestedForward(t *testing.T) {
	r := parse(t, "nested-forward.eml")
	if r.Forward != "attached" || r.Reporter == nil || r.Reporter.Address != "dan.lead@example.org" {
		t.Fatalf("forward %q reporter %+v", r.Forward, r.Reporter)
	}
	// The suspect is the innermost message, not Anna's forward.
	if r.Suspect.MessageID != "phish-0002@micros0ft-support.example" {
		t.Errorf("suspect Message-ID = %q", r.Suspect.MessageID)
	}
	checkAttachments(t, r.Suspect)
}

func TestParseGmailInline(t *testing.T) {
	r := parse(t, "gmail-inline.eml")
	if r.Forward != "inline" || r.Reporter == nil || r.Reporter.Address != "ben.staff@example.org" {
		t.Fatalf("forward %q reporter %+v", r.Forward, r.Reporter)
	}
	s := r.Suspect
	if len(s.From) != 1 || s.From[0].Address != "ap@invoice-portal.example" || s.From[0].Name != "Accounts Payable" {
		t.Errorf("From = %+v", s.From)
	}
	if s.Subject != "Your invoice is ready" || s.Date.IsZero() {
		t.Errorf("Subject %q Date %v (%q)", s.Subject, s.Date, s.DateText)
	}
	if !slices.Contains(s.URLs, "https://invoice-portal.example/pay?ref=7781") {
		t.Errorf("URLs = %q", s.URLs)
	}
	for _, u := range s.URLs {
		if strings.Contains(u, "google.com") {
			t.Errorf("Google's redirector was not unwrapped: %s", u)
		}
	}
	if !strings.Contains(r.ReportNote, "is it real?") || strings.Contains(r.ReportNote, "Forwarded") {
		t.Errorf("ReportNote = %q", r.ReportNote)
	}
}

func TestParseOutlookInlineLegacyCharset(t *testing.T) {
	r := parse(t, "outlook-inline-cp1252.eml")
	if r.Forward != "inline" || r.Reporter == nil || r.Reporter.Name != "Chloé Staff" {
		t.Fatalf("forward %q reporter %+v", r.Forward, r.Reporter)
	}
	s := r.Suspect
	if s.Subject != "Réactivez votre accès" || len(s.From) != 1 || s.From[0].Address != "client@banque-securite.example" {
		t.Errorf("Subject %q From %+v", s.Subject, s.From)
	}
	if !strings.Contains(s.Text, "bloqué – réactivez") || !strings.Contains(s.Text, "€") {
		t.Errorf("Text (Windows-1252) = %q", s.Text)
	}
	if !slices.Contains(s.URLs, "https://banque-securite.example/réactiver") {
		t.Errorf("URLs = %q", s.URLs)
	}
	if s.Date.IsZero() {
		t.Errorf("Outlook's Sent: %q not read", s.DateText)
	}
}

func TestParseEncodedWordsKOI8R(t *testing.T) {
	r := parse(t, "koi8r-encoded-words.eml")
	s := r.Suspect
	if s.Subject != "Ваш пароль истекает – 🔒" {
		t.Errorf("Subject = %q", s.Subject)
	}
	if len(s.From) != 1 || s.From[0].Name != "Почтовый сервис" {
		t.Errorf("From = %+v", s.From)
	}
	if !strings.Contains(s.Text, "Ваш пароль истекает сегодня") {
		t.Errorf("Text (KOI8-R, base64) = %q", s.Text)
	}
	if len(s.Attachments) != 1 || s.Attachments[0].Name != "データ.txt" {
		t.Errorf("attachments = %+v", s.Attachments)
	}
	if !slices.Contains(s.URLs, "http://pochta-obnovlenie.example/login") {
		t.Errorf("URLs = %q", s.URLs)
	}
}

func TestParse500URLs(t *testing.T) {
	r := parse(t, "500-urls.eml")
	s := r.Suspect
	if len(s.URLs) != 500 || s.URLs[0] != "https://host000.lure-campaign.example/p/0" || s.URLs[499] != "https://host499.lure-campaign.example/p/499" {
		t.Fatalf("%d URLs, first %q", len(s.URLs), s.URLs[:1])
	}
	if len(s.Domains) != 501 { // 500 hosts and the sender's domain
		t.Errorf("%d domains", len(s.Domains))
	}
}

func TestParseTruncated(t *testing.T) {
	r := parse(t, "truncated.eml")
	if r.Forward != "attached" || r.Reporter == nil || r.Suspect.MessageID != "phish-0002@micros0ft-support.example" {
		t.Fatalf("forward %q reporter %+v suspect %q", r.Forward, r.Reporter, r.Suspect.MessageID)
	}
	if len(r.Problems) == 0 {
		t.Error("a truncated message reads without a problem")
	}
	// What came before the cut is kept: the links of the body.
	if !slices.Contains(r.Suspect.URLs, "https://login.micros0ft-support.example/verify?id=42") {
		t.Errorf("URLs = %q", r.Suspect.URLs)
	}
	if n := len(r.Suspect.Attachments); n != 1 || !r.Suspect.Attachments[0].Truncated {
		t.Errorf("attachments = %+v", r.Suspect.Attachments)
	}
}

func TestParseBroken(t *testing.T) {
	for name, raw := range map[string]string{
		"no header end":      "From: a@b.example\r\nSubject: x",
		"not mail at all":    "\x00\x01\x02 https://binary.example/x \xff\xfe",
		"bad boundary":       "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhttps://a.example/ no end",
		"unknown charset":    "Content-Type: text/plain; charset=x-unknown-9\r\n\r\nhello https://c.example/",
		"unknown encoding":   "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-weird\r\n\r\nhttps://d.example/",
		"bad from":           "From: <<<>>>\r\nDate: yesterday\r\n\r\nbody",
		"bad base64":         "Content-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
		"deep nested rfc822": strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 40) + "hello",
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Parse([]byte(raw))
			if err != nil || r == nil || r.Suspect == nil {
				t.Fatalf("Parse = %v, %v", r, err)
			}
		})
	}
	if _, err := Parse([]byte("  \r\n")); err == nil {
		t.Error("an empty message parses")
	}
}

func TestUnwrap(t *testing.T) {
	for in, want := range map[string]string{
		"https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fa.example%2Fx%3Fy%3D1&data=1": "https://a.example/x?y=1",
		"https://urldefense.proofpoint.com/v2/url?u=http-3A__b.example_p-5Fq&d=x":                        "http://b.example/p_q",
		"https://urldefense.proofpoint.com/v1/url?u=http://c.example/&k=x":                               "http://c.example/",
		"https://urldefense.com/v3/__https://d.example/x**Ay__;JiY!!A!B$":                                "https://d.example/x&&y",
		// Safe Links around URL Defense: both come off.
		"https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Furldefense.com%2Fv3%2F__https%3A%2F%2Fe.example%2F__%3B!!x%24": "https://e.example/",
		"https://example.org/plain":                                  "https://example.org/plain",
		"https://urldefense.com/v3/__https://broken.example/*__;!!x": "https://urldefense.com/v3/__https://broken.example/*__;!!x",
	} {
		if got := Unwrap(in); got != want {
			t.Errorf("Unwrap(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNormalizeSubject(t *testing.T) {
	for in, want := range map[string]string{
		"FW: RE: Action required":           "action required",
		"[EXTERNAL] Fwd:  Action  Required": "action required",
		"TR : Réactivez":                    "réactivez",
		"AW: WG: Rechnung":                  "rechnung",
		"Re[2]: invoice":                    "invoice",
		"Action required":                   "action required",
	} {
		if got := NormalizeSubject(in); got != want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "corpus"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			f.Add(corpus(f, e.Name()))
		}
	}
	f.Add([]byte("Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<a href=\"https://x.example\">https://y.example</a>\r\n--a--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := Parse(raw)
		if err != nil {
			return
		}
		if r.Suspect == nil {
			t.Fatal("no suspect")
		}
		if len(r.Suspect.URLs) > MaxURLs || len(r.Suspect.Attachments) > MaxAttachments {
			t.Fatalf("limits exceeded: %d URLs, %d attachments", len(r.Suspect.URLs), len(r.Suspect.Attachments))
		}
		for _, a := range r.Suspect.Attachments {
			if a.Size != int64(len(a.Content)) || len(a.SHA256) != 64 {
				t.Fatalf("attachment %+v", a)
			}
		}
	})
}
