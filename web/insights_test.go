package web_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestInsightsPage(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	occ := time.Now().Add(-3 * time.Hour)
	inc := &vigil.Incident{Title: "Phish", Type: vigil.TypePhishing, Severity: vigil.SeverityMedium, Status: vigil.StatusConfirmed,
		Times: vigil.IncidentTimes{OccurredAt: &occ}}
	if err := e.svc.Incidents.CreateIncident(as(lena), inc); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Incidents.TransitionIncident(as(lena), inc.ID, vigil.Transition{To: vigil.StatusContained, Version: inc.Version}); err != nil {
		t.Fatal(err)
	}
	b := e.login("lena")
	_, page := b.get("/insights")
	// The CSV link is a query of its own fields, not one escaped value.
	i := strings.Index(page, `>Download CSV<`)
	if i < 0 {
		t.Fatal("no CSV link")
	}
	link := page[strings.LastIndex(page[:i], `href="`)+6 : i-1]
	link = strings.ReplaceAll(link, "&amp;", "&")
	if !strings.HasPrefix(link, "/insights?") || !strings.Contains(link, "format=csv") || strings.Contains(link, "%3d") || strings.Contains(link, "%3D") {
		t.Errorf("CSV link %q", link)
	}
	if resp, body := b.get(link); resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("the CSV link answers %s:\n%s", resp.Header.Get("Content-Type"), excerpt(body))
	}
	for _, want := range []string{"1 incident opened", "Time to detect", "3.0 h", "<svg class=\"chart\" role=\"img\"", "Median time to contain, by type", "By severity", "Phishing"} {
		if !strings.Contains(page, want) {
			t.Errorf("metrics page lacks %q", want)
		}
	}
	resp, body := b.get("/insights?period=quarter&format=csv")
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %v", resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "reference" || rows[1][0] != inc.Reference || rows[1][13] != "3.00" {
		t.Errorf("csv rows: %v %q", err, rows)
	}
	_, page = b.get("/insights?exercises=true")
	if !strings.Contains(page, "No incidents in this period") {
		t.Errorf("exercises only")
	}
	resp, page = b.get("/insights?from=yesterday")
	if resp.StatusCode != 200 || !strings.Contains(page, "Give a date") {
		t.Errorf("bad date: %d", resp.StatusCode)
	}
}

func TestReportPages(t *testing.T) {
	e := newEnv(t)
	lena := e.user("lena", vigil.RoleManager)
	inc := &vigil.Incident{Title: "Laptop stolen", Type: vigil.TypeLostDevice, Severity: vigil.SeverityMedium}
	if err := e.svc.Incidents.CreateIncident(as(lena), inc); err != nil {
		t.Fatal(err)
	}
	b := e.login("lena")
	for format, ct := range map[string]string{"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"} {
		resp, body := b.get(fmt.Sprintf("/incidents/%d/report.%s", inc.ID, format))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ct || len(body) < 100 {
			t.Errorf("%s: %d %v", format, resp.StatusCode, resp.Header)
		}
	}
	resp, body := b.get("/insights/report?period=month")
	if resp.StatusCode != 200 || !strings.Contains(body, "Incident management report") || !strings.Contains(body, inc.Reference) {
		t.Errorf("management report: %d", resp.StatusCode)
	}
	if resp, _ := b.get(fmt.Sprintf("/incidents/%d/report.docx", inc.ID)); resp.StatusCode != 404 {
		t.Errorf("docx: %d", resp.StatusCode)
	}
}
