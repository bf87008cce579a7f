package reporting_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/reporting"
)

func sample() reporting.IncidentInput {
	at := func(h int) *time.Time { t := time.Date(2026, 11, 2, h, 0, 0, 0, time.UTC); return &t }
	uid := int64(7)
	inc := &vigil.Incident{Reference: "INC-2026-000042", Title: "Invoice | *fraud* <script>alert(1)</script>", Type: vigil.TypePhishing,
		Severity: vigil.SeverityHigh, Status: vigil.StatusClosed, TLP: vigil.TLPAmber, PersonalData: true, Category: 3,
		Summary: "A finance clerk paid a fake invoice of £12,400.\nThe bank recalled it.", AffectedServices: []string{"Payments"},
		CreatedAt: *at(9), Times: vigil.IncidentTimes{OccurredAt: at(6), DetectedAt: at(9), ContainedAt: at(11), RecoveredAt: at(15), ClosedAt: at(20)}}
	return reporting.IncidentInput{Org: "Anytown Council", By: "Lena", At: *at(21), Incident: inc, Lead: "Lena",
		Members: []*vigil.Member{{Name: "Rita", Role: vigil.RoleTechnical}},
		Timeline: []*vigil.TimelineEntry{{Kind: vigil.KindStatus, At: *at(9), ActorName: "Rita", Message: "Status changed from in triage to confirmed.",
			Changes: []vigil.Change{{Field: "status", From: "triage", To: "confirmed"}}}, {Kind: vigil.KindUpdate, At: *at(10), Message: "edit noise"}},
		Tasks:       []*vigil.Task{{Title: "Recall the payment", Phase: vigil.PhaseContain, Status: vigil.TaskDone, AssigneeID: &uid}},
		Observables: []*vigil.Observable{{Type: vigil.ObsEmail, Value: "ceo@examp1e.com", IOC: true, TLP: vigil.TLPGreen}},
		Duties: []*vigil.Obligation{{Title: "Notify the ICO", Authority: "Information Commissioner's Office", DueAt: at(72), Status: vigil.ObligationSubmitted,
			SubmittedAt: at(30), Reference: "ICO-123"}},
		Evidence: []*vigil.Evidence{{Name: "invoice.pdf", Digests: vigil.Digests{SHA256: strings.Repeat("ab", 32)}, CollectedBy: "Rita", Integrity: vigil.IntegrityOK}},
		Review: &vigil.Review{Status: vigil.ReviewClosed, RootCause: "No call-back check on changed bank details", ClosedAt: at(22), ClosedBy: "Lena",
			Actions: []*vigil.Action{{Task: &vigil.Task{Title: "Call back on every bank-detail change", Status: vigil.TaskDone}}}},
		Names: map[int64]string{7: "Rita"}}
}

func TestIncidentReport(t *testing.T) {
	d := reporting.Incident(sample())
	md := d.Markdown()
	for _, want := range []string{"# Incident report: INC-2026-000042", "Invoice \\| \\*fraud\\* \\<script\\>", "## Executive summary",
		"is a high-severity Phishing incident", "It was detected 3.0 hours after it began, contained 2.0 hours after detection, recovered 6.0 hours after detection.",
		"Personal data was involved.", "Reporting duties: 1 submitted, 0 outstanding.", "Root cause: No call-back check on changed bank details.",
		"| Notify the ICO | Information Commissioner's Office |", "ICO-123", "£12,400.  \nThe bank recalled it.", "## Lessons",
		"| Recall the payment | Contain | Done | Rita |", `ceo\[@\]examp1e\[.\]com`, "Time to acknowledge"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "ceo@examp1e.com") || strings.Contains(string(d.HTML()), "ceo@examp1e.com") {
		t.Error("an IOC is written live, not defanged")
	}
	if strings.Contains(md, "edit noise") {
		t.Error("edits belong in Vigil, not in the report's timeline")
	}
	html := string(d.HTML())
	if strings.Contains(html, "<script>alert(1)") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(html, "<h2>Reporting duties and submissions</h2>") {
		t.Errorf("HTML escaping or structure:\n%s", html[:400])
	}
	var b bytes.Buffer
	if err := d.PDF(&b); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, b.Bytes())
	for _, want := range []string{"Incident report: INC-2026-000042", "Executive summary", "£12,400", "Notify the ICO", "ICO-123",
		"No call-back check on changed bank details", "TLP:AMBER", "Lessons", "Anytown Council"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
}

