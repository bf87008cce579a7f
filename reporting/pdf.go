package reporting

import (
	"io"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
)

// PDF writes the report as an A4 PDF.
func (d *Doc) PDF(w io.Writer) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(d.Title, true)
	pdf.SetCreator("Vigil", true)
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 18)
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	txt := func(s string) string { return tr(strings.ReplaceAll(s, "\t", " ")) }
	footer := d.Footer
	pdf.SetFooterFunc(func() {
		pdf.SetY(-13)
		pdf.SetFont("Helvetica", "I", 7.5)
		pdf.SetTextColor(90, 100, 112)
		pdf.CellFormat(0, 5, txt(footer), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 5, txt(d.Title+"  ·  page "+itoa(pdf.PageNo())), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	width, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	usable := width - left - right

	pdf.SetTextColor(29, 33, 39)
	pdf.SetFont("Helvetica", "B", 17)
	pdf.MultiCell(0, 8, txt(d.Title), "", "L", false)
	if d.Subtitle != "" {
		pdf.SetFont("Helvetica", "", 12)
		pdf.MultiCell(0, 6, txt(d.Subtitle), "", "L", false)
	}
	if d.Banner != "" {
		pdf.Ln(2)
		pdf.SetFillColor(29, 33, 39)
		pdf.SetTextColor(255, 192, 0)
		pdf.SetFont("Helvetica", "B", 9.5)
		pdf.MultiCell(0, 6, txt(d.Banner), "", "L", true)
		pdf.SetTextColor(29, 33, 39)
	}
	for _, bl := range d.Blocks {
		switch {
		case bl.Heading != "":
			pdf.Ln(4)
			pdf.SetFont("Helvetica", "B", 12.5)
			pdf.MultiCell(0, 7, txt(bl.Heading), "B", "L", false)
			pdf.Ln(1.5)
		case bl.Para != "":
			pdf.SetFont("Helvetica", "", 10)
			pdf.MultiCell(0, 5, txt(bl.Para), "", "L", false)
			pdf.Ln(1.5)
		case bl.Empty != "":
			pdf.SetFont("Helvetica", "I", 10)
			pdf.MultiCell(0, 5, txt(bl.Empty), "", "L", false)
		case bl.Facts != nil:
			for _, f := range bl.Facts {
				pdf.SetFont("Helvetica", "B", 9.5)
				pdf.CellFormat(48, 5, txt(f[0]), "", 0, "L", false, 0, "")
				pdf.SetFont("Helvetica", "", 9.5)
				pdf.MultiCell(0, 5, txt(f[1]), "", "L", false)
			}
			pdf.Ln(1)
		case bl.Table != nil:
			table(pdf, bl.Table, usable, txt)
		}
	}
	return pdf.Output(w)
}

// table draws a table whose columns share the width by how much they hold.
func table(pdf *fpdf.Fpdf, t *Table, usable float64, txt func(string) string) {
	widths := columnWidths(pdf, t, usable, txt)
	n := len(t.Head)
	const lh = 4.6
	row := func(cells []string, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		pdf.SetFont("Helvetica", style, 8.5)
		lines := 1
		split := make([][]string, n)
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = txt(cells[i])
			}
			split[i] = splitText(pdf, c, widths[i]-2)
			if len(split[i]) == 0 {
				split[i] = []string{""}
			}
			// A row must fit on a page: a very long cell is cut, and
			// the full text stays in Vigil and the other formats.
			if len(split[i]) > maxCellLines {
				split[i] = append(split[i][:maxCellLines-1], txt("… (cut: see the HTML or Markdown report)"))
			}
			lines = max(lines, len(split[i]))
		}
		h := float64(lines)*lh + 1.5
		_, pageH := pdf.GetPageSize()
		_, _, _, bottom := pdf.GetMargins()
		if pdf.GetY()+h > pageH-bottom {
			pdf.AddPage()
		}
		x0, y := pdf.GetXY()
		total := usableWidth(widths)
		if bold {
			pdf.SetFillColor(244, 246, 248)
			pdf.Rect(x0, y, total, h, "F")
		}
		x := x0
		for i := 0; i < n; i++ {
			for j, line := range split[i] {
				pdf.SetXY(x+1, y+0.8+float64(j)*lh)
				pdf.CellFormat(widths[i]-2, lh, line, "", 0, "L", false, 0, "")
			}
			x += widths[i]
		}
		pdf.SetDrawColor(220, 224, 229)
		pdf.Line(x0, y+h, x0+total, y+h)
		pdf.SetXY(x0, y+h)
	}
	// Rows break pages themselves (a cell's lines must not).
	_, bottom := pdf.GetAutoPageBreak()
	pdf.SetAutoPageBreak(false, bottom)
	defer pdf.SetAutoPageBreak(true, bottom)
	row(t.Head, true)
	for _, r := range t.Rows {
		row(r, false)
	}
	pdf.Ln(2)
}

// columnWidths shares usable among the columns by how much they hold, but
// first gives each column room for its longest word (up to a limit), so
// that words break between letters only where one is too long for any
// sensible column ("Submitted" broken as "Submitte/d" in the duties table).
func columnWidths(pdf *fpdf.Fpdf, t *Table, usable float64, txt func(string) string) []float64 {
	n := len(t.Head)
	weight := make([]float64, n)
	floor := make([]float64, n) // the longest word, in mm, with the cell's padding
	measure := func(i int, s string, style string) {
		pdf.SetFont("Helvetica", style, 8.5)
		for _, w := range strings.Fields(txt(s)) {
			floor[i] = max(floor[i], pdf.GetStringWidth(w)+2.5)
		}
	}
	for i, h := range t.Head {
		weight[i] = float64(min(len(h), 40)) + 8
		measure(i, h, "B")
	}
	for _, r := range t.Rows {
		for i := 0; i < n && i < len(r); i++ {
			weight[i] = max(weight[i], float64(min(len(r[i]), 60))+4)
			measure(i, r[i], "")
		}
	}
	widths := make([]float64, n)
	sumWeight := 0.0
	for i := range weight {
		floor[i] = min(floor[i], usable/2) // a hash or a URL breaks anyway
		sumWeight += weight[i]
	}
	// By weight first; columns below their floor are raised to it, and
	// what that takes comes from the others in proportion to what they
	// have above theirs, so none of them falls below its own.
	deficit, surplus := 0.0, 0.0
	for i := range widths {
		widths[i] = usable * weight[i] / sumWeight
		if widths[i] < floor[i] {
			deficit += floor[i] - widths[i]
		} else {
			surplus += widths[i] - floor[i]
		}
	}
	if deficit == 0 || deficit > surplus {
		return widths
	}
	for i := range widths {
		if widths[i] < floor[i] {
			widths[i] = floor[i]
		} else {
			widths[i] -= deficit * (widths[i] - floor[i]) / surplus
		}
	}
	return widths
}

// maxCellLines is the most lines a table cell takes in a PDF.
const maxCellLines = 40

func usableWidth(ws []float64) float64 {
	s := 0.0
	for _, w := range ws {
		s += w
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

// splitText wraps cp1252 text to a width. fpdf's SplitText reads its
// argument as UTF-8, indexing its width table by rune, so each byte goes in
// as the rune of the same value and comes back out as the byte.
func splitText(pdf *fpdf.Fpdf, s string, w float64) []string {
	rs := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		rs[i] = rune(s[i])
	}
	lines := pdf.SplitText(string(rs), w)
	for i, l := range lines {
		b := make([]byte, 0, len(l))
		for _, r := range l {
			b = append(b, byte(r))
		}
		lines[i] = string(b)
	}
	return lines
}
