package http

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// FuzzDecodeIncident feeds arbitrary bodies to the strict decoder and the
// incident rules behind it: nothing may panic, and every refusal must be an
// EINVALID error naming a field.
func FuzzDecodeIncident(f *testing.F) {
	for _, seed := range []string{
		`{"title":"Phishing","severity":"high","tlp":"AMBER+STRICT","times":{"occurred_at":"2026-01-01T00:00:00Z"}}`,
		`{"title":"x","category":2,"significant":false}`,
		`{"title":"x","affected_services":["a","A"," a "]}`,
		`{"title":"x","times":{"aware_at":"2026-13-01T00:00:00Z"}}`,
		`{"title":"x","lead_id":null,"times":{"closed_at":null}}`,
		`{"version":1,"lead_id":null}`,
		`{"title":1e999}`,
		`{"title":"\ud800"}`,
		`[]`, `null`, `{`, `{"a":1}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(err error) {
			if err == nil {
				return
			}
			if vigil.ErrorCode(err) != vigil.EINVALID || len(vigil.ErrorFields(err)) == 0 {
				t.Fatalf("error %v is not EINVALID with fields", err)
			}
		}
		var c IncidentCreate
		err := decodeJSON(body, &c)
		check(err)
		if err == nil {
			inc := c.incident()
			inc.Normalize()
			check(inc.Validate())
		}
		var u vigil.IncidentUpdate
		err = decodeJSON(body, &u)
		check(err)
		if err == nil {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			inc := &vigil.Incident{Title: "Base", Type: vigil.TypeOther, Status: vigil.StatusTriage, Severity: vigil.SeverityLow,
				TLP: vigil.TLPAmber, Source: vigil.SourceManual, Times: vigil.IncidentTimes{DetectedAt: &now}}
			_, err := inc.Apply(u)
			check(err)
		}
		var tr vigil.Transition
		if decodeJSON(body, &tr) == nil {
			inc := &vigil.Incident{ID: 1, Title: "Base", Type: vigil.TypeOther, Status: vigil.StatusTriage, Severity: vigil.SeverityLow,
				TLP: vigil.TLPAmber, Source: vigil.SourceManual}
			_, err := inc.ApplyTransition(tr, time.Now())
			check(err)
		}
	})
}

// TestReadBody: a body of the length it announces is read whole, one cut
// short is an error, and one of unknown length is read to its end.
func TestReadBody(t *testing.T) {
	if b, err := readBody(strings.NewReader(`{"a":1}`), 7); err != nil || string(b) != `{"a":1}` {
		t.Errorf("exact: %q, %v", b, err)
	}
	if _, err := readBody(strings.NewReader(`{"a":`), 7); err == nil {
		t.Error("a body shorter than its length was read as whole")
	}
	if b, err := readBody(strings.NewReader(`{"a":1}`), -1); err != nil || string(b) != `{"a":1}` {
		t.Errorf("unknown length: %q, %v", b, err)
	}
}
