package evidence_test

import (
	"archive/zip"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/evidence"
)

var at = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// export builds an export of content as the store would: a record with the
// right digests and a custody chain ending in "exported".
func export(id int64, name, content string) *vigil.EvidenceExport {
	s256, s1, m5 := sha256.Sum256([]byte(content)), sha1.Sum([]byte(content)), md5.Sum([]byte(content))
	collected := at.Add(-48 * time.Hour)
	e := &vigil.Evidence{ID: id, IncidentID: 12, Name: name, AddedAt: at.Add(-time.Hour), CollectedBy: "Kim Lee", CollectedAt: &collected,
		Digests: vigil.Digests{Size: int64(len(content)), SHA256: hex.EncodeToString(s256[:]), SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])}}
	var log []*vigil.CustodyEntry
	prev := ""
	for i, a := range []vigil.CustodyAction{vigil.CustodyAdded, vigil.CustodyTransferred, vigil.CustodyExported} {
		c := &vigil.CustodyEntry{EvidenceID: id, Seq: int64(i + 1), At: at.Add(time.Duration(i) * time.Minute), ActorName: "kim", Action: a, PrevHash: prev}
		if a == vigil.CustodyAdded {
			c.Detail = e.Facts()
		}
		if a == vigil.CustodyTransferred {
			c.To = "DC Morgan"
		}
		c.Hash = c.ComputeHash()
		prev = c.Hash
		log = append(log, c)
	}
	e.CustodyCount, e.CustodyHead = 3, prev
	return &vigil.EvidenceExport{Evidence: e, Custody: log, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
}

func write(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	err := evidence.Write(&b, evidence.Incident{ID: 12, Reference: "INC-2026-000012", Title: "Phishing"}, "Kim Lee", at,
		[]*vigil.EvidenceExport{export(1, "mail.eml", "From: ceo@examp1e.com\n"), export(2, "invoice.exe", "MZ payload")})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rewrite copies a zip, letting change alter each file's content (nil drops it).
func rewrite(t *testing.T, in []byte, change func(name string, b []byte) []byte, extra map[string]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if b = change(f.Name, b); b == nil {
			continue
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	for name, s := range extra {
		w, _ := zw.Create(name)
		io.WriteString(w, s)
	}
	zw.Close()
	return out.Bytes()
}

func verify(t *testing.T, b []byte) *evidence.Report {
	t.Helper()
	r, err := evidence.Verify(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPackageRoundTrip(t *testing.T) {
	b := write(t)
	r := verify(t, b)
	if !r.OK() || len(r.Checks) != 2 || r.Manifest.Incident.Reference != "INC-2026-000012" {
		t.Fatalf("fresh package: %+v", r)
	}
	// The files check out with the standard tool too, offline.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		dir := t.TempDir()
		zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		for _, f := range zr.File {
			rc, _ := f.Open()
			data, _ := io.ReadAll(rc)
			rc.Close()
			p := filepath.Join(dir, filepath.FromSlash(f.Name))
			os.MkdirAll(filepath.Dir(p), 0o700)
			os.WriteFile(p, data, 0o600)
		}
		cmd := exec.Command("sha256sum", "-c", "SHA256SUMS")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}

func TestPackageTamper(t *testing.T) {
	b := write(t)
	for name, tc := range map[string]struct {
		change func(name string, b []byte) []byte
		extra  map[string]string
		want   string
	}{
		"changed file": {change: func(n string, b []byte) []byte {
			if n == "files/2-invoice.exe" {
				return []byte("MZ pAyload")
			}
			return b
		}, want: "does not match its record"},
		"missing file": {change: func(n string, b []byte) []byte {
			if n == "files/1-mail.eml" {
				return nil
			}
			return b
		}, want: "missing from the package"},
		"changed custody entry": {change: func(n string, b []byte) []byte {
			if n == evidence.CustodyName {
				return bytes.Replace(b, []byte("DC Morgan"), []byte("DC Norgan"), 1)
			}
			return b
		}, want: "entry 2 was changed"},
		"changed record": {change: func(n string, b []byte) []byte {
			if n == evidence.ManifestName {
				return bytes.Replace(b, []byte(`"collected_by": "Kim Lee"`), []byte(`"collected_by": "Someone"`), 1)
			}
			return b
		}, want: "no longer matches the facts"},
		"smuggled file": {change: func(_ string, b []byte) []byte { return b }, extra: map[string]string{"files/3-extra.txt": "x"},
			want: "files/3-extra.txt is in the zip but not in the manifest"},
	} {
		r := verify(t, rewrite(t, b, tc.change, tc.extra))
		var all []string
		for _, c := range r.Checks {
			all = append(all, c.Problem)
		}
		all = append(all, r.Problems...)
		if r.OK() || !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%s: OK=%v problems %q, want %q", name, r.OK(), all, tc.want)
		}
	}
	if _, err := evidence.Verify(bytes.NewReader([]byte("not a zip")), 9); err == nil {
		t.Error("a non-zip verified")
	}
	noManifest := rewrite(t, b, func(n string, b []byte) []byte {
		if n == evidence.ManifestName {
			return nil
		}
		return b
	}, nil)
	if _, err := evidence.Verify(bytes.NewReader(noManifest), int64(len(noManifest))); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("no manifest: %v", err)
	}
}

// FuzzVerify: whatever the bytes, Verify answers with a report or an
// error, never a panic, and never calls a damaged package sound.
func FuzzVerify(f *testing.F) {
	var good bytes.Buffer
	evidence.Write(&good, evidence.Incident{ID: 1, Reference: "INC-2026-000001"}, "k", at, []*vigil.EvidenceExport{export(1, "a.txt", "abc")})
	f.Add(good.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := evidence.Verify(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if r.OK() && !bytes.Equal(b, good.Bytes()) {
			// A different zip can still be sound (the same files written
			// again); it must then hold every listed file whole.
			for _, c := range r.Checks {
				if !c.OK {
					t.Fatalf("OK with a failed check: %+v", r)
				}
			}
		}
	})
}
