package http_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
	"github.com/vigil-ir/vigil"
)

func TestReportsAPI(t *testing.T) {
	e := newEnv(t)
	mgr, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: mgr, Body: map[string]any{"title": "Payroll mailbox takeover", "status": "confirmed",
		"severity": "high", "type": "unauthorised_access", "summary": "Rules forwarded payslips outside."}}).want(t, 201).JSON(t, &inc)
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/timeline", inc.ID), Token: mgr, Body: map[string]any{"message": "Forwarding rule removed."}}).want(t, 201)

	md := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/report", inc.ID), Token: mgr}).want(t, 200)
	if md.Header.Get("Content-Type") != "text/markdown; charset=utf-8" || !strings.Contains(string(md.Body), "Forwarding rule removed.") ||
		!strings.Contains(md.Header.Get("Content-Disposition"), inc.Reference+"-report.md") {
		t.Errorf("markdown: %v\n%s", md.Header, md.Body)
	}
	html := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/report?format=html", inc.ID), Token: mgr}).want(t, 200)
	if !strings.Contains(string(html.Body), "<h2>Executive summary</h2>") || !strings.Contains(html.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("html: %v", html.Header)
	}
	p := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/report?format=pdf", inc.ID), Token: mgr}).want(t, 200)
	r, err := pdf.NewReader(bytes.NewReader(p.Body), int64(len(p.Body)))
	if err != nil {
		t.Fatalf("open the PDF: %v", err)
	}
	text, err := r.GetPlainText()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(text)
	if s := b.String(); !strings.Contains(s, "Payroll mailbox takeover") || !strings.Contains(s, "Forwarding rule removed.") {
		t.Errorf("PDF text: %q", s)
	}
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/report?format=docx", inc.ID), Token: mgr, Raw: true}).want(t, 400)

	mr := e.do(req{Method: "GET", Path: "/api/v1/reports/management?period=month", Token: mgr}).want(t, 200)
	if !strings.Contains(string(mr.Body), "1 incident opened in the period") || !strings.Contains(string(mr.Body), inc.Reference) {
		t.Errorf("management report:\n%s", mr.Body)
	}
	e.do(req{Method: "GET", Path: "/api/v1/reports/management?period=year", Token: mgr, Raw: true}).want(t, 400)
}
