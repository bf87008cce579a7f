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
