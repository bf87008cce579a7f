package vigil_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestCleanFileName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                     "report.pdf",
		"../../etc/passwd":               "passwd",
		`..\..\Windows\System32\cmd.exe`: "cmd.exe",
		"C:/evidence/disk.E01":           "disk.E01",
		"..":                             "",
		".":                              "",
		"/":                              "",
		".bashrc":                        "bashrc",
		"a\x00b\r\nc.txt":                "abc.txt",
		"  spaced name.txt ":             "spaced name.txt",
		"dir/":                           "",
		"résumé.docx":                    "résumé.docx",
		strings.Repeat("é", 200):         strings.Repeat("é", 127),
	} {
		if got := vigil.CleanFileName(in); got != want {
			t.Errorf("CleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func custodyChain(e *vigil.Evidence, actions ...vigil.CustodyAction) []*vigil.CustodyEntry {
	var log []*vigil.CustodyEntry
	prev := ""
	for i, a := range actions {
		c := &vigil.CustodyEntry{EvidenceID: e.ID, Seq: int64(i + 1), At: time.Date(2026, 12, 1, 10, i, 0, 0, time.UTC),
			ActorName: "kim", Action: a, PrevHash: prev}
		if i == 0 {
			c.Detail = e.Facts()
		}
		c.Hash = c.ComputeHash()
		prev = c.Hash
		log = append(log, c)
	}
	e.CustodyCount, e.CustodyHead = int64(len(log)), prev
	return log
}

func TestVerifyCustody(t *testing.T) {
	fresh := func() (*vigil.Evidence, []*vigil.CustodyEntry) {
		e := &vigil.Evidence{ID: 7, IncidentID: 3, Name: "mail.eml", Digests: vigil.Digests{Size: 10, SHA256: strings.Repeat("a", 64)}}
		return e, custodyChain(e, vigil.CustodyAdded, vigil.CustodyViewed, vigil.CustodyTransferred)
	}
	e, log := fresh()
	if err := vigil.VerifyCustody(e, log); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	for name, tc := range map[string]struct {
		tamper func(e *vigil.Evidence, log []*vigil.CustodyEntry) []*vigil.CustodyEntry
		want   string
	}{
		"changed entry": {func(_ *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry {
			l[1].ActorName = "someone else"
			return l
		}, "entry 2 was changed"},
		"rehashed entry": {func(_ *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry {
			l[1].To = "x"
			l[1].Hash = l[1].ComputeHash()
			return l
		}, "entry 3 does not follow entry 2"},
		"removed entry": {func(_ *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry {
			return append(l[:1], l[2:]...)
		}, "entry 2 is missing"},
		"cut short": {func(_ *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry { return l[:2] }, "entries were removed"},
		"changed record": {func(e *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry {
			e.SHA256 = strings.Repeat("b", 64)
			return l
		}, "no longer matches the facts"},
		"other evidence": {func(_ *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry {
			l[2].EvidenceID = 8
			return l
		}, "belongs to evidence 8"},
		"empty": {func(_ *vigil.Evidence, l []*vigil.CustodyEntry) []*vigil.CustodyEntry { return nil }, "does not start"},
	} {
		e, log := fresh()
		err := vigil.VerifyCustody(e, tc.tamper(e, log))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 10 << 30: "10.0 GiB"} {
		if got := vigil.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestEvidenceNameBidi: a right-to-left override makes "rtl\u202egnp.exe"
// show as "rtlexe.png"; such a name is refused, naming the field, rather
// than stored or quietly changed.
func TestEvidenceNameBidi(t *testing.T) {
	for _, name := range []string{"rtl\u202egnp.exe", "invoice\u2067fdp.exe", "a\u200fb.txt"} {
		e := &vigil.Evidence{IncidentID: 1, Name: name}
		err := e.Validate()
		if vigil.ErrorCode(err) != vigil.EINVALID || len(vigil.ErrorFields(err)) == 0 || vigil.ErrorFields(err)[0].Field != "name" {
			t.Errorf("Validate(%q) = %v, want EINVALID on name", name, err)
		}
	}
	e := &vigil.Evidence{IncidentID: 1, Name: "emoji 👩\u200d💻.png"} // a joiner, not a direction
	if err := e.Validate(); err != nil {
		t.Errorf("Validate(%q) = %v", e.Name, err)
	}
}

func TestPlainText(t *testing.T) {
	for _, tt := range []struct {
		s         string
		multiline bool
		want      bool
	}{
		{"Ransomware on the file server", false, true},
		{"a\x00b", false, false},
		{"a\x00b", true, false},
		{"line one\nline two\ttabbed\r\n", true, true},
		{"line one\nline two", false, false},
		{"escape \x1b[31m", true, false},
		{"C1 \u0085 next line", true, false},
	} {
		if got := vigil.PlainText(tt.s, tt.multiline); got != tt.want {
			t.Errorf("PlainText(%q, %v) = %v, want %v", tt.s, tt.multiline, got, tt.want)
		}
	}
}
