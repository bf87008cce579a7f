package web

import (
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil/casework"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// incidentReport sends an incident's report: /incidents/{id}/report.{md,html,pdf}.
func (h *Handler) incidentReport(format string) pageHandler {
	return func(w http.ResponseWriter, r *http.Request) error { return h.sendIncidentReport(w, r, format) }
}

func (h *Handler) sendIncidentReport(w http.ResponseWriter, r *http.Request, format string) error {
	id, err := h.incidentID(r)
	if err == nil {
		doc, derr := casework.IncidentReport(r.Context(), h.Services, id, h.Now(), h.Location)
		if err = derr; err == nil {
			err = vigilhttp.WriteReport(w, doc, format, strings.TrimPrefix(doc.Title, "Incident report: ")+"-report")
		}
	}
	return err
}

// managementReport sends the management report of a period.
func (h *Handler) managementReport(w http.ResponseWriter, r *http.Request) error {
	f, period, err := vigilhttp.ReportPeriod(r, h.Now())
	if err == nil {
		doc, derr := casework.ManagementReport(r.Context(), h.Services, f, period, h.Now(), h.Location)
		if err = derr; err == nil {
			format := r.URL.Query().Get("format")
			if format == "" {
				format = "html"
			}
			err = vigilhttp.WriteReport(w, doc, format, "vigil-management-report-"+f.From.Format("2006-01-02"))
		}
	}
	return err
}
