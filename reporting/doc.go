// Package reporting writes Vigil's reports: an incident report (executive
// summary, timeline, impact, actions, duties and submissions, evidence,
// lessons) and a periodic management report with the metrics. Each report
// is first built as a Doc, a small document model of headings, paragraphs,
// fact lists and tables; the Doc is then written as Markdown, HTML or PDF,
// so the three formats always say the same thing. PDFs are drawn with
// github.com/go-pdf/fpdf in pure Go: no browser is needed on the server.
// Its built-in fonts cover Windows-1252 (English and western European
// text); other characters are written as "?" in the PDF only.
package reporting

import (
	"fmt"
	"strconv"
	"time"
)

// Doc is a report.
type Doc struct {
	Title    string
	Subtitle string
	Banner   string // a line that must stand out: TLP, EXERCISE
	Blocks   []Block
	Footer   string
}

// Block is one part of a report: exactly one of its fields is set.
type Block struct {
	Heading string      // a section heading
	Para    string      // a paragraph
	Facts   [][2]string // label, value pairs
	Table   *Table
	Empty   string // "nothing here" text
}

// Table is a table with a header row.
type Table struct {
	Head []string
	Rows [][]string
}

func (d *Doc) h(s string)          { d.Blocks = append(d.Blocks, Block{Heading: s}) }
func (d *Doc) p(s string)          { d.Blocks = append(d.Blocks, Block{Para: s}) }
func (d *Doc) facts(f [][2]string) { d.Blocks = append(d.Blocks, Block{Facts: f}) }
func (d *Doc) empty(s string)      { d.Blocks = append(d.Blocks, Block{Empty: s}) }
func (d *Doc) table(head []string, rows [][]string) {
	d.Blocks = append(d.Blocks, Block{Table: &Table{Head: head, Rows: rows}})
}

// fmtTime writes a time for a report, in loc.
func fmtTime(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "—"
	}
	return t.In(loc).Format("2 Jan 2006 15:04 MST")
}

// fmtDur writes a duration the way people say it.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < 90*time.Minute:
		return plural(int(d.Minutes()+0.5), "minute")
	case d < 48*time.Hour:
		return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " hours"
	}
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
