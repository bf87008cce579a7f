package reporting

import (
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
)

// TestColumnsFitTheirWords: the duties table of an incident report, whose
// columns shared the width by how much text they held, broke "Submitted"
// and "Commissioner's" between letters. Each column must now hold its
// longest word.
func TestColumnsFitTheirWords(t *testing.T) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	txt := func(s string) string { return tr(s) }
	tb := &Table{
		Head: []string{"Duty", "Authority", "Due", "Status", "Submitted", "Reference"},
		Rows: [][]string{
			{"NIS2 significant incident — early warning within 24 hours of becoming aware", "Information Commissioner's Office", "3 Nov 2026 09:00 UTC", "Submitted", "2 Nov 2026 15:00 UTC", "ICO-123"},
			{"UK GDPR personal data breach — notify the ICO within 72 hours", "Information Commissioner's Office", "5 Nov 2026 09:00 UTC", "Pending", "—", "—"},
		},
	}
	usable := 174.0
	widths := columnWidths(pdf, tb, usable, txt)
	sum := 0.0
	for i, w := range widths {
		sum += w
		for _, cell := range append([]string{tb.Head[i]}, tb.Rows[0][i], tb.Rows[1][i]) {
			style := ""
			if cell == tb.Head[i] {
				style = "B"
			}
			pdf.SetFont("Helvetica", style, 8.5)
			for _, word := range strings.Fields(txt(cell)) {
				if pdf.GetStringWidth(word) > w-2 {
					t.Errorf("column %q (%.1f mm) breaks %q (%.1f mm)", tb.Head[i], w, word, pdf.GetStringWidth(word))
				}
			}
		}
	}
	if sum < usable-0.01 || sum > usable+0.01 {
		t.Errorf("columns take %.2f mm of %.2f", sum, usable)
	}
}
