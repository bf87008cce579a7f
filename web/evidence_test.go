package web_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
)

// multipartPost sends a multipart form, fields in order, then the file.
func (b *browser) multipartPost(path string, fields []string, filename, content string) (*http.Response, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	fw, _ := w.CreateFormFile("file", filename)
	io.WriteString(fw, content)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.e.ts.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

func TestEvidencePages(t *testing.T) {
	e := newEnv(t)
	e.user("rita", vigil.RoleResponder)
	e.user("vic", vigil.RoleViewer)
	lena := e.user("lena", vigil.RoleManager)
	inc := &vigil.Incident{Title: "Ransomware on the file server"}
	if err := e.svc.Incidents.CreateIncident(as(lena), inc); err != nil {
		t.Fatal(err)
	}
	rita := e.login("rita")
	_, page := rita.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(page, "No evidence yet") || !strings.Contains(page, `enctype="multipart/form-data"`) {
		t.Fatalf("incident page before upload:\n%s", page)
	}
	up := fmt.Sprintf("/incidents/%d/evidence", inc.ID)

	// The CSRF token must come first, and be right.
	for _, tok := range []string{"", "forged"} {
		resp, _ := rita.multipartPost(up, []string{"csrf_token", tok}, "note.txt", "x")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("upload with token %q: status %d", tok, resp.StatusCode)
		}
	}
	resp, _ := rita.multipartPost(up, []string{"collected_by", "Rita", "csrf_token", rita.csrf}, "note.txt", "x")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload with the token second: status %d", resp.StatusCode)
	}
	if list, _ := e.svc.Evidence.FindEvidence(as(lena), inc.ID); len(list) != 0 {
		t.Fatalf("refused uploads stored %d", len(list))
	}

	// A bad field shows the incident page with the message, nothing stored.
	resp, page = rita.multipartPost(up, []string{"csrf_token", rita.csrf, "collected_at", "last tuesday"}, "note.txt", "x")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Give a time such as") || !strings.Contains(page, `id="evidence-add" open`) {
		t.Errorf("bad time: %d", resp.StatusCode)
	}
	resp, page = rita.multipartPost(up, []string{"csrf_token", rita.csrf}, "empty.txt", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "The file is empty") {
		t.Errorf("empty file: %d", resp.StatusCode)
	}

	resp, _ = rita.multipartPost(up, []string{"csrf_token", rita.csrf, "collected_by", "Rita", "collected_at", "2026-11-30T08:15",
		"collected_from", "FS01", "method", "Copied from the share"}, `\\FS01\finance\README_RESTORE.txt`, "YOUR FILES ARE ENCRYPTED")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/evidence/") {
		t.Fatalf("upload: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	evURL := resp.Header.Get("Location")
	_, page = rita.get(evURL)
	for _, want := range []string{"<h1>README_RESTORE.txt</h1>", "Evidence added: README_RESTORE.txt", "FS01", "Copied from the share",
		"30 Nov 2026", "Chain of custody", "Added", "Viewed"} {
		if !strings.Contains(page, want) {
			t.Errorf("evidence page lacks %q", want)
		}
	}
	if strings.Contains(page, "Place a legal hold") {
		t.Error("a responder is offered the legal hold")
	}

	// Transfer (with a missing recipient first), verify, download.
	resp, page = rita.post(evURL+"/transfer", map[string][]string{"to": {" "}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Name the person or organisation") || !strings.Contains(page, `id="ev-transfer" open`) {
		t.Errorf("transfer without a recipient: %d", resp.StatusCode)
	}
	if resp, _ := rita.post(evURL+"/transfer", map[string][]string{"to": {"DC Morgan, RCCU"}, "detail": {"Sealed bag 7"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("transfer: %d", resp.StatusCode)
	}
	if resp, _ := rita.post(evURL+"/verify", map[string][]string{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("verify: %d", resp.StatusCode)
	}
	resp, body := rita.get(evURL + "/download")
	if resp.StatusCode != 200 || body != "YOUR FILES ARE ENCRYPTED" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	_, page = rita.get(evURL)
	for _, want := range []string{"Transferred to <strong>DC Morgan, RCCU</strong>", "Verified: ok", "Downloaded", "badge done"} {
		if !strings.Contains(page, want) {
			t.Errorf("evidence page lacks %q", want)
		}
	}
	resp, body = rita.get(fmt.Sprintf("/incidents/%d/evidence.zip", inc.ID))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(body, "PK") {
		t.Errorf("package: %d %v", resp.StatusCode, resp.Header)
	}

	// A viewer reads and downloads but has no actions; a manager holds.
	vic := e.login("vic")
	_, page = vic.get(evURL)
	if strings.Contains(page, "Record a transfer") || !strings.Contains(page, "Download") {
		t.Errorf("viewer's evidence page offers the wrong things")
	}
	if resp, _ := vic.post(evURL+"/transfer", map[string][]string{"to": {"me"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer transfer: %d", resp.StatusCode)
	}
	boss := e.login("lena")
	if resp, _ := boss.post(evURL+"/hold", map[string][]string{"reason": {"Police investigation"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("hold: %d", resp.StatusCode)
	}
	resp, page = boss.post(evURL+"/delete", map[string][]string{"reason": {"tidy up"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "under legal hold") {
		t.Errorf("delete under hold: %d", resp.StatusCode)
	}
	_, page = boss.get(fmt.Sprintf("/incidents/%d", inc.ID))
	if !strings.Contains(page, "Legal hold") || !strings.Contains(page, "README_RESTORE.txt") {
		t.Errorf("incident page's evidence table")
	}
}

// TestBrowserEvidenceUpload uploads a file through the incident page's
// form in Chromium: the form's parts arrive in the order the server needs
// (the CSRF token first, the file last).
func TestBrowserEvidenceUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	open := newBrowser(t)
	e := newEnv(t)
	rita := e.user("rita", vigil.RoleResponder)
	inc := &vigil.Incident{Title: "Phishing with an attachment"}
	if err := e.svc.Incidents.CreateIncident(as(rita), inc); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "invoice.html")
	if err := os.WriteFile(file, []byte("<html>fake Microsoft login</html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := open()
	b.login(e.ts.URL, "rita")
	b.run("upload evidence",
		chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", e.ts.URL, inc.ID)),
		chromedp.Click(`#evidence-add > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#ev-by`, chromedp.ByQuery),
		chromedp.SendKeys(`#ev-by`, "Rita", chromedp.ByQuery),
		chromedp.SendKeys(`#ev-from`, "rita@example.org mailbox", chromedp.ByQuery),
		chromedp.SetUploadFiles(`#ev-file`, []string{file}, chromedp.ByQuery),
		submit(`#evidence-add button[type=submit]`),
	)
	b.shot("evidence")
	if h := b.text("h1"); h != "invoice.html" {
		t.Fatalf("after upload the page is %q", h)
	}
	if s := b.text(".flash"); !strings.Contains(s, "SHA-256") {
		t.Errorf("flash: %q", s)
	}
	b.run("record a transfer",
		chromedp.Click(`#ev-transfer > summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tr-to`, chromedp.ByQuery),
		chromedp.SendKeys(`#tr-to`, "Acme IR Ltd", chromedp.ByQuery),
		submit(`#ev-transfer button[type=submit]`),
	)
	if s := b.text("#h-custody + p + table"); !strings.Contains(s, "Transferred to Acme IR Ltd") {
		t.Errorf("custody log: %q", s)
	}
	list, err := e.svc.Evidence.FindEvidence(as(rita), inc.ID)
	if err != nil || len(list) != 1 || list[0].CollectedBy != "Rita" || list[0].Size != 33 {
		t.Fatalf("stored: %v %+v", err, list)
	}
}
