package reporting_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/reporting"
)

// TestMarkdownIsInert renders the Markdown report of an incident whose
// every user field is hostile with a real CommonMark + GFM renderer that
// lets raw HTML through (as some viewers do), and checks that what comes
// out holds no element, attribute or link that the fields asked for: raw
// HTML, javascript: links, images and event handlers stay text, and IOCs
// are no links at all.
func TestMarkdownIsInert(t *testing.T) {
	hostile := []string{
		`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`, `[click](javascript:alert(1))`,
		`![x](javascript:alert(1))`, `<javascript:alert(1)>`, "[ref]: javascript:alert(1)\n\n[ref]",
		"line\n<iframe src=//evil.example>", "`code` *em* _em_ # heading | pipe", "- list\n1. item\n> quote",
		`<a href="javascript:alert(1)">x</a>`, `&#x3C;script&#x3E;`, "~~struck~~", "Heading\n===", "Heading\n---", "2) second",
	}
	in := sample()
	in.Incident.Title = strings.Join(hostile, " ")
	in.Incident.Summary = strings.Join(hostile, "\n")
	in.Incident.AffectedServices = hostile
	in.Timeline = append(in.Timeline, &vigil.TimelineEntry{Kind: vigil.KindNote, At: in.At, ActorName: hostile[1], Message: strings.Join(hostile, "\n")})
	in.Tasks = append(in.Tasks, &vigil.Task{Title: hostile[2], Phase: vigil.PhaseContain, Status: vigil.TaskOpen})
	in.Observables = append(in.Observables,
		&vigil.Observable{Type: vigil.ObsURL, Value: "https://evil.example/login", IOC: true, TLP: vigil.TLPGreen},
		&vigil.Observable{Type: vigil.ObsDomain, Value: "www.evil.example", IOC: true, TLP: vigil.TLPGreen})
	md := reporting.Incident(in).Markdown()

	var out bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := gm.Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"h1": true, "h2": true, "p": true, "strong": true, "em": true, "br": true, "ul": true, "li": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "blockquote": true, "hr": true}
	doc, err := html.Parse(&out)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data != "html" && n.Data != "head" && n.Data != "body" {
			if !allowed[n.Data] {
				t.Errorf("the rendered report has a <%s> element: %s", n.Data, render(n))
			}
			for _, a := range n.Attr {
				if a.Key != "align" {
					t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if t.Failed() {
		t.Logf("Markdown:\n%s", md)
	}
}

func render(n *html.Node) string {
	var b bytes.Buffer
	html.Render(&b, n)
	return b.String()
}
