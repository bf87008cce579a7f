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
