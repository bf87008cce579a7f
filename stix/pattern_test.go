package stix

import (
	"strings"
	"testing"
)

// The patterns are those an ANTLR parser generated from STIXPattern.g4
// (OASIS cti-stix2-json-schemas) accepts and refuses.
func TestParsePattern(t *testing.T) {
	good := []string{
		`[ipv4-addr:value = '198.51.100.1']`,
		`[ipv4-addr:value = '198.51.100.0/24']`,
		`[ipv6-addr:value = '2001:db8::1']`,
		`[domain-name:value = 'example.com']`,
		`[url:value = 'https://example.com/path?q=1&x=it\'s']`,
		`[email-addr:value = 'john@example.com']`,
		`[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']`,
		`[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']`,
		`[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']`,
		`[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']`,
		`[user-account:account_login = 'jdoe']`,
		`[user-account:account_type = 'unix' AND user-account:user_id = '1001']`,
		`[file:name = 'C:\\Windows\\evil.exe']`,
		`[file:name = 'it\'s']`,
		`[ipv4-addr:value = '198.51.100.1'] OR [ipv4-addr:value = '198.51.100.2']`,
		`[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '198.51.100.2']`,
		`[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')]`,
		`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.1']`,
		`[mac-addr:value = 'd2:fb:49:24:37:18']`,
		`[autonomous-system:number = 15139]`,
		`[domain-name:value = 'exämple.com']`,
		`[file:name MATCHES '^Final Report.+\\.exe$']`,
		`[process:command_line LIKE '%powershell%'] FOLLOWEDBY [network-traffic:dst_port = 443] WITHIN 300 SECONDS`,
		`([file:size > 1000] AND [file:name NOT = 'x']) REPEATS 5 TIMES`,
		`[x509-certificate:extensions[*].name = 'a'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
	}
	for _, s := range good {
		if _, err := ParsePattern(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{
		`[file:hashes.SHA-256 = 'e3b0']`,      // an unquoted hyphen in a key
		`[file:hashes."SHA-256" = 'e3b0']`,    // double quotes
		`[file:name = 'C:\Windows\evil.exe']`, // a lone backslash
		`[file:name = 'it''s']`,               // '' is not an escape
		`[url:value = "https://example.com"]`,
		`ipv4-addr:value = '1.2.3.4'`,
		`[ipv4-addr:value = '1.2.3.4'`,
		`[ipv4-addr:value '1.2.3.4']`,
		`[ipv4-addr:value = '1.2.3.4'] WITHIN SECONDS`,
		`[ipv4-addr:value = '1.2.3.4'] and [x:y = 1]`,
		``,
		`[ipv4-addr = '1.2.3.4']`,
	}
	for _, s := range bad {
		if _, err := ParsePattern(s); err == nil {
			t.Errorf("%s: accepted", s)
		}
	}
	p, _ := ParsePattern(`[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'evil.example'] OR [file:hashes.'SHA-256' = 'ab']`)
	if !p.Simple || len(p.Comparisons) != 3 || p.Comparisons[2].Path != "hashes.SHA-256" || p.Comparisons[1].Values[0] != "evil.example" {
		t.Errorf("simple pattern: %+v", p)
	}
	if p, _ := ParsePattern(`[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']`); p.Simple {
		t.Error("an AND pattern is not simple")
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{`[ipv4-addr:value = '198.51.100.1']`, `[file:hashes.'SHA-256' = 'ab'] OR [a:b IN (1, 2)]`,
		`([file:size > 1000] AND [file:name NOT = 'x']) REPEATS 5 TIMES`, `[x:y[*].z = t'2016-06-01T00:00:00Z']`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err == nil && len(p.Comparisons) == 0 {
			t.Fatalf("accepted %q with no comparisons", s)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "pattern") {
			t.Fatalf("error without context: %v", err)
		}
	})
}