func TestExerciseReportIsMarked(t *testing.T) {
	in := sample()
	in.Incident.Exercise = true
	d := reporting.Incident(in)
	if !strings.HasPrefix(d.Banner, "EXERCISE") || !strings.Contains(d.Markdown(), "Phishing exercise") {
		t.Errorf("exercise report: %q", d.Banner)
	}
}

func TestManagementReport(t *testing.T) {
	h := func(n int) *time.Time { t := time.Date(2026, 11, 2, n, 0, 0, 0, time.UTC); return &t }
	facts := []*vigil.IncidentFacts{
		{Reference: "INC-2026-000001", Type: vigil.TypePhishing, Severity: vigil.SeverityHigh, CreatedAt: *h(1), Times: vigil.IncidentTimes{DetectedAt: h(1), ContainedAt: h(3)}},
		{Reference: "INC-2026-000002", Type: vigil.TypeMalware, Severity: vigil.SeverityLow, CreatedAt: *h(2), Times: vigil.IncidentTimes{DetectedAt: h(2), ContainedAt: h(6)}},
	}
	m := vigil.ComputeMetrics(facts, []*vigil.DutyFacts{{Status: vigil.ObligationSubmitted, DueAt: h(20), SubmittedAt: h(10)}}, *h(23))
	d := reporting.Management(reporting.ManagementInput{Org: "Anytown", By: "Lena", At: *h(23), Period: "November 2026", Metrics: m, Facts: facts,
		Readiness: []vigil.ReadinessItem{{Area: "recovery", Title: "Tested restore of Vigil", State: vigil.ReadyMissing, Detail: "No restore tested."},
			{Area: "plans", Title: "Phishing", State: vigil.ReadyOK}}})
	md := d.Markdown()
	for _, want := range []string{"November 2026", "2 incidents opened in the period: 0 critical, 1 high, 0 medium, 1 low.",
		"1 met on time, 0 late", "| Time to contain | 2 | 2.0 hours | 4.0 hours |", "| Phishing | 1 | 2.0 hours |",
		"1 of 2 things the NCSC's 10 Steps ask for are in place", "No restore tested.", "INC-2026-000002"} {
		if !strings.Contains(md, want) {
			t.Errorf("management Markdown lacks %q\n%s", want, md)
		}
	}
	if !strings.HasPrefix(d.Banner, "TLP:AMBER") {
		t.Errorf("banner: %q", d.Banner)
	}
	facts[1].TLP = vigil.TLPRed
	if red := reporting.Management(reporting.ManagementInput{Metrics: m, Facts: facts}); !strings.HasPrefix(red.Banner, "TLP:RED") {
		t.Errorf("a report listing a TLP:RED incident is marked %q", red.Banner)
	}
	var b bytes.Buffer
	if err := d.PDF(&b); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, b.Bytes()); !strings.Contains(text, "Incident management report") || !strings.Contains(text, "INC-2026-000002") {
		t.Errorf("management PDF text: %q", text[:min(len(text), 300)])
	}
}

// pdfText opens a PDF with a PDF reader and returns its text.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("open the PDF: %v", err)
	}
	var out strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		rows, err := p.GetTextByRow()
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		for _, row := range rows {
			for _, w := range row.Content {
				out.WriteString(w.S)
			}
			out.WriteString("\n")
		}
	}
	if r.NumPage() < 1 {
		t.Fatal("the PDF has no pages")
	}
	return out.String()
}

// TestLongCellPDF: a very long timeline note does not spread one line per
// page; the PDF stays a few pages long.
func TestLongCellPDF(t *testing.T) {
	in := sample()
	in.Timeline = append(in.Timeline, &vigil.TimelineEntry{Kind: vigil.KindNote, At: in.At, ActorName: "Rita", Message: strings.Repeat("A long note. ", 1300)})
	var b bytes.Buffer
	if err := reporting.Incident(in).PDF(&b); err != nil {
		t.Fatal(err)
	}
	r, err := pdf.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if n := r.NumPage(); n > 5 {
		t.Errorf("%d pages", n)
	}
	if !strings.Contains(pdfText(t, b.Bytes()), "cut: see the HTML or Markdown report") {
		t.Error("the cut is not marked")
	}
}
