package reporting

import (
	"strings"
)

// Markdown writes the report as CommonMark with GFM tables.
func (d *Doc) Markdown() string {
	var b strings.Builder
	b.WriteString("# " + mdInline(d.Title) + "\n\n")
	if d.Subtitle != "" {
		b.WriteString("**" + mdInline(d.Subtitle) + "**\n\n")
	}
	if d.Banner != "" {
		b.WriteString("> **" + mdInline(d.Banner) + "**\n\n")
	}
	for _, bl := range d.Blocks {
		switch {
		case bl.Heading != "":
			b.WriteString("## " + mdInline(bl.Heading) + "\n\n")
		case bl.Para != "":
			b.WriteString(mdText(bl.Para) + "\n\n")
		case bl.Empty != "":
			b.WriteString("_" + mdInline(bl.Empty) + "_\n\n")
		case bl.Facts != nil:
			for _, f := range bl.Facts {
				b.WriteString("- **" + mdInline(f[0]) + ":** " + mdInline(f[1]) + "\n")
			}
			b.WriteString("\n")
		case bl.Table != nil:
			b.WriteString("| " + strings.Join(mdCells(bl.Table.Head), " | ") + " |\n")
			b.WriteString("|" + strings.Repeat(" --- |", len(bl.Table.Head)) + "\n")
			for _, r := range bl.Table.Rows {
				b.WriteString("| " + strings.Join(mdCells(r), " | ") + " |\n")
			}
			b.WriteString("\n")
		}
	}
	if d.Footer != "" {
		b.WriteString("---\n\n_" + mdInline(d.Footer) + "_\n")
	}
	return b.String()
}

// mdInline escapes what Markdown would read as markup in one line of text.
func mdInline(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
	// "1. item" or "2) item" opens a list only at the start of a line, and
	// only with a space (or nothing) after the marker: "2.0 hours" does not.
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~':
			b.WriteByte('\\')
		case '-', '+', '!', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
		case '.', ')':
			if i == digits && digits > 0 && (i+1 == len(s) || s[i+1] == ' ') {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdText escapes a paragraph, keeping its line breaks as hard breaks.
func mdText(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, mdInline(l))
	}
	return strings.Join(lines, "  \n")
}

func mdCells(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = mdInline(c)
	}
	return out
}
