package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// Indicator is what IOC matching reads of a STIX indicator: who made it,
// how sure they are, until when it holds, and the observable values its
// pattern names.
type Indicator struct {
	ID         string
	Name       string
	CreatedBy  string
	Confidence *int // 0–100, when given
	Revoked    bool
	ValidUntil *time.Time
	Values     []IndicatorValue
}

// IndicatorValue is one value an indicator's pattern matches, normalised
// as Vigil's observables are, so that it is found by equality; an address
// block (type ipv4-addr or ipv6-addr with a /) matches every address in
// it, and a domain-name matches its subdomains too.
type IndicatorValue struct {
	Type  vigil.ObservableType
	Value string
}

// ErrNotMatchable says an indicator has no values Vigil can match one by
// one: its pattern is not STIX, or needs several observations together
// (AND, FOLLOWEDBY, qualifiers), or compares only in ways (LIKE, MATCHES,
// NOT, <) that name no value.
var ErrNotMatchable = errors.New("stix: indicator has no values to match one by one")

// hashTypes maps the hash names of STIX (and their common variants) to
// Vigil's hash types.
var hashTypes = map[string]vigil.ObservableType{
	"MD5": vigil.ObsMD5, "SHA-1": vigil.ObsSHA1, "SHA1": vigil.ObsSHA1,
	"SHA-256": vigil.ObsSHA256, "SHA256": vigil.ObsSHA256, "SHA-512": vigil.ObsSHA512, "SHA512": vigil.ObsSHA512,
}

