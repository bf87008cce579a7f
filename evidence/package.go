// Package evidence writes and checks evidence packages: a zip holding an
// incident's evidence files, a manifest with their hashes and provenance,
// and their chain-of-custody logs, so that whoever receives it (police,
// lawyers, an incident response firm) can check it without Vigil's
// server: with sha256sum -c SHA256SUMS for the files, and with
// "vigil evidence verify-package" for the files and the custody chains.
package evidence

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
)

// Package format.
const (
	Format  = "vigil-evidence-package"
	Version = 1

	ManifestName = "manifest.json"
	CustodyName  = "custody.json"
	SumsName     = "SHA256SUMS"
	ReadmeName   = "README.txt"
	FilesDir     = "files/"
)

// Manifest describes a package.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Incident  Incident  `json:"incident"`
	Items     []Item    `json:"items"`
}

// Incident names the incident the evidence belongs to.
type Incident struct {
	ID        int64  `json:"id"`
	Reference string `json:"reference"`
	Title     string `json:"title"`
}

// Item is one file in a package: where it is in the zip and the evidence
// record it comes from.
type Item struct {
	Path     string          `json:"path"`
	Evidence *vigil.Evidence `json:"evidence"`
}

// CustodyLog is the chain of custody of one item.
type CustodyLog struct {
	EvidenceID int64                 `json:"evidence_id"`
	Entries    []*vigil.CustodyEntry `json:"entries"`
}

// Write writes a package of the exports to w, streaming each file.
func Write(w io.Writer, inc Incident, by string, at time.Time, exports []*vigil.EvidenceExport) error {
	z := zip.NewWriter(w)
	m := Manifest{Format: Format, Version: Version, CreatedAt: at.UTC(), CreatedBy: by, Incident: inc, Items: []Item{}}
	logs := []CustodyLog{}
	var sums bytes.Buffer
	for _, x := range exports {
		e := x.Evidence
		path := FilesDir + strconv.FormatInt(e.ID, 10) + "-" + e.Name
		m.Items = append(m.Items, Item{Path: path, Evidence: e})
		logs = append(logs, CustodyLog{EvidenceID: e.ID, Entries: x.Custody})
		fmt.Fprintf(&sums, "%s  %s\n", e.SHA256, path)
		// Stored, not deflated: evidence is often compressed already, and
		// a disk image should not cost a core for minutes.
		fw, err := z.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Store, Modified: e.AddedAt})
		if err != nil {
			return err
		}
		rc, err := x.Open()
		if err != nil {
			return fmt.Errorf("evidence %d (%s): %w", e.ID, e.Name, err)
		}
		n, err := io.Copy(fw, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("evidence %d (%s): %w", e.ID, e.Name, err)
		}
		if n != e.Size {
			return fmt.Errorf("evidence %d (%s): the store holds %d bytes, the record says %d; run vigil evidence verify", e.ID, e.Name, n, e.Size)
		}
	}
	for _, f := range []struct {
		name string
		data any
	}{{ManifestName, m}, {CustodyName, logs}} {
		b, err := json.MarshalIndent(f.data, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(z, f.name, append(b, '\n'), at); err != nil {
			return err
		}
	}
	if err := writeFile(z, SumsName, sums.Bytes(), at); err != nil {
		return err
	}
	if err := writeFile(z, ReadmeName, []byte(readme(m)), at); err != nil {
		return err
	}
	return z.Close()
}

