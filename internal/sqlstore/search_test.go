package sqlstore

import (
	"testing"

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
