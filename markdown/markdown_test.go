package markdown_test

import (
	"strings"
	"testing"

	"github.com/vigil-ir/vigil/markdown"
)

// xssSet is Markdown that tries to run script in the page: each must come
// out without an element, attribute or address that could.
var xssSet = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`<a href="javascript:alert(1)">x</a>`,
	`[click](javascript:alert(1))`,
	`[click](JaVaScRiPt:alert(1))`,
	`[click](javascript&#58;alert(1))`,
	`[click](&#106;avascript:alert(1))`,
	"[click](java\tscript:alert(1))",
	`[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`,
	`![x](javascript:alert(1))`,
	`<svg onload=alert(1)>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<details open ontoggle=alert(1)>`,
	`<a href="https://example.org" onclick="alert(1)">x</a>`,
	`[x](https://example.org "title\" onmouseover=\"alert(1)")`,
	"<scr<script>ipt>alert(1)</script>",
	"```\n</code><script>alert(1)</script>\n```",
	`<<script>script>alert(1)<</script>/script>`,
	`<style>body{background:url(javascript:alert(1))}</style>`,
	`<form action="javascript:alert(1)"><button>x</button></form>`,
	`[x]: javascript:alert(1)` + "\n\n[link][x]",
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`www.example.org/?q="><script>alert(1)</script>`,
	`<object data="data:text/html,<script>alert(1)</script>"></object>`,
	"- [x] <img src=x onerror=alert(1)>",
	`<math><mi xlink:href="javascript:alert(1)">x</mi></math>`,
	`[x](vbscript:msgbox(1))`,
	`<a href="&#x6A;avascript:alert(1)">x</a>`,
}

// dangerous is what must not survive in the HTML.
var dangerous = []string{"<script", "javascript:", "vbscript:", "data:", " on", "<img", "<svg", "<iframe", "<style", "<form",
	"<object", "<details", "<math", "style=", "<div"}

func TestXSS(t *testing.T) {
	for _, src := range xssSet {
		out := strings.ToLower(string(markdown.HTML(src)))
		for _, bad := range dangerous {
			if strings.Contains(out, bad) {
				t.Errorf("%q renders %q, which contains %q", src, out, bad)
			}
		}
	}
}

func TestMarkdown(t *testing.T) {
	for src, want := range map[string]string{
		"**bold** and _em_":               "<p><strong>bold</strong> and <em>em</em></p>",
		"[NCSC](https://www.ncsc.gov.uk)": `<p><a href="https://www.ncsc.gov.uk" rel="noopener noreferrer">NCSC</a></p>`,
		"see https://example.org/x":       `<p>see <a href="https://example.org/x" rel="noopener noreferrer">https://example.org/x</a></p>`,
		"- one\n- two":                    "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
		"`code <b>`":                      "<p><code>code &lt;b&gt;</code></p>",
		"a <b>raw</b> tag":                "<p>a raw tag</p>",
		"| a | b |\n|---|---|\n| 1 | 2 |": "<table>",
		"- [x] done":                      "<li>[x] done</li>",
		"[mail](mailto:soc@example.org)":  `<a href="mailto:soc@example.org" rel="noopener noreferrer">mail</a>`,
		"[rel](/incidents/1)":             `<a href="/incidents/1" rel="noopener noreferrer">rel</a>`,
	} {
		if got := string(markdown.HTML(src)); !strings.Contains(got, want) {
			t.Errorf("%q = %q, want it to contain %q", src, got, want)
		}
	}
}
