package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestReadIndicator(t *testing.T) {
	obj := func(pattern, typ, extra string) []byte {
		return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":%q,"pattern_type":%q,"valid_from":"2026-01-01T00:00:00Z"%s}`, pattern, typ, extra)
	}
	v := func(t vigil.ObservableType, s string) IndicatorValue { return IndicatorValue{t, s} }
	for _, tc := range []struct {
		pattern string
		want    []IndicatorValue
	}{
		{`[ipv4-addr:value = '198.51.100.1']`, []IndicatorValue{v(vigil.ObsIPv4, "198.51.100.1")}},
		{`[ipv4-addr:value ISSUBSET '198.51.100.7/24']`, []IndicatorValue{v(vigil.ObsIPv4, "198.51.100.0/24")}},
		{`[ipv6-addr:value = '2001:DB8::0:1']`, []IndicatorValue{v(vigil.ObsIPv6, "2001:db8::1")}},
		{`[domain-name:value = 'EVIL.Example.']`, []IndicatorValue{v(vigil.ObsDomain, "evil.example")}},
		{`[url:value = 'http://evil.example/a'] OR [email-addr:value = 'x@evil.example']`,
			[]IndicatorValue{v(vigil.ObsURL, "http://evil.example/a"), v(vigil.ObsEmail, "x@evil.example")}},
		{`[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' OR file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']`,
			[]IndicatorValue{v(vigil.ObsSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), v(vigil.ObsMD5, "d41d8cd98f00b204e9800998ecf8427e")}},
		{`[domain-name:value IN ('a.example', 'b.example', 'a.example')]`, []IndicatorValue{v(vigil.ObsDomain, "a.example"), v(vigil.ObsDomain, "b.example")}},
		{`[user-account:account_login = 'jdoe'] OR [autonomous-system:number = 64500]`, []IndicatorValue{v(vigil.ObsUser, "jdoe"), v(vigil.ObsASN, "AS64500")}},
		// A hash under the wrong name is not taken for what it says.
		{`[file:hashes.MD5 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']`, nil},
		// Nothing to match one value at a time.
		{`[ipv4-addr:value = '198.51.100.1' AND domain-name:value = 'evil.example']`, nil},
		{`[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [domain-name:value = 'evil.example']`, nil},
		{`[ipv4-addr:value = '198.51.100.1'] REPEATS 5 TIMES`, nil},
		{`[ipv4-addr:value != '198.51.100.1']`, nil},
		{`[domain-name:value LIKE '%.evil.example']`, nil},
		{`[process:name = 'evil.exe']`, nil},
	} {
		ind, err := ReadIndicator(obj(tc.pattern, "stix", `,"name":"n","confidence":70`))
		if tc.want == nil {
			if !errors.Is(err, ErrNotMatchable) {
				t.Errorf("%s: err %v, want ErrNotMatchable (values %v)", tc.pattern, err, ind.Values)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if !slices.Equal(ind.Values, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.pattern, ind.Values, tc.want)
		}
		if ind.Name != "n" || ind.Confidence == nil || *ind.Confidence != 70 {
			t.Errorf("%s: name %q confidence %v", tc.pattern, ind.Name, ind.Confidence)
		}
	}
	if _, err := ReadIndicator(obj(`alert tcp any any`, "snort", "")); !errors.Is(err, ErrNotMatchable) {
		t.Errorf("snort: %v", err)
	}
	if _, err := ReadIndicator(obj(`[ipv4-addr:value = `, "stix", "")); err == nil || errors.Is(err, ErrNotMatchable) {
		t.Errorf("broken pattern: %v", err)
	}
	ind, err := ReadIndicator(obj(`[ipv4-addr:value = '198.51.100.1']`, "stix", `,"revoked":true,"valid_until":"2026-06-01T00:00:00Z","confidence":101,"created_by_ref":"identity--x"`))
	if err != nil || !ind.Revoked || ind.ValidUntil == nil || ind.ValidUntil.Month() != 6 || ind.Confidence != nil || ind.CreatedBy != "identity--x" {
		t.Errorf("revoked: %+v %v", ind, err)
	}
}

func FuzzReadIndicator(f *testing.F) {
	f.Add([]byte(`{"type":"indicator","pattern":"[ipv4-addr:value ISSUBSET '10.0.0.0/8']","pattern_type":"stix"}`))
	f.Add([]byte(`{"type":"indicator","pattern":"[file:hashes.'SHA-256' = 'x'] OR [url:value = 'http://a']","pattern_type":"stix","confidence":5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ind, err := ReadIndicator(b)
		if err == nil {
			for _, v := range ind.Values {
				if _, nv, err := vigil.NormalizeObservable(v.Type, v.Value); err != nil || nv != v.Value {
					t.Fatalf("value %v is not normalised (%q, %v)", v, nv, err)
				}
			}
		}
	})
}

// TestSightingAgainstOfficialSchemas checks a shared sighting against the
// OASIS schemas, and that it says nothing of the value seen nor of the
// incident.
func TestSightingAgainstOfficialSchemas(t *testing.T) {
	schema := officialSchemas(t)
	inc := int64(7)
	conf := 80
	h := &vigil.IOCHit{ID: 42, IncidentID: &inc, Type: vigil.ObsIPv4, Value: "10.1.2.3", SeenAt: time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC),
		SeenTLP: vigil.TLPGreen, Match: vigil.MatchCIDR, IndicatorType: vigil.ObsIPv4, IndicatorValue: "10.1.0.0/16",
		IndicatorID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Confidence: &conf, TLP: vigil.TLPAmber,
		CreatedAt: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	objs, err := Sighting("Example Water plc", h)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[2].Type() != "sighting" || objs[0].ID() != TLPMarkings[vigil.TLPAmber].ID() {
		t.Fatalf("objects: %v", objs)
	}
	for _, o := range objs {
		if err := validate(t, schema(o.Type()), o); err != nil {
			t.Errorf("%s does not validate: %v", o.ID(), err)
		}
	}
	b, _ := json.Marshal(objs)
	if strings.Contains(string(b), "10.1.2.3") {
		t.Errorf("the sighting tells the value seen: %s", b)
	}
	s := objs[2]
	if s["sighting_of_ref"] != h.IndicatorID || s["first_seen"] != "2026-11-30T09:15:00.000Z" || s["where_sighted_refs"].([]string)[0] != IdentityID("Example Water plc") {
		t.Errorf("sighting: %v", s)
	}
	again, _ := Sighting("Example Water plc", h)
	if again[2].ID() != s.ID() {
		t.Errorf("a hit's sighting id changes: %s, %s", s.ID(), again[2].ID())
	}
	for _, tc := range []struct{ ind, seen vigil.TLP }{{vigil.TLPRed, vigil.TLPGreen}, {vigil.TLPGreen, vigil.TLPAmberStrict}} {
		h.TLP, h.SeenTLP = tc.ind, tc.seen
		if _, err := Sighting("x", h); !errors.Is(err, ErrStaysInside) {
			t.Errorf("%s/%s: %v", tc.ind, tc.seen, err)
		}
	}
}
