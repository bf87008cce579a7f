package http

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
	"github.com/vigil-ir/vigil/reporting"
)

// reportFormats are the media types of the report formats.
var reportFormats = map[string]string{"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}

// ReportPeriod reads period=month|quarter (the current one, or the one
// containing at=2026-11-15) and falls back to from/to.
func ReportPeriod(r *http.Request, now time.Time) (vigil.MetricsFilter, string, error) {
	q := r.URL.Query()
	ref := now
	if v := q.Get("at"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return vigil.MetricsFilter{}, "", vigil.Invalid("at", "Give a date such as 2026-11-15.")
		}
		ref = t
	}
	y, m, _ := ref.Date()
	switch q.Get("period") {
	case "month":
		from := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return vigil.MetricsFilter{From: from, To: from.AddDate(0, 1, 0)}, from.Format("January 2006"), nil
	case "quarter":
		qs := (int(m) - 1) / 3
		from := time.Date(y, time.Month(qs*3+1), 1, 0, 0, 0, 0, time.UTC)
		return vigil.MetricsFilter{From: from, To: from.AddDate(0, 3, 0)}, fmt.Sprintf("Q%d %d", qs+1, y), nil
	case "":
	default:
		return vigil.MetricsFilter{}, "", vigil.Invalid("period", "month or quarter.")
	}
	f, err := MetricsWindow(r, now)
	if err != nil {
		return f, "", err
	}
	return f, f.From.Format("2 Jan 2006") + " to " + f.To.Add(-time.Second).Format("2 Jan 2006"), nil
}

// WriteReport sends a report in the asked format (md, html or pdf). It
// returns an error only before it has written anything, so the caller may
// answer it; a write that fails after that ends the connection.
func WriteReport(w http.ResponseWriter, d *reporting.Doc, format, name string) error {
	media, ok := reportFormats[format]
	if !ok {
		return vigil.Invalid("format", "Ask for md, html or pdf.")
	}
	var body []byte
	switch format {
	case "md":
		body = []byte(d.Markdown())
	case "html":
		body = d.HTML()
	case "pdf":
		var b bytes.Buffer
		if err := d.PDF(&b); err != nil {
			return err
		}
		body = b.Bytes()
	}
	h := w.Header()
	h.Set("Content-Type", media)
	disp := "attachment"
	if format == "html" {
		disp = "inline"
		// The report page stands alone: its own styles, nothing else.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name + "." + format}))
	h.Set("Cache-Control", "no-store")
	if _, err := w.Write(body); err != nil {
		panic(http.ErrAbortHandler) // a cut-off report must not look whole
	}
	return nil
}

func (s *Server) handleIncidentReport(w http.ResponseWriter, r *http.Request, id int64) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "md"
	}
	if _, ok := reportFormats[format]; !ok {
		return vigil.Invalid("format", "Ask for md, html or pdf.")
	}
	d, err := casework.IncidentReport(r.Context(), s.Services, id, s.Now(), time.UTC)
	if err != nil {
		return err
	}
	return WriteReport(w, d, format, d.Title[len("Incident report: "):]+"-report")
}

func (s *Server) handleManagementReport(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "md"
	}
	if _, ok := reportFormats[format]; !ok {
		return vigil.Invalid("format", "Ask for md, html or pdf.")
	}
	f, period, err := ReportPeriod(r, s.Now())
	if err != nil {
		return err
	}
	d, err := casework.ManagementReport(r.Context(), s.Services, f, period, s.Now(), time.UTC)
	if err != nil {
		return err
	}
	return WriteReport(w, d, format, "vigil-management-report-"+f.From.Format("2006-01-02"))
}
