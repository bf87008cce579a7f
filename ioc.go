package vigil

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MatchKind says how an observed value matched an indicator.
type MatchKind string

// The ways a value matches an indicator.
const (
	MatchExact  MatchKind = "exact"  // the same normalised value
	MatchCIDR   MatchKind = "cidr"   // an address inside the indicator's block
	MatchDomain MatchKind = "domain" // a name under the indicator's domain (or a URL or e-mail address there)
	MatchHost   MatchKind = "host"   // the address a URL names
)

// MatchKey is a value to look for among indicators, and how finding it
// there matches.
type MatchKey struct {
	Type  ObservableType
	Value string
	Kind  MatchKind
}

// MatchKeys lists the indicator values that would match an observed
// (normalised) value: the value itself; for an address, every block that
// holds it; for a domain or host name, every parent domain (of two labels
// or more); for a URL, its host as a domain or an address; for an e-mail
// address, its domain.
func MatchKeys(t ObservableType, v string) []MatchKey {
	keys := []MatchKey{{Type: t, Value: v, Kind: MatchExact}}
	switch t {
	case ObsIPv4, ObsIPv6:
		keys = append(keys, blockKeys(t, v)...)
	case ObsDomain:
		keys = append(keys, parentKeys(v, false)...)
	case ObsHostname:
		if strings.Contains(v, ".") {
			keys = append(keys, parentKeys(v, true)...)
		}
	case ObsURL:
		u, err := url.Parse(v)
		if err != nil || u.Hostname() == "" {
			break
		}
		host := u.Hostname()
		if a, err := netip.ParseAddr(host); err == nil {
			at := ObsIPv4
			if a.Unmap().Is6() {
				at = ObsIPv6
			}
			keys = append(keys, MatchKey{Type: at, Value: a.Unmap().String(), Kind: MatchHost})
			keys = append(keys, blockKeys(at, a.Unmap().String())...)
		} else {
			keys = append(keys, parentKeys(host, true)...)
		}
	case ObsEmail:
		if _, dom, ok := strings.Cut(v, "@"); ok && strings.Contains(dom, ".") {
			keys = append(keys, parentKeys(dom, true)...)
		}
	}
	return keys
}

// ScopeKey is the key under which an observed (normalised) value falls
// inside wider indicators: an address (of an address, the network of a
// block, or a URL's host) as fixed-width hex, "4:c0000201"; a name (a
// domain, a host name with a dot, a mailbox's domain, a URL's host) with
// its labels reversed, "d:com.example.mail.". The blocks and parent
// domains that indicators name are ranges of these keys (ScopeRange), so
// what falls in them is found by index. "" when the value has none.
func ScopeKey(t ObservableType, v string) string {
	switch t {
	case ObsIPv4, ObsIPv6:
		if p, ok := prefixOf(v); ok {
			return addrKey(p.Masked().Addr())
		}
	case ObsDomain:
		return domainKey(v)
	case ObsHostname:
		if strings.Contains(v, ".") {
			return domainKey(v)
		}
	case ObsEmail:
		if _, dom, ok := strings.Cut(v, "@"); ok && strings.Contains(dom, ".") {
			return domainKey(dom)
		}
	case ObsURL:
		u, err := url.Parse(v)
		if err != nil || u.Hostname() == "" {
			return ""
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil {
			return addrKey(a.Unmap())
		}
		return domainKey(u.Hostname())
	}
	return ""
}

// ScopeRange is the range of scope keys, lo to hi inclusive, that an
// indicator value reaches beyond itself: every address of a block; an
// address's own key (for the URLs naming it); for a domain, every name
// under it. ok is false for other values.
func ScopeRange(t ObservableType, v string) (lo, hi string, ok bool) {
	switch t {
	case ObsIPv4, ObsIPv6:
		p, ok := prefixOf(v)
		if !ok {
			return "", "", false
		}
		p = p.Masked()
		last := p.Addr().AsSlice()
		for i := p.Bits(); i < len(last)*8; i++ {
			last[i/8] |= 0x80 >> (i % 8)
		}
		end, _ := netip.AddrFromSlice(last)
		return addrKey(p.Addr()), addrKey(end), true
	case ObsDomain:
		k := domainKey(v)
		// "~" sorts after every character a name's labels hold.
		return k, k + "~", true
	}
	return "", "", false
}

func addrKey(a netip.Addr) string {
	b := a.AsSlice()
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 2+2*len(b))
	if a.Is4() {
		out = append(out, "4:"...)
	} else {
		out = append(out, "6:"...)
	}
	for _, c := range b {
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

func domainKey(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return "d:" + strings.Join(labels, ".") + "."
}

// BlockKey is the block of bits holding an address (or a smaller block)
// as an indicator names it; ok is false when v is not an address or is a
// block of bits or wider.
func BlockKey(v string, bits int) (string, bool) {
	p, ok := prefixOf(v)
	if !ok || bits < 1 || bits >= p.Bits() {
		return "", false
	}
	b, _ := p.Addr().Prefix(bits)
	return b.String(), true
}

// prefixOf reads an address as a full-length block, or a block.
func prefixOf(v string) (netip.Prefix, bool) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p, err == nil
	}
	a, err := netip.ParseAddr(v)
	return netip.PrefixFrom(a, a.BitLen()), err == nil
}

