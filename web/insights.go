package web

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

type insightsData struct {
	M       *vigil.Metrics
	From    string
	To      string
	CSVURL  template.URL // this page as CSV: built here, so the template does not escape its query as one value
	Metrics []metricRow
	Charts  []chart
	Errors  map[string]string
}

type chart struct {
	Title string
	SVG   template.HTML
}

type metricRow struct {
	Name, Label, Between string
	Stat                 vigil.Stat
}

var metricLabels = map[string][2]string{
	vigil.MetricDetect:      {"Time to detect", "occurred to detected"},
	vigil.MetricAcknowledge: {"Time to acknowledge", "detected to out of triage"},
	vigil.MetricContain:     {"Time to contain", "detected to contained"},
	vigil.MetricRecover:     {"Time to recover", "detected to recovered"},
	vigil.MetricClose:       {"Time to close", "detected to closed"},
}

// insights is the metrics dashboard.
func (h *Handler) insights(w http.ResponseWriter, r *http.Request) error {
	now := h.Now()
	q := r.URL.Query()
	switch q.Get("period") {
	case "month":
		y, mo, _ := now.In(h.Location).Date()
		q.Set("from", time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02"))
		q.Set("to", now.Format("2006-01-02"))
	case "quarter":
		y, mo, _ := now.In(h.Location).Date()
		start := time.Date(y, mo-(mo-1)%3, 1, 0, 0, 0, 0, time.UTC)
		q.Set("from", start.Format("2006-01-02"))
		q.Set("to", now.Format("2006-01-02"))
	}
	r.URL.RawQuery = q.Encode()
	d := &insightsData{Errors: map[string]string{}}
	f, err := vigilhttp.MetricsWindow(r, now)
	if err != nil {
		d.Errors = fieldErrors(err)
		f = vigil.MetricsFilter{To: now, From: now.AddDate(0, 0, -90)}
	}
	if r.URL.Query().Get("format") == "csv" {
		_, facts, err := h.Services.Metrics.IncidentMetrics(r.Context(), f)
		if err != nil {
			return err
		}
		vigilhttp.WriteMetricsCSV(w, facts, fmt.Sprintf("vigil-metrics-%s-%s.csv", f.From.Format("20060102"), f.To.Format("20060102")))
		return nil
	}
	if d.M, _, err = h.Services.Metrics.IncidentMetrics(r.Context(), f); err != nil {
		return err
	}
	d.From, d.To = f.From.Format("2006-01-02"), f.To.Add(-time.Nanosecond).Format("2006-01-02")
	cq := r.URL.Query()
	cq.Set("from", d.From)
	cq.Set("to", d.To)
	cq.Del("period")
	if f.Exercises {
		cq.Set("exercises", "true")
	}
	cq.Set("format", "csv")
	d.CSVURL = template.URL("/insights?" + cq.Encode())
	var medians []bar
	for _, name := range vigil.MetricNames {
		st := d.M.Overall[name]
		d.Metrics = append(d.Metrics, metricRow{Name: name, Label: metricLabels[name][0], Between: metricLabels[name][1], Stat: st})
		if st.N > 0 {
			medians = append(medians, bar{Label: metricLabels[name][0], Value: st.Median, Text: humanSeconds(st.Median)})
		}
	}
	if len(medians) > 0 {
		d.Charts = append(d.Charts, chart{"Median times", barChart("Median times", medians)})
	}
	var byType, byMonth []bar
	for _, g := range d.M.By["type"] {
		if st := g.Stats[vigil.MetricContain]; st.N > 0 {
			byType = append(byType, bar{Label: label(g.Key), Value: st.Median, Text: humanSeconds(st.Median)})
		}
	}
	if len(byType) > 0 {
		d.Charts = append(d.Charts, chart{"Median time to contain, by type", barChart("Median time to contain, by type", byType)})
	}
	for _, g := range d.M.By["month"] {
		byMonth = append(byMonth, bar{Label: g.Key, Value: float64(g.Incidents), Text: fmt.Sprint(g.Incidents)})
	}
	if len(byMonth) > 0 {
		d.Charts = append(d.Charts, chart{"Incidents by month", barChart("Incidents by month", byMonth)})
	}
	return h.render(w, r, http.StatusOK, "insights.html", h.newPage(r, "Metrics", "insights", d))
}
