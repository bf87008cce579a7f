package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// custodyActions returns the actions of a piece's custody log, read as an
// admin would (which itself appends a "viewed": it is dropped here).
func custodyActions(t *testing.T, s *Store, id int64) []vigil.CustodyAction {
	t.Helper()
	_, log, err := s.Evidence.ViewEvidence(SystemContext(t), id)
	if err != nil {
		t.Fatalf("ViewEvidence(%d): %v", id, err)
	}
	var out []vigil.CustodyAction
	for _, c := range log[:len(log)-1] {
		out = append(out, c.Action)
	}
	return out
}

// blobFiles counts the files in the blob store.
func blobFiles(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(s.EvidenceDir, "sha256"), func(_ string, d os.DirEntry, err error) error {
		if d == nil && errors.Is(err, fs.ErrNotExist) {
			return nil // no file stored yet: the folder comes with the first
		}
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustAddEvidence(t *testing.T, s *Store, ctx context.Context, e *vigil.Evidence, content string) *vigil.Evidence {
	t.Helper()
	if err := s.Evidence.AddEvidence(ctx, e, strings.NewReader(content)); err != nil {
		t.Fatalf("AddEvidence: %v", err)
	}
	return e
}

func testEvidence(t *testing.T, open Opener) {
	s := open(t)
	resp, _ := MustCreateUser(t, s, vigil.RoleResponder)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	outsider, _ := MustCreateUser(t, s, vigil.RoleResponder)
	inc := MustCreateIncident(t, resp, s, &vigil.Incident{Title: "Ransom note on file server"})
	red := MustCreateIncident(t, resp, s, &vigil.Incident{Title: "Insider copying payroll", TLP: vigil.TLPRed})

	const content = "MZ\x90\x00 not really a PE file, but evidence all the same"
	sum := sha256.Sum256([]byte(content))
	collected := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	e := &vigil.Evidence{IncidentID: inc.ID, Name: `C:\Users\kim\Downloads\..\invoice.exe`, Description: "Dropper from the phishing mail",
		CollectedBy: "Kim Lee", CollectedAt: &collected, CollectedFrom: "LAPTOP-042", Method: "Copied from quarantine with the EDR console"}

	// A viewer may read but not add.
	wantCode(t, s.Evidence.AddEvidence(viewer, e, strings.NewReader(content)), vigil.EFORBIDDEN)
	mustAddEvidence(t, s, resp, e, content)
	if e.Name != "invoice.exe" {
		t.Errorf("name = %q: the folders of the uploader's path must go", e.Name)
	}
	if e.SHA256 != hex.EncodeToString(sum[:]) || e.Size != int64(len(content)) || len(e.SHA1) != 40 || len(e.MD5) != 32 {
		t.Errorf("digests = %+v", e.Digests)
	}
	if e.CustodyCount != 1 || e.Integrity != vigil.IntegrityUnverified || e.AddedBy == nil {
		t.Errorf("after add: %+v", e)
	}

	// Every access path appends exactly one entry; listing appends none.
	count := func(ctx context.Context) int64 {
		t.Helper()
		list, err := s.Evidence.FindEvidence(ctx, inc.ID)
		if err != nil || len(list) == 0 {
			t.Fatalf("FindEvidence: %v %v", err, list)
		}
		return list[0].CustodyCount
	}
	if n := count(viewer); n != 1 {
		t.Fatalf("custody count after list = %d, want 1", n)
	}
	step := func(name string, want vigil.CustodyAction, f func() error) {
		t.Helper()
		before := count(mgr)
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, log, err := s.Evidence.ViewEvidence(mgr, e.ID) // appends "viewed" itself
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(log)) != before+2 || log[before].Action != want || log[before+1].Action != vigil.CustodyViewed {
			var got []vigil.CustodyAction
			for _, c := range log[before:] {
				got = append(got, c.Action)
			}
			t.Fatalf("%s: entries after it %v, want [%s viewed]", name, got, want)
		}
		if c := log[before]; c.ActorName == "" || c.At.IsZero() || c.PrevHash != log[before-1].Hash {
			t.Errorf("%s: entry %+v", name, c)
		}
	}
	step("view", vigil.CustodyViewed, func() error { _, _, err := s.Evidence.ViewEvidence(viewer, e.ID); return err })
	step("download", vigil.CustodyDownloaded, func() error {
		_, rc, err := s.Evidence.OpenEvidence(viewer, e.ID)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		if string(b) != content {
			t.Errorf("downloaded %q", b)
		}
		return nil
	})
	step("transfer", vigil.CustodyTransferred, func() error {
		_, err := s.Evidence.TransferEvidence(resp, e.ID, vigil.Transfer{To: "DC Morgan, Regional Cyber Crime Unit", Detail: "Sealed bag 0042"})
		return err
	})
	step("verify", vigil.CustodyVerified, func() error {
		c, err := s.Evidence.VerifyEvidence(resp, e.ID)
		if err == nil && (c.Result != vigil.IntegrityOK || c.Problem != "") {
			t.Errorf("verify: %+v", c)
		}
		return err
	})
	step("hold", vigil.CustodyHoldPlaced, func() error {
		_, err := s.Evidence.SetLegalHold(mgr, e.ID, true, "Police investigation 2026/1234")
		return err
	})
	step("export", vigil.CustodyExported, func() error {
		out, err := s.Evidence.ExportEvidence(resp, inc.ID)
		if err == nil && (len(out) != 1 || out[0].Custody[len(out[0].Custody)-1].Action != vigil.CustodyExported) {
			t.Errorf("export: %+v", out)
		}
		return err
	})

	// Roles and visibility.
	_, err := s.Evidence.TransferEvidence(viewer, e.ID, vigil.Transfer{To: "someone"})
	wantCode(t, err, vigil.EFORBIDDEN)
	_, err = s.Evidence.SetLegalHold(resp, e.ID, false, "not mine to lift")
	wantCode(t, err, vigil.EFORBIDDEN)
	wantCode(t, s.Evidence.DeleteEvidence(resp, e.ID, "mistake"), vigil.EFORBIDDEN)
	_, err = s.Evidence.TransferEvidence(resp, e.ID, vigil.Transfer{})
	wantField(t, err, "to")
	redEv := mustAddEvidence(t, s, resp, &vigil.Evidence{IncidentID: red.ID, Name: "usb-log.csv"}, "serial,time\n")
	_, _, err = s.Evidence.ViewEvidence(outsider, redEv.ID)
	wantCode(t, err, vigil.ENOTFOUND)
	_, err = s.Evidence.FindEvidence(outsider, red.ID)
	wantCode(t, err, vigil.ENOTFOUND)
	wantCode(t, s.Evidence.AddEvidence(outsider, &vigil.Evidence{IncidentID: red.ID, Name: "x"}, strings.NewReader("x")), vigil.ENOTFOUND)

	// Legal hold stops deletion; the same bytes twice are one file with
	// two records, each with its own custody log.
	wantCode(t, s.Evidence.DeleteEvidence(mgr, e.ID, "uploaded by mistake"), vigil.ECONFLICT)
	files := blobFiles(t, s)
	dup := mustAddEvidence(t, s, resp, &vigil.Evidence{IncidentID: inc.ID, Name: "invoice (copy from LAPTOP-043).exe", CollectedFrom: "LAPTOP-043"}, content)
	if dup.SHA256 != e.SHA256 || blobFiles(t, s) != files || dup.CustodyCount != 1 {
		t.Errorf("duplicate upload: %d files (was %d), %+v", blobFiles(t, s), files, dup)
	}
	if _, err := s.Evidence.SetLegalHold(mgr, e.ID, false, "Investigation closed"); err != nil {
		t.Fatal(err)
	}
	wantField(t, s.Evidence.DeleteEvidence(mgr, e.ID, " "), "reason")
	if err := s.Evidence.DeleteEvidence(mgr, e.ID, "Duplicate of the copy from LAPTOP-043"); err != nil {
		t.Fatal(err)
	}
	if blobFiles(t, s) != files {
		t.Errorf("the file went while another record holds it")
	}
	_, _, err = s.Evidence.OpenEvidence(resp, e.ID)
	wantCode(t, err, vigil.ECONFLICT)
	got, log, err := s.Evidence.ViewEvidence(resp, e.ID)
	if err != nil || got.DeletedAt == nil || log[len(log)-2].Action != vigil.CustodyDeleted {
		t.Fatalf("deleted evidence keeps its record and log: %v %+v", err, got)
	}
	if err := s.Evidence.DeleteEvidence(mgr, dup.ID, "Not needed"); err != nil {
		t.Fatal(err)
	}
	if blobFiles(t, s) != files-1 {
		t.Errorf("the last record of the bytes went, the file stayed")
	}
	want := []vigil.CustodyAction{vigil.CustodyAdded, vigil.CustodyDeleted}
	if got := custodyActions(t, s, dup.ID); !equalActions(got, want) {
		t.Errorf("duplicate's log %v, want %v", got, want)
	}
	out, err := s.Evidence.ExportEvidence(resp, inc.ID)
	if err != nil || len(out) != 0 {
		t.Errorf("export of deleted evidence: %v %d", err, len(out))
	}

	// Timeline.
	page, err := s.Timeline.FindTimeline(resp, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindEvidence}})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, te := range page.Items {
		text = append(text, te.Message)
	}
	all := strings.Join(text, "\n")
	for _, w := range []string{"Evidence added: invoice.exe", "transferred to DC Morgan", "Legal hold placed", "Legal hold lifted", "exported", "deleted: Duplicate"} {
		if !strings.Contains(all, w) {
			t.Errorf("timeline lacks %q:\n%s", w, all)
		}
	}
}

