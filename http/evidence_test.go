package http_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/evidence"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func (e *env) blobCount(t *testing.T) int {
	t.Helper()
	n := 0
	filepath.WalkDir(e.evidenceDir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestEvidenceAPI(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleManager)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Phishing wave"}}).want(t, 201).JSON(t, &inc)
	base := fmt.Sprintf("/api/v1/incidents/%d/evidence", inc.ID)

	const page = "<html><script>alert(document.cookie)</script></html>"
	r := e.do(req{Method: "POST", Path: base, Token: tok, Body: upload("../../../etc/landing.html", page,
		"description", "The phishing landing page", "collected_by", "Kim Lee", "collected_at", "2026-11-30T14:05:00Z",
		"collected_from", "proxy cache", "method", "curl from the sandbox", "media_type", "text/html")}).want(t, 201)
	var ev vigil.Evidence
	r.JSON(t, &ev)
	sum := sha256.Sum256([]byte(page))
	if ev.Name != "landing.html" || ev.Size != int64(len(page)) || ev.SHA256 != fmt.Sprintf("%x", sum) || ev.CollectedAt == nil ||
		ev.CollectedBy != "Kim Lee" || ev.MediaType != "text/html" || r.Header.Get("Location") != fmt.Sprintf("/api/v1/evidence/%d", ev.ID) {
		t.Fatalf("uploaded: %+v %v", ev, r.Header)
	}

	// Downloads are attachments of no type a browser would run, with the digest.
	d := e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d/content", ev.ID), Token: tok}).want(t, 200)
	if string(d.Body) != page || d.Header.Get("Content-Type") != "application/octet-stream" ||
		d.Header.Get("Content-Disposition") != `attachment; filename=landing.html` ||
		d.Header.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
		t.Errorf("download: %v %q", d.Header, d.Body)
	}

	// The package verifies offline and logged one export.
	p := e.do(req{Method: "GET", Path: base + "/package", Token: tok}).want(t, 200)
	if p.Header.Get("Content-Type") != "application/zip" || !strings.Contains(p.Header.Get("Content-Disposition"), inc.Reference+"-evidence.zip") {
		t.Errorf("package headers: %v", p.Header)
	}
	rep, err := evidence.Verify(bytes.NewReader(p.Body), int64(len(p.Body)))
	if err != nil || !rep.OK() || len(rep.Checks) != 1 || rep.Manifest.Incident.Reference != inc.Reference {
		t.Fatalf("package: %v %+v", err, rep)
	}

	var view vigilhttp.EvidenceView
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/evidence/%d", ev.ID), Token: tok}).want(t, 200).JSON(t, &view)
	var actions []string
	for _, c := range view.Custody {
		actions = append(actions, string(c.Action))
	}
	if got := strings.Join(actions, " "); got != "added downloaded exported viewed" {
		t.Errorf("custody: %s", got)
	}

	var check vigil.EvidenceCheck
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/evidence/%d/verify", ev.ID), Token: tok}).want(t, 200).JSON(t, &check)
	if check.Result != vigil.IntegrityOK {
		t.Errorf("verify: %+v", check)
	}
	var held vigil.Evidence
	e.do(req{Method: "PUT", Path: fmt.Sprintf("/api/v1/evidence/%d/hold", ev.ID), Token: tok, Body: map[string]any{"hold": true, "reason": "Claim 2026-17"}}).
		want(t, 200).JSON(t, &held)
	if !held.LegalHold {
		t.Error("hold not placed")
	}
	pr := e.do(req{Method: "DELETE", Path: fmt.Sprintf("/api/v1/evidence/%d?reason=mistake", ev.ID), Token: tok}).want(t, 409).Problem(t)
	if !strings.Contains(pr.Detail, "legal hold") {
		t.Errorf("delete under hold: %+v", pr)
	}
	var list vigilhttp.EvidenceList
	e.do(req{Method: "GET", Path: base, Token: tok}).want(t, 200).JSON(t, &list)
	if len(list.Evidence) != 1 || list.Evidence[0].Integrity != vigil.IntegrityOK {
		t.Errorf("list: %+v", list)
	}
}

