package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/evidence"
)

func TestEvidenceCommands(t *testing.T) {
	data := t.TempDir()
	vigilCmd := func(args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := run(t.Context(), args, nil, &out, &out)
		return out.String(), err
	}
	cfg := &Config{Data: data}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx := cliContext(t.Context())
	inc := &vigil.Incident{Title: "Ransomware on the file server"}
	if err := s.Services().Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	const note = "YOUR FILES ARE ENCRYPTED"
	for _, name := range []string{"README_RESTORE.txt", "second-copy.txt"} {
		if err := s.Services().Evidence.AddEvidence(ctx, &vigil.Evidence{IncidentID: inc.ID, Name: name}, strings.NewReader(note+name)); err != nil {
			t.Fatal(err)
		}
	}
	exports, err := s.Services().Evidence.ExportEvidence(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var pkg bytes.Buffer
	if err := evidence.Write(&pkg, evidence.Incident{ID: inc.ID, Reference: inc.Reference, Title: inc.Title}, "cli", time.Now(), exports); err != nil {
		t.Fatal(err)
	}
	s.Close()
	pkgPath := filepath.Join(t.TempDir(), "package.zip")
	if err := os.WriteFile(pkgPath, pkg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	if out, err := vigilCmd("evidence", "verify", "-data", data); err != nil || !strings.Contains(out, "OK: 2 evidence files") {
		t.Fatalf("evidence verify: %v %q", err, out)
	}
	if out, err := vigilCmd("evidence", "verify-package", pkgPath); err != nil || !strings.Contains(out, "OK: 2 files") || !strings.Contains(out, inc.Reference) {
		t.Fatalf("verify-package: %v %q", err, out)
	}

	// A changed evidence file in the store.
	sum := exports[0].Evidence.SHA256
	p := filepath.Join(data, "evidence", "sha256", sum[:2], sum[2:])
	os.Chmod(p, 0o600)
	if err := os.WriteFile(p, []byte("your files are fine"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := vigilCmd("evidence", "verify", "-data", data)
	if exitCode(err) != 1 || !strings.Contains(out, "mismatch  evidence 1 (README_RESTORE.txt") || !strings.Contains(out, "FAILED: 1 of 2") {
		t.Errorf("evidence verify after tampering: exit %d %q", exitCode(err), out)
	}
	// A changed file in the package (stored, not compressed: its bytes are there to flip).
	b := bytes.Replace(pkg.Bytes(), []byte(note+"second-copy.txt"), []byte(strings.ToLower(note)+"second-copy.txt"), 1)
	if bytes.Equal(b, pkg.Bytes()) {
		t.Fatal("the file's bytes are not in the package as they are")
	}
	if err := os.WriteFile(pkgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = vigilCmd("evidence", "verify-package", pkgPath)
	if exitCode(err) != 1 || !strings.Contains(out, "FAILED  files/2-second-copy.txt") {
		t.Errorf("verify-package after tampering: exit %d %q", exitCode(err), out)
	}
	if _, err := vigilCmd("evidence", "verify-package", filepath.Join(t.TempDir(), "none.zip")); err == nil {
		t.Error("verify-package of a missing file succeeded")
	}
}

// TestBackupCarriesEvidence: a backup holds the evidence files, a restore
// puts them back so that they verify, and a file changed before the backup
// is left out of the restore (and reported) instead of stopping it.
func TestBackupCarriesEvidence(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{Data: filepath.Join(dir, "data")}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx := cliContext(t.Context())
	inc := &vigil.Incident{Title: "Laptop stolen from a car"}
	if err := s.Services().Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	var evs []*vigil.Evidence
	for i, content := range []string{"crime reference 42/2026", "MDM wipe confirmation", "crime reference 42/2026"} {
		e := &vigil.Evidence{IncidentID: inc.ID, Name: "file" + string(rune('a'+i)) + ".txt"}
		if err := s.Services().Evidence.AddEvidence(ctx, e, strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	backup := filepath.Join(dir, "one.backup")
	m, err := Backup(t.Context(), s, backup)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 || m.Version != 2 { // the database and two distinct files
		t.Fatalf("manifest files: %+v", m.Files)
	}
	// Change one file behind Vigil's back and back up again.
	p := filepath.Join(dir, "data", "evidence", "sha256", evs[1].SHA256[:2], evs[1].SHA256[2:])
	os.Chmod(p, 0o600)
	if err := os.WriteFile(p, []byte("MDM wipe FAILED"), 0o600); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "two.backup")
	if _, err := Backup(t.Context(), s, tampered); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for _, tc := range []struct {
		file    string
		skipped int
		results map[vigil.Integrity]int
	}{
		{backup, 0, map[vigil.Integrity]int{vigil.IntegrityOK: 3}},
		{tampered, 1, map[vigil.Integrity]int{vigil.IntegrityOK: 2, vigil.IntegrityMissing: 1}},
	} {
		rcfg := &Config{Data: t.TempDir()}
		m, err := Restore(t.Context(), rcfg, tc.file, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(m.Skipped) != tc.skipped {
			t.Errorf("%s: skipped %v", tc.file, m.Skipped)
		}
		rs, err := rcfg.openStore(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := map[vigil.Integrity]int{}
		if err := rs.Services().Evidence.VerifyAllEvidence(ctx, func(c *vigil.EvidenceCheck) { got[c.Result]++ }); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		if len(got) != len(tc.results) || got[vigil.IntegrityOK] != tc.results[vigil.IntegrityOK] || got[vigil.IntegrityMissing] != tc.results[vigil.IntegrityMissing] {
			t.Errorf("%s: after restore %v, want %v", tc.file, got, tc.results)
		}
	}
}

// TestBackupVerify: "vigil backup -verify" restores the backup into a
// scratch folder, checks it, and records both runs; a backup carrying a
// changed evidence file fails its restore test.
func TestBackupVerify(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := &Config{Data: data}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx := cliContext(t.Context())
	inc := &vigil.Incident{Title: "Phishing"}
	if err := s.Services().Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	ev := &vigil.Evidence{IncidentID: inc.ID, Name: "mail.eml"}
	if err := s.Services().Evidence.AddEvidence(ctx, ev, strings.NewReader("From: x")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var out bytes.Buffer
	err = run(t.Context(), []string{"backup", "-verify", "-data", data, filepath.Join(dir, "good.backup")}, nil, &out, &out)
	if err != nil || !strings.Contains(out.String(), "Restore test passed: restored into a scratch sqlite store") ||
		!strings.Contains(out.String(), "1 incidents, audit chain of") || !strings.Contains(out.String(), "1 evidence files verified") {
		t.Fatalf("backup -verify: %v\n%s", err, out.String())
	}
	p := filepath.Join(data, "evidence", "sha256", ev.SHA256[:2], ev.SHA256[2:])
	os.Chmod(p, 0o600)
	os.WriteFile(p, []byte("From: y"), 0o600)
	out.Reset()
	err = run(t.Context(), []string{"backup", "-verify", "-data", data, filepath.Join(dir, "bad.backup")}, nil, &out, &out)
	if exitCode(err) != 1 || !strings.Contains(out.String(), "RESTORE TEST FAILED: 1 of 1 evidence files in the backup do not verify") {
		t.Fatalf("backup -verify of a changed file: %v\n%s", err, out.String())
	}
	s, err = cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last, lastOK, err := s.Services().Recovery.LastRecoveryChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := last[vigil.RecoveryRestoreTest]; r == nil || r.OK || !strings.Contains(r.Detail, "do not verify") {
		t.Errorf("last restore test: %+v", r)
	}
	if r := lastOK[vigil.RecoveryRestoreTest]; r == nil || !strings.HasSuffix(r.File, "good.backup") {
		t.Errorf("last good restore test: %+v", r)
	}
	if b := last[vigil.RecoveryBackup]; b == nil || !b.OK || b.Size == 0 {
		t.Errorf("last backup: %+v", b)
	}
}
