package sqlstore

import (
	"html"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in   string
		want []term
	}{
		{"", nil},
		{"   ", nil},
		{"phish", []term{{text: "phish", prefix: true}}},
		{"phish ", []term{{text: "phish"}}},
		{`"file server" ransom`, []term{{text: "file server", phrase: true}, {text: "ransom", prefix: true}}},
		{`"unbalanced quote`, []term{{text: "unbalanced quote", phrase: true}}},
		{`!!! ??? 10.0.0.1`, []term{{text: "10.0.0.1", prefix: true}}},
		{`a"b`, []term{{text: `a"b`, prefix: true}}},
		{"\xff\xfebad", []term{{text: "bad", prefix: true}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseQuery(tt.in), cmp.AllowUnexported(term{})); diff != "" {
			t.Errorf("parseQuery(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	many := ""
	for range 40 {
		many += "word "
	}
	if n := len(parseQuery(many)); n != maxTerms {
		t.Errorf("parseQuery kept %d terms, want %d", n, maxTerms)
	}
}

func TestFTS5Query(t *testing.T) {
	got, ok := FTS5{}.ftsQuery(`"file server" x"y ransom`)
	if want := `"file server" AND "x""y" AND "ransom"*`; !ok || got != want {
		t.Errorf("ftsQuery = %q, want %q", got, want)
	}
	if _, ok := (FTS5{}).ftsQuery(`*** ---`); ok {
		t.Error("a query without words must match nothing")
	}
}

func TestHighlight(t *testing.T) {
	body := "The attacker <b>phished</b> the finance team, then phishing continued against HR at 10.0.0.1."
	got := Highlight(body, parseQuery("phishing 10.0.0.1 "))
	want := "The attacker &lt;b&gt;<mark>phished</mark>&lt;/b&gt; the finance team, then <mark>phishing</mark> continued against HR at <mark>10.0.0.1</mark>."
	if got != want {
		t.Errorf("Highlight =\n%q\nwant\n%q", got, want)
	}
	long := ""
	for range 100 {
		long += "filler words here "
	}
	got = Highlight(long+"needle"+long, parseQuery("needle "))
	if len([]rune(got)) > snippetBefore+snippetAfter+20 || got[:3] != "…" {
		t.Errorf("Highlight of a long body = %q", got)
	}
	if got := Highlight("no match <here>", parseQuery("zzz ")); got != "no match &lt;here&gt;" {
		t.Errorf("Highlight without a match = %q", got)
	}
}

// TestHighlightCaseChangesLength: Ⱥ (2 bytes) lowers to ⱥ (3 bytes), so
// offsets in the lower-case text are not offsets in the body. A staff
// report holding 60 of them made every search for its words answer 500.
func TestHighlightCaseChangesLength(t *testing.T) {
	body := strings.Repeat("Ⱥ", 60) + " ransomware note found on the FILE server"
	got := Highlight(body, parseQuery("ransomware file "))
	if !strings.Contains(got, "<mark>ransomware</mark>") || !strings.Contains(got, "<mark>FILE</mark>") {
		t.Errorf("Highlight = %q", got)
	}
	// İ (2 bytes) lowers to i̇ (3 bytes) as a string, to i (1 byte) as a rune.
	if got := Highlight("İstanbul office: ransomware", parseQuery("ransomware ")); got != "İstanbul office: <mark>ransomware</mark>" {
		t.Errorf("Highlight = %q", got)
	}
}

// FuzzHighlight: any body and query give a snippet without a panic, and
// the snippet's text, marks and escapes removed, is a piece of the body.
func FuzzHighlight(f *testing.F) {
	f.Add(strings.Repeat("Ⱥ", 60)+" ransomware", "ransomware")
	f.Add("The attacker <b>phished</b> at 10.0.0.1.", `phishing "10.0.0.1" att*`)
	f.Add("ǅ ǈ ẞ ΐ K Å", "ǆ k å")
	f.Fuzz(func(t *testing.T, body, query string) {
		got := Highlight(body, parseQuery(query+" "))
		text := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(got)
		text = html.UnescapeString(text)
		fold := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		if utf8.ValidString(body) && !strings.Contains(fold(body), fold(strings.Trim(text, "…"))) {
			t.Errorf("Highlight(%q, %q) = %q, not a piece of the body", body, query, got)
		}
	})
}
