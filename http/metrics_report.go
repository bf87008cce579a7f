package http

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-ir/vigil"
)

// MetricsWindow reads from, to and exercises: dates (2006-01-02, to is
// inclusive) or RFC 3339 times; by default the last 90 days.
func MetricsWindow(r *http.Request, now time.Time) (vigil.MetricsFilter, error) {
	q := r.URL.Query()
	f := vigil.MetricsFilter{To: now, From: now.AddDate(0, 0, -90)}
	var p vigil.Problems
	parse := func(name string, dst *time.Time, endOfDay bool) {
		v := q.Get(name)
		if v == "" {
			return
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			*dst = t
			return
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			p.Add(name, "Give a date (2026-11-30) or an RFC 3339 time.")
			return
		}
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		*dst = t
	}
	parse("from", &f.From, false)
	parse("to", &f.To, true)
	if !f.From.Before(f.To) {
		p.Add("from", "The period must start before it ends.")
	}
	if f.To.Sub(f.From) > 10*366*24*time.Hour {
		p.Add("from", "At most ten years at once.")
	}
	if v := q.Get("exercises"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p.Add("exercises", "true or false.")
		}
		f.Exercises = b
	}
	return f, p.Err()
}

func (s *Server) handleMetricsReport(w http.ResponseWriter, r *http.Request) error {
	f, err := MetricsWindow(r, s.Now())
	if err != nil {
		return err
	}
	m, _, err := s.Services.Metrics.IncidentMetrics(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, m)
	return nil
}

// WriteMetricsCSV writes one row per incident: its class, key times and
// each metric in hours (empty where it has none).
func WriteMetricsCSV(w http.ResponseWriter, facts []*vigil.IncidentFacts, name string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	head := []string{"reference", "type", "severity", "category", "source", "tlp", "created_at", "occurred_at", "detected_at", "acknowledged_at",
		"contained_at", "recovered_at", "closed_at"}
	for _, m := range vigil.MetricNames {
		head = append(head, m+"_hours")
	}
	cw.Write(head)
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, f := range facts {
		created := f.CreatedAt
		row := []string{csvSafe(f.Reference), string(f.Type), string(f.Severity), strconv.Itoa(f.Category), string(f.Source), string(f.TLP), ts(&created),
			ts(f.Times.OccurredAt), ts(f.Times.DetectedAt), ts(f.AcknowledgedAt), ts(f.Times.ContainedAt), ts(f.Times.RecoveredAt), ts(f.Times.ClosedAt)}
		d := f.Durations()
		for _, m := range vigil.MetricNames {
			if v, ok := d[m]; ok {
				row = append(row, strconv.FormatFloat(v.Hours(), 'f', 2, 64))
			} else {
				row = append(row, "")
			}
		}
		cw.Write(row)
	}
	cw.Flush()
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

func (s *Server) handleMetricsCSV(w http.ResponseWriter, r *http.Request) error {
	f, err := MetricsWindow(r, s.Now())
	if err != nil {
		return err
	}
	_, facts, err := s.Services.Metrics.IncidentMetrics(r.Context(), f)
	if err != nil {
		return err
	}
	WriteMetricsCSV(w, facts, fmt.Sprintf("vigil-metrics-%s-%s.csv", f.From.Format("20060102"), f.To.Format("20060102")))
	return nil
}