// ReadIndicator reads an indicator object for matching. Only a pattern
// whose comparisons are joined by OR alone (Pattern.Simple) gives values:
// each of its comparisons is then a match on its own. Comparisons on
// properties Vigil has no observable for are skipped; a pattern left with
// no values is ErrNotMatchable.
func ReadIndicator(raw []byte) (*Indicator, error) {
	var o struct {
		Type        string  `json:"type"`
		ID          string  `json:"id"`
		Name        string  `json:"name"`
		CreatedBy   string  `json:"created_by_ref"`
		Confidence  *int    `json:"confidence"`
		Revoked     bool    `json:"revoked"`
		ValidUntil  *string `json:"valid_until"`
		Pattern     string  `json:"pattern"`
		PatternType string  `json:"pattern_type"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	if o.Type != "indicator" {
		return nil, fmt.Errorf("stix: a %s is not an indicator", o.Type)
	}
	ind := &Indicator{ID: o.ID, Name: o.Name, CreatedBy: o.CreatedBy, Revoked: o.Revoked}
	if o.Confidence != nil && *o.Confidence >= 0 && *o.Confidence <= 100 {
		ind.Confidence = o.Confidence
	}
	if o.ValidUntil != nil {
		if t, err := ParseTimestamp(*o.ValidUntil); err == nil {
			ind.ValidUntil = &t
		}
	}
	if o.PatternType != "stix" {
		return ind, ErrNotMatchable
	}
	p, err := ParsePattern(o.Pattern)
	if err != nil {
		return ind, err
	}
	if !p.Simple {
		return ind, ErrNotMatchable
	}
	seen := map[IndicatorValue]bool{}
	for _, c := range p.Comparisons {
		for _, v := range comparisonValues(c) {
			if !seen[v] {
				seen[v] = true
				ind.Values = append(ind.Values, v)
			}
		}
	}
	if len(ind.Values) == 0 {
		return ind, ErrNotMatchable
	}
	return ind, nil
}

// comparisonValues are the observable values one comparison names: for
// = and IN, the values; for ISSUBSET on an address, the block.
func comparisonValues(c Comparison) []IndicatorValue {
	if c.Not {
		return nil
	}
	var typ vigil.ObservableType
	switch path := c.Path; c.Type + ":" + path {
	case "ipv4-addr:value":
		typ = vigil.ObsIPv4
	case "ipv6-addr:value":
		typ = vigil.ObsIPv6
	case "domain-name:value":
		typ = vigil.ObsDomain
	case "url:value":
		typ = vigil.ObsURL
	case "email-addr:value":
		typ = vigil.ObsEmail
	case "mac-addr:value":
		typ = vigil.ObsMAC
	case "file:name":
		typ = vigil.ObsFileName
	case "user-account:user_id", "user-account:account_login":
		typ = vigil.ObsUser
	case "autonomous-system:number":
		typ = vigil.ObsASN
	case "windows-registry-key:key":
		typ = vigil.ObsRegistry
	default:
		name, ok := strings.CutPrefix(path, "hashes.")
		if c.Type != "file" || !ok {
			return nil
		}
		if typ, ok = hashTypes[strings.ToUpper(name)]; !ok {
			return nil
		}
	}
	switch c.Op {
	case "=", "IN":
	case "ISSUBSET":
		if typ != vigil.ObsIPv4 && typ != vigil.ObsIPv6 {
			return nil
		}
	default:
		return nil
	}
	var out []IndicatorValue
	for _, v := range c.Values {
		t, nv, err := vigil.NormalizeObservable(typ, v)
		if err != nil || (t != typ && !isHash(typ)) {
			continue
		}
		if isHash(typ) && t != typ {
			continue // a SHA-256 under the name MD5: not what it says it is
		}
		out = append(out, IndicatorValue{Type: t, Value: nv})
	}
	return out
}

func isHash(t vigil.ObservableType) bool {
	return t == vigil.ObsMD5 || t == vigil.ObsSHA1 || t == vigil.ObsSHA256 || t == vigil.ObsSHA512
}

// ErrStaysInside refuses to share what is marked above TLP:AMBER.
var ErrStaysInside = errors.New("stix: TLP:AMBER+STRICT and TLP:RED stay in the organisation")

// Sighting is what the organisation shares of a hit: that it saw the
// indicator (sighting_of_ref), when, and where (its own identity) — not
// the value it saw nor the incident or alert it saw it in. It is marked
// with the stricter of the indicator's TLP and that of the incident or
// alert (AMBER for either when unmarked); above AMBER it is
// ErrStaysInside. The objects are the marking definition, the identity
// and the sighting, whose id is fixed for the hit.
func Sighting(org string, h *vigil.IOCHit) ([]Object, error) {
	tlp := maxTLP(orTLP(h.TLP), orTLP(h.SeenTLP))
	if tlp.Rank() > vigil.TLPAmber.Rank() {
		return nil, ErrStaysInside
	}
	identity := IdentityID(org)
	created := Timestamp(h.CreatedAt)
	marks := []string{TLPMarkings[tlp].ID()}
	where := "an alert"
	if h.IncidentID != nil {
		where = "an incident"
	}
	return []Object{
		TLPMarkings[tlp],
		{
			"type": "identity", "spec_version": SpecVersion, "id": identity, "created": created, "modified": created,
			"name": orDefault(org, "Vigil"), "identity_class": "organization", "object_marking_refs": marks,
		},
		{
			"type": "sighting", "spec_version": SpecVersion,
			"id":      vigilID("sighting", org, h.IndicatorID, h.IndicatorValue, fmt.Sprint(h.ID)),
			"created": created, "modified": created, "created_by_ref": identity,
			"sighting_of_ref": h.IndicatorID, "first_seen": Timestamp(h.SeenAt), "last_seen": Timestamp(h.SeenAt), "count": 1,
			"where_sighted_refs":  []string{identity},
			"description":         fmt.Sprintf("Seen by %s in %s (%s match).", orDefault(org, "Vigil"), where, h.Match),
			"object_marking_refs": marks,
		},
	}, nil
}

func orTLP(t vigil.TLP) vigil.TLP {
	if t == "" {
		return vigil.TLPAmber
	}
	return t
}
