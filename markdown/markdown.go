// Package markdown turns the Markdown people write in Vigil (incident
// summaries, notes, comments, task descriptions, review text) into HTML
// that is safe to put in a page: github.com/yuin/goldmark parses it
// (CommonMark with GitHub's tables, strikethrough and autolinks; task
// list boxes stay as written, "[x]", since a box without a label is a
// form control screen readers cannot name) and leaves raw HTML out, and github.com/microcosm-cc/bluemonday
// then keeps only the elements and attributes Vigil allows, whatever
// goldmark emitted. Links keep http, https and mailto addresses only
// (never javascript: or data:) and carry rel="noopener noreferrer"; images
// are not shown (a page loads nothing from other hosts). docs/markdown.md
// lists what is allowed.
package markdown

import (
	"bytes"
	"html/template"
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// MaxLen bounds the text rendered: longer text is shown as plain text.
const MaxLen = 200000

var (
	once   sync.Once
	md     goldmark.Markdown
	policy *bluemonday.Policy
)

func setup() {
	md = goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(relTransformer{}, 100))),
		// No html.WithUnsafe: raw HTML and dangerous link addresses are
		// left out by goldmark already; bluemonday is the second wall.
	)
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote",
		"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,6}$`)).OnElements("ol")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^noopener$`)).OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(true) // links within Vigil, such as /incidents/12
	p.RequireNoReferrerOnLinks(true)
	policy = p
}

// relTransformer marks every link rel="noopener" (bluemonday adds
// noreferrer).
type relTransformer struct{}

func (relTransformer) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && (n.Kind() == ast.KindLink || n.Kind() == ast.KindAutoLink) {
			n.SetAttributeString("rel", []byte("noopener"))
		}
		return ast.WalkContinue, nil
	})
}

// HTML renders Markdown source as sanitised HTML.
func HTML(src string) template.HTML {
	once.Do(setup)
	if len(src) > MaxLen {
		return template.HTML(template.HTMLEscapeString(src))
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(policy.SanitizeBytes(buf.Bytes())) // #nosec: sanitised by the policy above
}
