package stix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vigil-ir/vigil"
)

func TestCheck(t *testing.T) {
	good := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z",
		"modified":"2026-01-02T00:00:00.000Z","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",
		"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb","marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]}`
	in, err := Check([]byte(good))
	if err != nil || in.Type != "indicator" || in.Version.Format("2006-01-02") != "2026-01-02" || in.TLP != vigil.TLPAmber {
		t.Fatalf("good indicator: %+v %v", in, err)
	}
	sco, err := Check([]byte(`{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`))
	if err != nil || !sco.Version.IsZero() || sco.SpecVersion != "2.1" || sco.TLP != "" {
		t.Errorf("SCO without spec_version: %+v %v", sco, err)
	}
	// A marking Vigil cannot read (a statement, a PAP, a sharing agreement)
	// makes the object TLP:RED: it may restrict what Vigil cannot tell.
	for name, refs := range map[string]string{
		"object":   `"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb","marking-definition--1f1e7bdc-7a8b-4b1b-b1a1-6a7d1bd0c6b1"]`,
		"granular": `"granular_markings":[{"marking_ref":"marking-definition--1f1e7bdc-7a8b-4b1b-b1a1-6a7d1bd0c6b1","selectors":["description"]}]`,
	} {
		obj := `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z",
			"modified":"2026-01-02T00:00:00.000Z","pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",` + refs + `}`
		if in, err := Check([]byte(obj)); err != nil || in.TLP != vigil.TLPRed {
			t.Errorf("%s marking unknown to Vigil: TLP %q, %v; want RED", name, in.TLP, err)
		}
	}
	custom, err := Check([]byte(`{"type":"x-acme-widget","spec_version":"2.1","id":"x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}`))
	if err != nil || custom.Type != "x-acme-widget" {
		t.Errorf("unknown type refused: %v", err)
	}
	for name, c := range map[string]struct{ obj, want string }{
		"not an object":   {`[1,2]`, "not a JSON object"},
		"no type":         {`{"id":"x--1"}`, "no type"},
		"bad type":        {`{"type":"Indicator","id":"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "not a STIX type"},
		"id of another":   {`{"type":"indicator","spec_version":"2.1","id":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "is not \"indicator\""},
		"bad uuid":        {`{"type":"indicator","spec_version":"2.1","id":"indicator--1234"}`, "UUID"},
		"spec 2.0":        {`{"type":"indicator","spec_version":"2.0","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "spec_version"},
		"no spec_version": {`{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "no spec_version"},
		"no created": {`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","modified":"2026-01-01T00:00:00Z"}`,
			"no created"},
		"bad time": {`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"yesterday","modified":"2026-01-01T00:00:00Z"}`,
			"created"},
		"type not string": {`{"type":7,"id":"x"}`, "must be a string"},
		"nested bundle":   {`{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "bundle inside"},
		"invalid pattern": {`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[file:hashes.SHA-256 = 'x']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
			"hyphen is quoted"},
	} {
		if _, err := Check([]byte(c.obj)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

func TestDecode(t *testing.T) {
	b, _ := sample(1).Bundle()
	raw, _ := json.Marshal(b)
	n := 0
	err := Decode(bytes.NewReader(raw), func(i int, _ json.RawMessage, info *Info, err error) error {
		if err != nil {
			t.Errorf("object %d refused: %v", i, err)
		}
		n++
		return nil
	})
	if err != nil || n != len(b.Objects) {
		t.Fatalf("decoded %d of %d: %v", n, len(b.Objects), err)
	}
	// A bad object is reported; the good ones around it still come.
	mixed := `{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[
		{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"},
		{"type":"indicator","id":"indicator--nope"},
		{"type":"domain-name","id":"domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7","value":"example.com"}]}`
	var ok, bad int
	if err := Decode(strings.NewReader(mixed), func(i int, _ json.RawMessage, _ *Info, err error) error {
		if err != nil {
			bad++
		} else {
			ok++
		}
		return nil
	}); err != nil || ok != 2 || bad != 1 {
		t.Errorf("mixed bundle: %d good, %d bad, %v", ok, bad, err)
	}
	for name, doc := range map[string]string{
		"not json":   `hello`,
		"no objects": `{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`,
		"not bundle": `{"type":"indicator","objects":[]}`,
		"truncated":  `{"type":"bundle","objects":[{"type":"ipv4-addr"`,
		"objects {}": `{"objects":{}}`,
	} {
		if err := Decode(strings.NewReader(doc), func(int, json.RawMessage, *Info, error) error { return nil }); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecode: no input makes the bundle parser panic or hang, and every
// object it accepts passes Check again (it is what was read).
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}]}`))
	f.Add([]byte(`{"objects":[{},[],1,"x",null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		Decode(bytes.NewReader(data), func(i int, raw json.RawMessage, info *Info, err error) error {
			if err == nil {
				if _, err2 := Check(raw); err2 != nil {
					t.Fatalf("accepted, then refused: %v", err2)
				}
			}
			return nil
		})
	})
}

// TestCompactReader: whitespace outside strings shrinks, strings keep
// theirs (escaped quotes included), and the JSON means the same.
func TestCompactReader(t *testing.T) {
	in := "{ \"a\" :   \"x  \\\"  y\"  ,\n\n\t \"b\": [ 1 ,   2 ] }"
	b, err := io.ReadAll(&compactReader{r: iotest.OneByteReader(strings.NewReader(in))})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "{ \"a\" : \"x  \\\"  y\" ,\n\"b\": [ 1 , 2 ] }" {
		t.Errorf("compacted: %q", b)
	}
	var x, y any
	json.Unmarshal([]byte(in), &x)
	json.Unmarshal(b, &y)
	if fmt.Sprint(x) != fmt.Sprint(y) {
		t.Errorf("meaning changed: %v vs %v", x, y)
	}
}