// blockKeys are the blocks holding an address (or a smaller block), from
// the widest (/1) to the narrowest that holds it.
func blockKeys(t ObservableType, v string) []MatchKey {
	p, ok := prefixOf(v)
	if !ok {
		return nil
	}
	var keys []MatchKey
	for bits := 1; bits < p.Bits(); bits++ {
		b, _ := p.Addr().Prefix(bits)
		keys = append(keys, MatchKey{Type: t, Value: b.String(), Kind: MatchCIDR})
	}
	return keys
}

// parentKeys are the domains above a name (with the name itself when
// self is set: a host, URL or mailbox "in" that domain).
func parentKeys(name string, self bool) []MatchKey {
	var keys []MatchKey
	if self {
		keys = append(keys, MatchKey{Type: ObsDomain, Value: name, Kind: MatchDomain})
	}
	for {
		_, rest, ok := strings.Cut(name, ".")
		if !ok || !strings.Contains(rest, ".") {
			return keys
		}
		keys = append(keys, MatchKey{Type: ObsDomain, Value: rest, Kind: MatchDomain})
		name = rest
	}
}

// IOCHit is an observable of an incident or an alert that matches an
// indicator received from a collection (a feed, or a partner).
type IOCHit struct {
	ID           int64        `json:"id"`
	IncidentID   *int64       `json:"incident_id"`
	Incident     *IncidentRef `json:"incident,omitempty"`
	ObservableID *int64       `json:"observable_id"`
	AlertID      *int64       `json:"alert_id"`
	AlertTitle   string       `json:"alert_title,omitempty"`
	// What was seen, and when it was first seen there.
	Type    ObservableType `json:"type"`
	Value   string         `json:"value"`
	SeenAt  time.Time      `json:"seen_at"`
	SeenTLP TLP            `json:"seen_tlp"` // the TLP of the incident or alert it was seen in
	// The indicator it matches.
	Match          MatchKind      `json:"match"`
	IndicatorType  ObservableType `json:"indicator_type"`
	IndicatorValue string         `json:"indicator_value"`
	IndicatorID    string         `json:"indicator_id"` // STIX id
	IndicatorName  string         `json:"indicator_name"`
	Confidence     *int           `json:"confidence"` // 0–100, as the source gave it
	TLP            TLP            `json:"tlp"`        // the indicator's
	CollectionID   string         `json:"collection_id"`
	Source         string         `json:"source"` // the collection's title, and the feed that fills it
	// Retro says the value was seen before the indicator arrived: found by
	// retro-hunting when the indicator came.
	Retro     bool      `json:"retro"`
	CreatedAt time.Time `json:"created_at"`
	// SharedAt is when a sighting of it was last shared to a collection.
	SharedAt *time.Time `json:"shared_at"`
}

// HitFilter selects hits.
type HitFilter struct {
	IncidentID int64
	AlertID    int64
	Before     int64 // cursor: hits with a smaller id
	Limit      int
}

// HitPage is one page of hits, newest first.
type HitPage struct {
	Hits []*IOCHit `json:"hits"`
	Next int64     `json:"next,omitempty"` // Before for the next page; 0 at the end
}

// MatchStats counts one round of matching.
type MatchStats struct {
	Indicators int // indicator versions read from collections
	Values     int // indicator values indexed
	Checked    int // observables and alerts checked against them
	Hits       int // new hits
	More       bool
}

// IOCService matches observables and alerts against the indicators
// received in collections, both ways: a new observable or alert is looked
// up among the indicators, and a new indicator is looked for among the
// observables and alerts already seen (retro-hunting).
type IOCService interface {
	// MatchIOCs runs one bounded round of matching (as the system, from
	// the worker); More says there is more to do at once.
	MatchIOCs(ctx context.Context, limit int) (MatchStats, error)
	// FindHits lists hits on what the actor may read, newest first.
	FindHits(ctx context.Context, f HitFilter) (*HitPage, error)
	FindHit(ctx context.Context, id int64) (*IOCHit, error)
	// ShareHit adds objects made of a hit (its sighting) to a collection,
	// and records it on the hit, on the incident's timeline and in the
	// audit log, in one transaction. It needs PermIncidentEdit.
	ShareHit(ctx context.Context, id int64, collectionID string, objs []*IncomingObject) (*TAXIIStatus, error)
	// CountHitsByGroup counts, for each of the alert groups, the hits on
	// its alerts the actor may see (for the alert queue's badges).
	CountHitsByGroup(ctx context.Context, groupIDs []int64) (map[int64]int, error)
}
