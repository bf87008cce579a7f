// Package docs holds Vigil's documentation, the Markdown files beside
// this one, embedded so that the web pages can show them (at /help/)
// without a connection to anywhere.
package docs

import "embed"

// Files are the documents, by file name (intake.md, markdown.md, …).
//
//go:embed *.md
var Files embed.FS