func writeFile(z *zip.Writer, name string, b []byte, at time.Time) error {
	w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func readme(m Manifest) string {
	return fmt.Sprintf(`Evidence package for %s: %s
Made by %s at %s with Vigil.

files/          the evidence files, named <evidence id>-<file name>
manifest.json   each file's record: size, SHA-256, SHA-1, MD5, who collected it,
                when, from where and how, who added it and when
custody.json    each file's chain of custody: every access, transfer, export and
                verification, in order
SHA256SUMS      check the files with:  sha256sum -c SHA256SUMS

Each custody entry's "hash" is the SHA-256 (hex) of these fields, each written
as an 8-byte big-endian length followed by its bytes: "vigil-custody-v1",
evidence_id, seq, at (RFC 3339, UTC, microseconds), actor_id (or empty),
actor_name, action, to, detail, result, prev_hash. Each entry's prev_hash is
the hash of the entry before it (empty for the first), the first entry's
detail records the file's facts as they were when it was added, and the
manifest records each log's last hash (custody_head). To check all of it:

    vigil evidence verify-package this-file.zip
`, m.Incident.Reference, m.Incident.Title, m.CreatedBy, m.CreatedAt.Format(time.RFC3339))
}

// Check is what Verify found about one item.
type Check struct {
	Path    string `json:"path"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
}

// Report is what Verify found.
type Report struct {
	Manifest *Manifest `json:"manifest"`
	Checks   []Check   `json:"checks"`
	// Problems are faults of the package as a whole: files nobody lists,
	// entries the manifest lists twice.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether everything checked out.
func (r *Report) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Verify checks a package: every file against the hashes and size its
// record gives, every custody chain, and that the zip holds nothing the
// manifest does not list. It reads each file once, streaming.
func Verify(r io.ReaderAt, size int64) (*Report, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	files := map[string]*zip.File{}
	for _, f := range z.File {
		if _, dup := files[f.Name]; dup {
			return nil, fmt.Errorf("the zip holds %s twice", f.Name)
		}
		files[f.Name] = f
	}
	var m Manifest
	if err := readJSON(files, ManifestName, &m); err != nil {
		return nil, err
	}
	if m.Format != Format || m.Version != Version {
		return nil, fmt.Errorf("%s is not a %s version %d manifest", ManifestName, Format, Version)
	}
	var logs []CustodyLog
	if err := readJSON(files, CustodyName, &logs); err != nil {
		return nil, err
	}
	byID := map[int64][]*vigil.CustodyEntry{}
	for _, l := range logs {
		byID[l.EvidenceID] = l.Entries
	}
	rep := &Report{Manifest: &m, Checks: []Check{}}
	listed := map[string]bool{ManifestName: true, CustodyName: true, SumsName: true, ReadmeName: true}
	for _, it := range m.Items {
		c := Check{Path: it.Path}
		if listed[it.Path] {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the manifest lists %s twice", it.Path))
		}
		listed[it.Path] = true
		c.Problem = checkItem(files[it.Path], it, byID)
		c.OK = c.Problem == ""
		rep.Checks = append(rep.Checks, c)
	}
	var extra []string
	for name := range files {
		if !listed[name] && !strings.HasSuffix(name, "/") {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%s is in the zip but not in the manifest", name))
	}
	return rep, nil
}

func checkItem(f *zip.File, it Item, logs map[int64][]*vigil.CustodyEntry) string {
	e := it.Evidence
	if e == nil {
		return "the manifest gives no record for it"
	}
	if f == nil {
		return "the file is missing from the package"
	}
	rc, err := f.Open()
	if err != nil {
		return err.Error()
	}
	// No more than the record says, plus one byte to see that it is more:
	// a package crafted to inflate forever is not read forever.
	got, err := blob.Digest(io.LimitReader(rc, max(e.Size, 0)+1))
	rc.Close()
	if err != nil {
		// archive/zip checks the CRC-32 at the end of each file.
		return "the file cannot be read: " + err.Error()
	}
	var p []string
	if got != e.Digests {
		p = append(p, fmt.Sprintf("the file does not match its record: %d bytes, SHA-256 %s, SHA-1 %s, MD5 %s", got.Size, got.SHA256, got.SHA1, got.MD5))
	}
	if err := vigil.VerifyCustody(e, logs[e.ID]); err != nil {
		p = append(p, "custody log: "+err.Error())
	}
	return strings.Join(p, "; ")
}

func readJSON(files map[string]*zip.File, name string, v any) error {
	f := files[name]
	if f == nil {
		return fmt.Errorf("the package has no %s", name)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(io.LimitReader(rc, 32<<20))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