func TestEvidenceUploadBadInput(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Malware"}}).want(t, 201).JSON(t, &inc)
	base := fmt.Sprintf("/api/v1/incidents/%d/evidence", inc.ID)
	e.db.MaxEvidenceBytes = 1000

	fieldAfterFile := func() form {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("file", "a.bin")
		fw.Write([]byte("data"))
		w.WriteField("collected_by", "late")
		w.Close()
		return form{contentType: w.FormDataContentType(), data: b.Bytes()}
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"empty file", upload("empty.bin", ""), 400, "file"},
		{"empty file with a name", func() form {
			f := upload("x", "y")
			f.data = bytes.Replace(f.data, []byte("\r\ny\r\n"), []byte("\r\n\r\n"), 1)
			return f
		}(), 400, "file"},
		{"no file", upload("", "", "collected_by", "Kim"), 400, "file"},
		{"no name", upload("", "data"), 400, "name"},
		{"dot-dot name", upload("..", "data"), 400, "name"},
		{"unknown field", upload("a.bin", "data", "owner", "me"), 400, "owner"},
		{"bad time", upload("a.bin", "data", "collected_at", "yesterday"), 400, "collected_at"},
		{"field after file", fieldAfterFile(), 400, "collected_by"},
		{"too large", upload("big.bin", strings.Repeat("x", 1001)), 413, ""},
		{"JSON", map[string]any{"file": "data"}, 400, "file"},
	} {
		r := e.do(req{Method: "POST", Path: base, Token: tok, Body: tc.body, Raw: true})
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
			continue
		}
		pr := r.Problem(t)
		if tc.field != "" && (len(pr.Errors) == 0 || pr.Errors[0].Field != tc.field) {
			t.Errorf("%s: fields %+v, want %s", tc.name, pr.Errors, tc.field)
		}
	}
	var list vigilhttp.EvidenceList
	e.do(req{Method: "GET", Path: base, Token: tok}).want(t, 200).JSON(t, &list)
	if len(list.Evidence) != 0 || e.blobCount(t) != 0 {
		t.Errorf("refused uploads left %d records, %d files", len(list.Evidence), e.blobCount(t))
	}
	// Exactly at the limit is fine; the same bytes again are one file.
	for range 2 {
		e.do(req{Method: "POST", Path: base, Token: tok, Body: upload("max.bin", strings.Repeat("x", 1000))}).want(t, 201)
	}
	if n := e.blobCount(t); n != 1 {
		t.Errorf("two uploads of the same bytes: %d files", n)
	}
}

// TestEvidenceUploadStreams sends 128 MiB through the API and checks that
// the process allocated a small fraction of it: the upload is streamed to
// disk, not read into memory.
func TestEvidenceUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 128 MiB")
	}
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Disk image"}}).want(t, 201).JSON(t, &inc)
	const size = 128 << 20
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		w.WriteField("method", "dd of /dev/sdb")
		fw, _ := w.CreateFormFile("file", "sdb.img")
		buf := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for n := 0; n < size; n += len(buf) {
			fw.Write(buf)
		}
		pw.CloseWithError(w.Close())
	}()
	hr, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/incidents/%d/evidence", e.ts.URL, inc.ID), pr)
	hr.Header.Set("Content-Type", w.FormDataContentType())
	hr.Header.Set("Authorization", "Bearer "+tok)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("a %d MiB upload allocated %d MiB", size>>20, alloc>>20)
	} else {
		t.Logf("a %d MiB upload allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
	}
}

// TestEvidencePackageAbortsOnMissingFile: a package whose file is gone is
// cut off, not sent as a zip that looks whole.
func TestEvidencePackageAbortsOnMissingFile(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Lost file"}}).want(t, 201).JSON(t, &inc)
	var ev vigil.Evidence
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/evidence", inc.ID), Token: tok, Body: upload("a.txt", "abc")}).want(t, 201).JSON(t, &ev)
	if err := os.Remove(filepath.Join(e.evidenceDir, "sha256", ev.SHA256[:2], ev.SHA256[2:])); err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/incidents/%d/evidence/package", e.ts.URL, inc.ID), nil)
	hr.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return // cut off before the headers went
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		if _, zerr := zip.NewReader(bytes.NewReader(b), int64(len(b))); zerr == nil {
			t.Fatal("a package missing its file arrived as a whole zip")
		}
	}
}

// TestEvidenceCrossSiteReads: a page on another site cannot make a
// browser view or download evidence in its user's name, nor can a HEAD.
func TestEvidenceCrossSiteReads(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.user(vigil.RoleResponder)
	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: tok, Body: map[string]any{"title": "Phish"}}).want(t, 201).JSON(t, &inc)
	var ev vigil.Evidence
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/evidence", inc.ID), Token: tok, Body: upload("a.eml", "From: x")}).want(t, 201).JSON(t, &ev)
	for _, p := range []string{fmt.Sprintf("/api/v1/evidence/%d", ev.ID), fmt.Sprintf("/api/v1/evidence/%d/content", ev.ID),
		fmt.Sprintf("/api/v1/incidents/%d/evidence/package", inc.ID)} {
		for _, site := range []string{"cross-site", "same-site"} {
			e.do(req{Method: "GET", Path: p, Token: tok, Header: map[string]string{"Sec-Fetch-Site": site}}).want(t, 403)
		}
		e.do(req{Method: "GET", Path: p, Token: tok, Header: map[string]string{"Sec-Fetch-Site": "same-origin"}}).want(t, 200)
	}
	hr, _ := http.NewRequest("HEAD", fmt.Sprintf("%s/api/v1/evidence/%d/content", e.ts.URL, ev.ID), nil)
	hr.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("HEAD: %d", resp.StatusCode)
	}
	_, log, _ := e.svc.Evidence.ViewEvidence(vigil.NewContextWithActor(t.Context(), vigil.SystemActor("t")), ev.ID)
	var actions []string
	for _, c := range log {
		actions = append(actions, string(c.Action))
	}
	if got := strings.Join(actions, " "); got != "added viewed downloaded exported viewed" {
		t.Errorf("custody: %s", got)
	}
}
