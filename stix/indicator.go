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
