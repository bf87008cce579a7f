package vigil

import (
	"slices"
	"testing"
)

func TestMatchKeys(t *testing.T) {
	keys := func(t ObservableType, v string) []string {
		var out []string
		for _, k := range MatchKeys(t, v) {
			out = append(out, string(k.Kind)+" "+string(k.Type)+" "+k.Value)
		}
		return out
	}
	for _, tc := range []struct {
		typ  ObservableType
		v    string
		want []string
	}{
		{ObsDomain, "a.b.evil.example", []string{"exact domain-name a.b.evil.example", "domain domain-name b.evil.example", "domain domain-name evil.example"}},
		{ObsDomain, "example", []string{"exact domain-name example"}},
		{ObsHostname, "fileserver", []string{"exact hostname fileserver"}},
		{ObsHostname, "fs1.corp.example", []string{"exact hostname fs1.corp.example", "domain domain-name fs1.corp.example", "domain domain-name corp.example"}},
		{ObsEmail, "bob@mail.evil.example", []string{"exact email-addr bob@mail.evil.example", "domain domain-name mail.evil.example", "domain domain-name evil.example"}},
		{ObsURL, "https://x.evil.example/p?q=1", []string{"exact url https://x.evil.example/p?q=1", "domain domain-name x.evil.example", "domain domain-name evil.example"}},
		{ObsSHA256, "ab", []string{"exact sha256 ab"}},
	} {
		if got := keys(tc.typ, tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s:\n got %q\nwant %q", tc.typ, tc.v, got, tc.want)
		}
	}
	// An address: itself, then every block from /1 to /31 that holds it.
	k := MatchKeys(ObsIPv4, "10.1.2.3")
	if len(k) != 32 || k[0].Value != "10.1.2.3" || k[1].Value != "0.0.0.0/1" || k[8].Value != "10.0.0.0/8" || k[31].Value != "10.1.2.2/31" {
		t.Errorf("ipv4 keys: %v", k)
	}
	if k := MatchKeys(ObsIPv6, "2001:db8::1"); len(k) != 128 || k[32].Value != "2001:db8::/32" || k[32].Kind != MatchCIDR {
		t.Errorf("ipv6 keys: %d %v", len(k), k[32])
	}
	// A block: itself and the wider ones.
	if k := MatchKeys(ObsIPv4, "10.1.0.0/16"); len(k) != 16 || k[15].Value != "10.0.0.0/15" {
		t.Errorf("block keys: %v", k)
	}
	// A URL naming an address matches that address and its blocks.
	k = MatchKeys(ObsURL, "http://198.51.100.7:8080/x")
	if len(k) != 33 || k[1] != (MatchKey{ObsIPv4, "198.51.100.7", MatchHost}) || k[25].Value != "198.51.100.0/24" {
		t.Errorf("url keys: %v", k)
	}
}

// TestScopeKeys: whatever MatchKeys matches beyond the exact value falls
// inside the indicator's ScopeRange, which is what lets retro-hunting find
// blocks and parent domains by index; and what does not match mostly
// falls outside (the hunt checks each candidate with MatchKeys anyway).
func TestScopeKeys(t *testing.T) {
	for _, c := range []struct {
		typ  ObservableType
		v    string
		want string
	}{
		{ObsIPv4, "192.0.2.1", "4:c0000201"},
		{ObsIPv4, "192.0.2.0/24", "4:c0000200"},
		{ObsIPv6, "2001:db8::1", "6:20010db8000000000000000000000001"},
		{ObsDomain, "mail.example.com", "d:com.example.mail."},
		{ObsHostname, "web01", ""},
		{ObsHostname, "web01.corp.example", "d:example.corp.web01."},
		{ObsEmail, "alice@corp.example.com", "d:com.example.corp."},
		{ObsURL, "http://192.0.2.9:8080/x", "4:c0000209"},
		{ObsURL, "https://cdn.example.org/a?b", "d:org.example.cdn."},
		{ObsSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ""},
	} {
		if got := ScopeKey(c.typ, c.v); got != c.want {
			t.Errorf("ScopeKey(%s, %q) = %q, want %q", c.typ, c.v, got, c.want)
		}
	}
	seen := []struct {
		typ ObservableType
		v   string
	}{
		{ObsIPv4, "10.1.2.3"}, {ObsIPv4, "10.2.0.1"}, {ObsIPv4, "10.1.0.0/24"}, {ObsIPv4, "11.0.0.1"}, {ObsIPv4, "0.0.0.0"},
		{ObsIPv4, "255.255.255.255"}, {ObsIPv6, "2001:db8::5"}, {ObsIPv6, "2001:db9::5"}, {ObsIPv6, "::1"},
		{ObsDomain, "evil.com"}, {ObsDomain, "a.evil.com"}, {ObsDomain, "a.b.evil.com"}, {ObsDomain, "notevil.com"},
		{ObsDomain, "evil.com.au"}, {ObsHostname, "x.evil.com"}, {ObsEmail, "bob@evil.com"}, {ObsEmail, "bob@mx.evil.com"},
		{ObsURL, "http://evil.com/p"}, {ObsURL, "http://a-b.evil.com/p"}, {ObsURL, "http://10.1.9.9/p"}, {ObsURL, "http://[2001:db8::7]/"},
	}
	indicators := []struct {
		typ ObservableType
		v   string
	}{
		{ObsIPv4, "10.1.0.0/16"}, {ObsIPv4, "10.0.0.0/8"}, {ObsIPv4, "0.0.0.0/1"}, {ObsIPv4, "128.0.0.0/1"}, {ObsIPv4, "10.1.9.9"},
		{ObsIPv6, "2001:db8::/32"}, {ObsIPv6, "2001:db8::7"}, {ObsDomain, "evil.com"}, {ObsDomain, "b.evil.com"}, {ObsDomain, "com.au"},
	}
	for _, in := range indicators {
		lo, hi, ok := ScopeRange(in.typ, in.v)
		if !ok {
			t.Fatalf("ScopeRange(%s, %q): none", in.typ, in.v)
		}
		for _, s := range seen {
			matches := false
			for _, k := range MatchKeys(s.typ, s.v) {
				if k.Kind != MatchExact && k.Type == in.typ && k.Value == in.v {
					matches = true
				}
			}
			key := ScopeKey(s.typ, s.v)
			inside := key != "" && lo <= key && key <= hi
			if matches && !inside {
				t.Errorf("%s %q matches %s %q, but its key %q is outside [%q, %q]", s.typ, s.v, in.typ, in.v, key, lo, hi)
			}
			if !matches && inside && key != lo {
				t.Errorf("%s %q does not match %s %q, yet its key %q is inside [%q, %q]", s.typ, s.v, in.typ, in.v, key, lo, hi)
			}
		}
	}
}