func equalActions(a, b []vigil.CustodyAction) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testEvidenceTamper(t *testing.T, open Opener) {
	s := open(t)
	ctx, _ := MustCreateUser(t, s, vigil.RoleResponder)
	inc := MustCreateIncident(t, ctx, s, &vigil.Incident{Title: "Web shell"})

	// Bad input: nothing stored.
	before := blobFiles(t, s)
	wantField(t, s.Evidence.AddEvidence(ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "empty.txt"}, strings.NewReader("")), "file")
	wantField(t, s.Evidence.AddEvidence(ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "../.."}, strings.NewReader("x")), "name")
	wantField(t, s.Evidence.AddEvidence(ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "a\x00b", CollectedBy: "x\ny"}, strings.NewReader("x")), "collected_by")
	if list, _ := s.Evidence.FindEvidence(ctx, inc.ID); len(list) != 0 || blobFiles(t, s) != before {
		t.Fatalf("refused uploads left %d records, %d files", len(list), blobFiles(t, s)-before)
	}
	if tmp, _ := os.ReadDir(filepath.Join(s.EvidenceDir, "tmp")); len(tmp) != 0 {
		t.Errorf("refused uploads left temporary files: %v", tmp)
	}

	file := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "shell.php"}, "<?php system($_GET['c']); ?>")
	logRow := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "access.log"}, "GET /shell.php?c=id 200\n")
	record := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "error.log"}, "PHP Warning\n")
	cut := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "cron.txt"}, "* * * * * curl evil\n")
	gone := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "passwd"}, "root:x:0:0\n")
	if _, err := s.Evidence.TransferEvidence(ctx, logRow.ID, vigil.Transfer{To: "CIR supplier"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Evidence.TransferEvidence(ctx, cut.ID, vigil.Transfer{To: "CIR supplier"}); err != nil {
		t.Fatal(err)
	}

	path := func(sum string) string { return filepath.Join(s.EvidenceDir, "sha256", sum[:2], sum[2:]) }
	// A changed file.
	if err := os.Chmod(path(file.SHA256), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path(file.SHA256), []byte("<?php echo 'nothing to see'; ?>"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The custody log refuses changes; an attacker with database access
	// drops the guard first.
	if _, err := s.Exec(context.Background(), `UPDATE custody SET to_whom = 'nobody' WHERE evidence_id = ? AND seq = 2`, logRow.ID); err == nil {
		t.Fatal("a custody entry was changed in place")
	}
	if _, err := s.Exec(context.Background(), `DELETE FROM custody WHERE evidence_id = ?`, cut.ID); err == nil {
		t.Fatal("custody entries were deleted")
	}
	drop := []string{`DROP TRIGGER custody_no_update`, `DROP TRIGGER custody_no_delete`}
	if s.Engine == "postgres" {
		drop = []string{`DROP TRIGGER custody_no_change ON custody`}
	}
	for _, q := range drop {
		if _, err := s.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	// A changed custody row, a changed evidence record, a log cut short, a file gone.
	if _, err := s.Exec(context.Background(), `UPDATE custody SET to_whom = 'nobody' WHERE evidence_id = ? AND seq = 2`, logRow.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(context.Background(), `UPDATE evidence SET collected_from = 'somewhere else' WHERE id = ?`, record.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(context.Background(), `DELETE FROM custody WHERE evidence_id = ? AND seq = 2`, cut.ID); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path(gone.SHA256)); err != nil {
		t.Fatal(err)
	}

	results := map[int64]*vigil.EvidenceCheck{}
	if err := s.Evidence.VerifyAllEvidence(SystemContext(t), func(c *vigil.EvidenceCheck) { results[c.Evidence.ID] = c }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		e       *vigil.Evidence
		want    vigil.Integrity
		problem string
	}{
		{file, vigil.IntegrityMismatch, "no longer matches its hashes"},
		{logRow, vigil.IntegrityMismatch, "entry 2 was changed"},
		{record, vigil.IntegrityMismatch, "no longer matches the facts"},
		{cut, vigil.IntegrityMismatch, "entries were removed"},
		{gone, vigil.IntegrityMissing, "missing from the evidence store"},
	} {
		c := results[tc.e.ID]
		if c == nil {
			t.Errorf("%s: not verified", tc.e.Name)
			continue
		}
		if c.Result != tc.want || !strings.Contains(c.Problem, tc.problem) {
			t.Errorf("%s: %s %q, want %s %q", tc.e.Name, c.Result, c.Problem, tc.want, tc.problem)
		}
		if c.Evidence.Integrity != tc.want || c.Evidence.VerifiedAt == nil {
			t.Errorf("%s: record says %s", tc.e.Name, c.Evidence.Integrity)
		}
	}
	if len(results) != 5 {
		t.Errorf("verified %d pieces, want 5", len(results))
	}
	// An untouched piece passes, and the result is kept on the record.
	ok := mustAddEvidence(t, s, ctx, &vigil.Evidence{IncidentID: inc.ID, Name: "hosts"}, "127.0.0.1 localhost\n")
	c, err := s.Evidence.VerifyEvidence(ctx, ok.ID)
	if err != nil || c.Result != vigil.IntegrityOK {
		t.Fatalf("untouched: %v %+v", err, c)
	}
	list, _ := s.Evidence.FindEvidence(ctx, inc.ID)
	for _, e := range list {
		if e.ID == ok.ID && e.Integrity != vigil.IntegrityOK {
			t.Errorf("integrity not kept: %s", e.Integrity)
		}
	}
	// A failed verification is on the timeline.
	page, err := s.Timeline.FindTimeline(ctx, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindEvidence}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, te := range page.Items {
		b.WriteString(te.Message + "\n")
	}
	if !strings.Contains(b.String(), "shell.php failed verification (mismatch)") {
		t.Errorf("timeline:\n%s", b.String())
	}
}
