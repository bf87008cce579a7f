package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// bar is one bar of a chart.
type bar struct {
	Label string
	Value float64
	Text  string // the value as shown
}

// barChart draws horizontal bars as inline SVG: no script, no outside
// library, readable by a screen reader through its title and description
// (the page shows the same figures in a table beside it).
func barChart(title string, bars []bar) template.HTML {
	const rowH, labelW, barW, pad = 26, 170, 300, 6
	max := 0.0
	for _, b := range bars {
		max = math.Max(max, b.Value)
	}
	h := len(bars)*rowH + pad
	var s strings.Builder
	var desc []string
	for _, b := range bars {
		desc = append(desc, b.Label+": "+b.Text)
	}
	fmt.Fprintf(&s, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" aria-labelledby="%s-t %s-d">`,
		labelW+barW+110, h, chartID(title), chartID(title))
	fmt.Fprintf(&s, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, chartID(title), template.HTMLEscapeString(title),
		chartID(title), template.HTMLEscapeString(strings.Join(desc, "; ")))
	for i, b := range bars {
		y := i*rowH + pad
		w := 0.0
		if max > 0 {
			w = b.Value / max * barW
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" class="chart-label" text-anchor="end">%s</text>`, labelW-8, y+15, template.HTMLEscapeString(b.Label))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" class="chart-bar"></rect>`, labelW, y+2, math.Max(w, 1), rowH-8)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" class="chart-value">%s</text>`, float64(labelW)+math.Max(w, 1)+6, y+15, template.HTMLEscapeString(b.Text))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

func chartID(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return "chart-" + b.String()
}

// humanSeconds writes a duration in seconds the way people say it.
func humanSeconds(s float64) string {
	switch {
	case s <= 0:
		return "0 s"
	case s < 90:
		return fmt.Sprintf("%.0f s", s)
	case s < 90*60:
		return fmt.Sprintf("%.0f min", s/60)
	case s < 48*3600:
		return fmt.Sprintf("%.1f h", s/3600)
	}
	return fmt.Sprintf("%.1f days", s/86400)
}
