package vigil

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	testMD5    = "d41d8cd98f00b204e9800998ecf8427e"
	testSHA1   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	testSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	testSHA512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)

func TestNormalizeObservable(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	label63 := long(63)
	tests := []struct {
		name     string
		typ      ObservableType
		in       string
		wantType ObservableType // defaults to typ
		want     string         // "" means an EINVALID error is expected
	}{
		// Common rules.
		{"empty", ObsDomain, "", "", ""},
		{"only space", ObsOtherText, " \t\n ", "", ""},
		{"invalid utf-8", ObsOtherText, "a\xffb", "", ""},
		{"too long", ObsOtherText, long(MaxObservableLen + 1), "", ""},
		{"max length", ObsOtherText, long(MaxObservableLen), "", long(MaxObservableLen)},
		{"control char", ObsDomain, "exa\x00mple.com", "", ""},
		{"tab inside user", ObsUser, "ali\tce", "", ""},
		{"unknown type", "ip", "10.0.0.1", "", ""},
		{"unknown type case", "IPV4-ADDR", "10.0.0.1", "", ""},
		{"too long once normalised", ObsRegistry, `HKU\` + long(MaxObservableLen-4), "", ""},

		// ipv4-addr.
		{"ipv4", ObsIPv4, "10.0.0.1", "", "10.0.0.1"},
		{"ipv4 trimmed", ObsIPv4, " 10.0.0.1\r\n", "", "10.0.0.1"},
		{"ipv4 cidr masked", ObsIPv4, "10.1.2.3/24", "", "10.1.2.0/24"},
		{"ipv4 cidr /32", ObsIPv4, "10.1.2.3/32", "", "10.1.2.3"},
		{"ipv4 cidr /0", ObsIPv4, "10.1.2.3/0", "", "0.0.0.0/0"},
		{"ipv4 defanged", ObsIPv4, "10[.]0[.]0[.]1", "", "10.0.0.1"},
		{"ipv4 defanged mixed", ObsIPv4, "192(.)168[DOT]1{.}1", "", "192.168.1.1"},
		{"ipv4 nested defang", ObsIPv4, "10[[.]]0.0.1", "", "10.0.0.1"},
		{"ipv4 leading zero", ObsIPv4, "010.0.0.1", "", ""},
		{"ipv4 octet too big", ObsIPv4, "256.1.1.1", "", ""},
		{"ipv4 three octets", ObsIPv4, "1.2.3", "", ""},
		{"ipv4 bad bits", ObsIPv4, "10.0.0.0/33", "", ""},
		{"ipv4 given ipv6", ObsIPv4, "2001:db8::1", "", ""},
		{"ipv4 given mapped", ObsIPv4, "::ffff:1.2.3.4", "", "1.2.3.4"},
		{"ipv4 given name", ObsIPv4, "example.com", "", ""},

		// ipv6-addr.
		{"ipv6 canonical", ObsIPv6, "2001:DB8:0:0:0:0:0:1", "", "2001:db8::1"},
		{"ipv6 brackets", ObsIPv6, "[2001:db8::1]", "", "2001:db8::1"},
		{"ipv6 /128", ObsIPv6, "2001:db8::1/128", "", "2001:db8::1"},
		{"ipv6 cidr masked", ObsIPv6, "2001:db8:1:2::1/32", "", "2001:db8::/32"},
		{"ipv6 zone", ObsIPv6, "fe80::1%eth0", "", ""},
		{"ipv6 mapped", ObsIPv6, "::ffff:1.2.3.4", ObsIPv4, "1.2.3.4"},
		{"ipv6 mapped block", ObsIPv6, "::ffff:10.1.2.3/120", ObsIPv4, "10.1.2.0/24"},
		{"ipv6 given ipv4", ObsIPv6, "1.2.3.4", "", ""},
		{"ipv6 defanged", ObsIPv6, "2001[:]db8[:][:]1", "", "2001:db8::1"},
		{"ipv6 garbage", ObsIPv6, "2001:db8:::1", "", ""},

		// domain-name.
		{"domain lower and dot", ObsDomain, "Example.COM.", "", "example.com"},
		{"domain idna", ObsDomain, "Bücher.de", "", "xn--bcher-kva.de"},
		{"domain a-label upper", ObsDomain, "XN--BCHER-KVA.DE", "", "xn--bcher-kva.de"},
		{"domain ideographic dot", ObsDomain, "example。com", "", "example.com"},
		{"domain underscore", ObsDomain, "_dmarc.example.com", "", "_dmarc.example.com"},
		{"domain defanged", ObsDomain, "evil[.]example(.)com", "", "evil.example.com"},
		{"domain 63-char label", ObsDomain, label63 + ".com", "", label63 + ".com"},
		{"domain 64-char label", ObsDomain, long(64) + ".com", "", ""},
		{"domain 253 chars", ObsDomain, strings.Repeat(label63+".", 3) + long(61), "", strings.Repeat(label63+".", 3) + long(61)},
		{"domain 254 chars", ObsDomain, strings.Repeat(label63+".", 3) + long(62), "", ""},
		{"domain single label", ObsDomain, "localhost", "", ""},
		{"domain is ipv4", ObsDomain, "1.2.3.4", "", ""},
		{"domain is ipv6", ObsDomain, "2001:db8::1", "", ""},
		{"domain numeric tld", ObsDomain, "example.123", "", ""},
		{"domain empty label", ObsDomain, "a..example.com", "", ""},
		{"domain leading dot", ObsDomain, ".example.com", "", ""},
		{"domain two trailing dots", ObsDomain, "example.com..", "", ""},
		{"domain space", ObsDomain, "exa mple.com", "", ""},
		{"domain path", ObsDomain, "example.com/path", "", ""},
		{"domain underscore tld", ObsDomain, "example.c_m", "", ""},
		{"domain bad punycode", ObsDomain, "xn--a.com", "", ""},
		{"domain edge hyphens", ObsDomain, "-x-.example.com", "", "-x-.example.com"},
		{"domain hyphen tld", ObsDomain, "example.com-", "", ""},
		{"domain label of hyphens", ObsDomain, "--.example.com", "", ""},

		// hostname.
		{"hostname single", ObsHostname, "WEB01", "", "web01"},
		{"hostname fqdn", ObsHostname, "Web01.Corp.Local.", "", "web01.corp.local"},
		{"hostname underscore", ObsHostname, "web_01", "", "web_01"},
		{"hostname space", ObsHostname, "web 01", "", ""},
		{"hostname ip", ObsHostname, "10.0.0.1", "", ""},
		{"hostname digits", ObsHostname, "1234", "", "1234"},
		{"hostname underscore only", ObsHostname, "_", "", ""},

		// url.
		{"url host and path", ObsURL, "http://Example.COM", "", "http://example.com/"},
		{"url no scheme", ObsURL, "example.com/a", "", "http://example.com/a"},
		{"url no scheme port", ObsURL, "example.com:8080/a", "", "http://example.com:8080/a"},
		{"url scheme-relative", ObsURL, "//example.com/a", "", "http://example.com/a"},
		{"url defanged", ObsURL, "hxxp://evil[.]com/x", "", "http://evil.com/x"},
		{"url defanged https", ObsURL, "HXXPS[:]//evil[dot]com:443/x", "", "https://evil.com/x"},
		{"url fragment dropped", ObsURL, "https://example.com:8443/x#frag", "", "https://example.com:8443/x"},
		{"url escapes", ObsURL, "http://example.com/%7euser/%2f%41%e2%82%ac?b=2&a=%7e", "", "http://example.com/~user/%2FA%E2%82%AC?b=2&a=%7e"},
		{"url escapes with space", ObsURL, "http://example.com/a b/%2f", "", "http://example.com/a%20b/%2F"},
		{"url query kept", ObsURL, "http://example.com?z=1&a=2", "", "http://example.com/?z=1&a=2"},
		{"url ipv6 host", ObsURL, "http://[2001:DB8::1]:80/", "", "http://[2001:db8::1]/"},
		{"url ipv4 host", ObsURL, "http://10.0.0.1:8080", "", "http://10.0.0.1:8080/"},
		{"url userinfo", ObsURL, "http://user:pass@Example.com/", "", "http://user:pass@example.com/"},
		{"url ftp port", ObsURL, "ftp://files.example.com:21/x", "", "ftp://files.example.com/x"},
		{"url wss port", ObsURL, "WSS://example.com:443/s", "", "wss://example.com/s"},
		{"url idna host", ObsURL, "http://bücher.de/ü", "", "http://xn--bcher-kva.de/%C3%BC"},
		{"url single-label host", ObsURL, "smb://fileserver/share", "", "smb://fileserver/share"},
		{"url file", ObsURL, "file:///etc/passwd", "", "file:///etc/passwd"},
		{"url file one slash", ObsURL, "file:/etc/passwd", "", "file:///etc/passwd"},
		{"url javascript", ObsURL, "javascript:alert(1)", "", ""},
		{"url data", ObsURL, "data:text/html,<script>", "", ""},
		{"url mailto", ObsURL, "mailto:bob@example.com", "", ""},
		{"url no host", ObsURL, "http:///path", "", ""},
		{"url opaque", ObsURL, "http:example.com", "", ""},
		{"url port zero", ObsURL, "http://example.com:0/", "", ""},
		{"url port too big", ObsURL, "http://example.com:65536/", "", ""},
		{"url bad host", ObsURL, "http://exa mple.com/", "", ""},
		{"url bad escape", ObsURL, "http://example.com/%zz", "", ""},

		// email-addr.
		{"email display name", ObsEmail, "Bob <Bob@Example.COM>", "", "bob@example.com"},
		{"email defanged", ObsEmail, "bob[at]example[.]com", "", "bob@example.com"},
		{"email idna", ObsEmail, "bob@Bücher.de", "", "bob@xn--bcher-kva.de"},
		{"email plus", ObsEmail, "bob+tag@example.com", "", "bob+tag@example.com"},
		{"email no local", ObsEmail, "@example.com", "", ""},
		{"email single-label domain", ObsEmail, "bob@localhost", "", ""},
		{"email local 64", ObsEmail, long(64) + "@example.com", "", long(64) + "@example.com"},
		{"email local 65", ObsEmail, long(65) + "@example.com", "", ""},
		{"email quoted", ObsEmail, `"john doe"@example.com`, "", ""},
		{"email two ats", ObsEmail, "bob@@example.com", "", ""},
		{"email no at", ObsEmail, "bob", "", ""},
		{"email ip domain", ObsEmail, "bob@[1.2.3.4]", "", ""},

		// Hashes.
		{"md5 upper", ObsMD5, strings.ToUpper(testMD5), "", testMD5},
		{"sha1", ObsSHA1, testSHA1, "", testSHA1},
		{"sha256 labelled", ObsSHA256, "SHA256:" + testSHA256, "", testSHA256},
		{"sha256 labelled dash", ObsSHA256, "sha-256: " + testSHA256, "", testSHA256},
		{"sha512", ObsSHA512, testSHA512, "", testSHA512},
		{"hash md5", ObsHash, testMD5, ObsMD5, testMD5},
		{"hash sha1", ObsHash, testSHA1, ObsSHA1, testSHA1},
		{"hash sha256", ObsHash, testSHA256, ObsSHA256, testSHA256},
		{"hash sha512", ObsHash, testSHA512, ObsSHA512, testSHA512},
		{"hash labelled", ObsHash, "md5:" + testMD5, ObsMD5, testMD5},
		{"hash bad length", ObsHash, testMD5 + "0", "", ""},
		{"hash label mismatch length", ObsHash, "md5:" + testSHA1, "", ""},
		{"md5 given sha256", ObsMD5, testSHA256, "", ""},
		{"md5 odd length", ObsMD5, testMD5[:31], "", ""},
		{"md5 label mismatch", ObsMD5, "sha256:" + testSHA256, "", ""},
		{"md5 not hex", ObsMD5, "z" + testMD5[1:], "", ""},

		// mac-addr.
		{"mac colons", ObsMAC, "AA:BB:CC:DD:EE:FF", "", "aa:bb:cc:dd:ee:ff"},
		{"mac dashes", ObsMAC, "aa-bb-cc-dd-ee-0f", "", "aa:bb:cc:dd:ee:0f"},
		{"mac cisco", ObsMAC, "aabb.ccdd.eeff", "", "aa:bb:cc:dd:ee:ff"},
		{"mac bare", ObsMAC, "AABBCCDDEEFF", "", "aa:bb:cc:dd:ee:ff"},
		{"mac short groups", ObsMAC, "a:b:c:d:e:f", "", "0a:0b:0c:0d:0e:0f"},
		{"mac eui-64", ObsMAC, "00:11:22:33:44:55:66:77", "", "00:11:22:33:44:55:66:77"},
		{"mac five groups", ObsMAC, "aa:bb:cc:dd:ee", "", ""},
		{"mac mixed separators", ObsMAC, "aa:bb-cc:dd:ee:ff", "", ""},
		{"mac not hex", ObsMAC, "gg:bb:cc:dd:ee:ff", "", ""},
		{"mac long group", ObsMAC, "aaa:bb:cc:dd:ee:ff", "", ""},

		// user-account.
		{"user", ObsUser, "  CORP\\Alice ", "", "CORP\\Alice"},
		{"user 256", ObsUser, strings.Repeat("é", 256), "", strings.Repeat("é", 256)},
		{"user 257", ObsUser, strings.Repeat("é", 257), "", ""},

		// autonomous-system.
		{"asn upper", ObsASN, "AS1234", "", "AS1234"},
		{"asn lower", ObsASN, "as1234", "", "AS1234"},
		{"asn bare", ObsASN, "1234", "", "AS1234"},
		{"asn leading zero", ObsASN, "AS01234", "", "AS1234"},
		{"asn max", ObsASN, "4294967295", "", "AS4294967295"},
		{"asn zero", ObsASN, "AS0", "", ""},
		{"asn too big", ObsASN, "AS4294967296", "", ""},
		{"asn letters", ObsASN, "ASX", "", ""},
		{"asn sign", ObsASN, "AS+5", "", ""},

		// file-name.
		{"file name spaces", ObsFileName, " invoice 2024.pdf.exe ", "", "invoice 2024.pdf.exe"},
		{"file name backslash", ObsFileName, `C:\x.exe`, "", ""},
		{"file name slash", ObsFileName, "tmp/x", "", ""},
		{"file name 255", ObsFileName, long(255), "", long(255)},
		{"file name 256", ObsFileName, long(256), "", ""},
		{"file name dots", ObsFileName, "..", "", ""},

		// windows-registry-key.
		{"registry hklm", ObsRegistry, `hklm\Software\Microsoft\Windows\CurrentVersion\Run`, "", `HKEY_LOCAL_MACHINE\Software\Microsoft\Windows\CurrentVersion\Run`},
		{"registry hkcu", ObsRegistry, `HKCU\Software\x`, "", `HKEY_CURRENT_USER\Software\x`},
		{"registry hkcr", ObsRegistry, `HKCR\.exe`, "", `HKEY_CLASSES_ROOT\.exe`},
		{"registry hku", ObsRegistry, `hku\S-1-5-18`, "", `HKEY_USERS\S-1-5-18`},
		{"registry hkcc", ObsRegistry, `HKCC\System`, "", `HKEY_CURRENT_CONFIG\System`},
		{"registry full hive lower", ObsRegistry, `hkey_local_machine\SYSTEM`, "", `HKEY_LOCAL_MACHINE\SYSTEM`},
		{"registry powershell", ObsRegistry, `HKLM:\SOFTWARE`, "", `HKEY_LOCAL_MACHINE\SOFTWARE`},
		{"registry hive only", ObsRegistry, `HKLM`, "", `HKEY_LOCAL_MACHINE`},
		{"registry no hive", ObsRegistry, `SOFTWARE\Microsoft`, "", ""},
		{"registry hive prefix only", ObsRegistry, `HKLMX\SOFTWARE`, "", ""},

		// other.
		{"other", ObsOtherText, "  some text\twith a tab\n", "", "some text\twith a tab"},
		{"other keeps brackets", ObsOtherText, "evil[.]com", "", "evil[.]com"},

		// Detection.
		{"detect ipv4", "", "10.0.0.1/8", ObsIPv4, "10.0.0.0/8"},
		{"detect ipv6", "", "2001:db8::1", ObsIPv6, "2001:db8::1"},
		{"detect url", "", "hxxp://evil[.]com", ObsURL, "http://evil.com/"},
		{"detect www", "", "www.example.com/a", ObsURL, "http://www.example.com/a"},
		{"detect email", "", "bob(at)example.com", ObsEmail, "bob@example.com"},
		{"detect md5", "", testMD5, ObsMD5, testMD5},
		{"detect mac", "", "aa-bb-cc-dd-ee-ff", ObsMAC, "aa:bb:cc:dd:ee:ff"},
		{"detect asn", "", "as64500", ObsASN, "AS64500"},
		{"detect registry", "", `HKLM\Software`, ObsRegistry, `HKEY_LOCAL_MACHINE\Software`},
		{"detect domain", "", "Evil[.]Example.com", ObsDomain, "evil.example.com"},
		{"detect file", "", "report.pdf", "", ""},
		{"detect text", "", "hello world", "", ""},
		{"detect single label", "", "WEB01", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotType, got, err := NormalizeObservable(tt.typ, tt.in)
			if tt.want == "" {
				if err == nil || ErrorCode(err) != EINVALID {
					t.Errorf("NormalizeObservable(%q, %q) = %q, %q, %v, want an EINVALID error", tt.typ, tt.in, gotType, got, err)
				} else if msg := ErrorMessage(err); !strings.HasSuffix(msg, ".") || msg[0] < 'A' || msg[0] > 'Z' {
					t.Errorf("NormalizeObservable(%q, %q) error message %q is not a sentence", tt.typ, tt.in, msg)
				}
				return
			}
			wantType := tt.wantType
			if wantType == "" {
				wantType = tt.typ
			}
			if err != nil || gotType != wantType || got != tt.want {
				t.Fatalf("NormalizeObservable(%q, %q) = %q, %q, %v, want %q, %q", tt.typ, tt.in, gotType, got, err, wantType, tt.want)
			}
			checkNormalized(t, gotType, got)
		})
	}
}

func TestNormalizeObservableErrorMessages(t *testing.T) {
	tests := []struct {
		typ      ObservableType
		in, want string // want is a part of the message
	}{
		{ObsDomain, "1.2.3.4", "ipv4-addr"},
		{ObsDomain, "2001:db8::1", "ipv6-addr"},
		{ObsIPv4, "2001:db8::1", "ipv6-addr"},
		{ObsIPv6, "1.2.3.4", "ipv4-addr"},
		{ObsMD5, testSHA256, "SHA-256"},
		{ObsHash, "abc", "32 (MD5)"},
		{ObsURL, "javascript:alert(1)", `"javascript"`},
		{"foo", "x", `"foo"`},
		{ObsDomain, "localhost", "hostname"},
	}
	for _, tt := range tests {
		_, _, err := NormalizeObservable(tt.typ, tt.in)
		if msg := ErrorMessage(err); !strings.Contains(msg, tt.want) {
			t.Errorf("NormalizeObservable(%q, %q) error = %q, want it to mention %q", tt.typ, tt.in, msg, tt.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Alice@Example.com", "alice@example.com"},
		{"Alice Smith <alice@EXAMPLE.com>", "alice@example.com"},
		{"alice@example", ""},
		{"not an address", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.want == "" {
			if ErrorCode(err) != EINVALID {
				t.Errorf("NormalizeEmail(%q) = %q, %v, want an EINVALID error", tt.in, got, err)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestDetectObservableType(t *testing.T) {
	tests := []struct {
		in   string
		want ObservableType // "" means not detected
	}{
		{"192.0.2.1", ObsIPv4},
		{"192[.]0[.]2[.]1", ObsIPv4},
		{"192.0.2.0/24", ObsIPv4},
		{"2001:db8::/32", ObsIPv6},
		{"[2001:db8::1]", ObsIPv6},
		{"::ffff:1.2.3.4", ObsIPv4},
		{"https://example.com", ObsURL},
		{"ftp://example.com/x", ObsURL},
		{"javascript://x", ObsURL}, // detected, then refused with a useful message
		{"www.example.com/login.php", ObsURL},
		{"192.0.2.1/evil.exe", ObsURL},
		{"example.com:8080/x", ObsURL},
		{"alice@example.com", ObsEmail},
		{"Alice <alice@example.com>", ObsEmail},
		{testMD5, ObsMD5},
		{testSHA1, ObsSHA1},
		{"sha256:" + testSHA256, ObsSHA256},
		{testSHA512, ObsSHA512},
		{"aa:bb:cc:dd:ee:ff", ObsMAC},
		{"aabb.ccdd.eeff", ObsMAC},
		{"AS64500", ObsASN},
		{`HKCU\Software\Run`, ObsRegistry},
		{`HKEY_USERS`, ObsRegistry},
		{"example.com", ObsDomain},
		{"xn--bcher-kva.de", ObsDomain},
		{"bücher.de", ObsDomain},
		{"svchost.exe", ""},
		{"report.pdf", ""},
		{"example.123", ""},
		{"1.2.3", ""},
		{"WEB01", ""},
		{"alice", ""},
		{"aabbccddeeff", ""},
		{"64500", ""},
		{"hello world", ""},
		{"", ""},
		{"a\x00b.com", ""},
	}
	for _, tt := range tests {
		got, ok := DetectObservableType(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("DetectObservableType(%q) = %q, %v, want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestRefang(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hxxp://a[.]b", "http://a.b"},
		{"HXXPS://a(.)b", "https://a.b"},
		{"hxxp[:]//a{.}b", "http://a.b"},
		{"a[dot]b(DOT)c", "a.b.c"},
		{"a[at]b(AT)c[@]d", "a@b@c@d"},
		{"[[.]]", "."},
		{"a[[dot]]b", "a.b"},
		{"hxxp[[:]]//x", "http://x"},
		{"HxXpS[:]//x", "https://x"},
		{"(at)(AT)", "@@"},
		{"hxxpfoo", "hxxpfoo"}, // not a scheme
		{"ahxxp://", "ahxxp://"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := refang(tt.in); got != tt.want {
			t.Errorf("refang(%q) = %q, want %q", tt.in, got, tt.want)
		} else if again := refang(got); again != got {
			t.Errorf("refang(%q) = %q, not a fixed point", got, again)
		}
	}
}

func TestParseObservableLines(t *testing.T) {
	text := strings.Join([]string{
		"# pasted from the alert",         // 1
		"10.0.0.1",                        // 2
		"ip:2001:DB8::1",                  // 3
		"domain: Example.com",             // 4
		"url:http://example.com/x",        // 5
		"http://example.com/y",            // 6
		"file:///etc/passwd",              // 7
		"md5," + strings.ToUpper(testMD5), // 8
		"SHA256\t" + testSHA256,           // 9
		`user:CORP\alice`,                 // 10
		"10.0.0.1",                        // 11: repeat
		"ipv4-addr:10.0.0.1",              // 12: repeat
		"what is this",                    // 13: error
		"ip:example.com",                  // 14: error
		"",                                // 15
		"   mac:aa-bb-cc-dd-ee-ff  \r",    // 16
		"host,WEB01",                      // 17
		"file:evil.exe",                   // 18
		"hxxps://evil[.]com/a",            // 19
		"fqdn:bad..name",                  // 20: error
	}, "\n")
	got, errs := ParseObservableLines(text)
	want := []ObservableInput{
		{ObsIPv4, "10.0.0.1", 2},
		{ObsIPv6, "2001:db8::1", 3},
		{ObsDomain, "example.com", 4},
		{ObsURL, "http://example.com/x", 5},
		{ObsURL, "http://example.com/y", 6},
		{ObsURL, "file:///etc/passwd", 7},
		{ObsMD5, testMD5, 8},
		{ObsSHA256, testSHA256, 9},
		{ObsUser, `CORP\alice`, 10},
		{ObsMAC, "aa:bb:cc:dd:ee:ff", 16},
		{ObsHostname, "web01", 17},
		{ObsFileName, "evil.exe", 18},
		{ObsURL, "https://evil.com/a", 19},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseObservableLines(...) =\n%v\nwant\n%v", got, want)
	}
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
		if e.Message == "" {
			t.Errorf("ParseObservableLines: %s has no message", e.Field)
		}
	}
	if wantFields := []string{"lines[13]", "lines[14]", "lines[20]"}; !reflect.DeepEqual(fields, wantFields) {
		t.Errorf("ParseObservableLines(...) errors = %v, want fields %v", errs, wantFields)
	}
}

func TestParseObservableLinesPrefixes(t *testing.T) {
	tests := []struct {
		line     string
		wantType ObservableType
		want     string
	}{
		{"ip:10.0.0.1", ObsIPv4, "10.0.0.1"},
		{"IP,::1", ObsIPv6, "::1"},
		{"ipv4:10.0.0.1", ObsIPv4, "10.0.0.1"},
		{"ipv6\t::1", ObsIPv6, "::1"},
		{"domain:example.com", ObsDomain, "example.com"},
		{"fqdn:example.com", ObsDomain, "example.com"},
		{"host:WEB01", ObsHostname, "web01"},
		{"email:Bob@Example.com", ObsEmail, "bob@example.com"},
		{"mail:bob@example.com", ObsEmail, "bob@example.com"},
		{"md5:" + testMD5, ObsMD5, testMD5},
		{"sha1:" + testSHA1, ObsSHA1, testSHA1},
		{"sha256:" + testSHA256, ObsSHA256, testSHA256},
		{"sha512:" + testSHA512, ObsSHA512, testSHA512},
		{"hash:" + testSHA1, ObsSHA1, testSHA1},
		{"mac:aabbccddeeff", ObsMAC, "aa:bb:cc:dd:ee:ff"},
		{"user:alice", ObsUser, "alice"},
		{"account:alice", ObsUser, "alice"},
		{"username:alice", ObsUser, "alice"},
		{"asn:64500", ObsASN, "AS64500"},
		{"filename:a.exe", ObsFileName, "a.exe"},
		{"file:a.exe", ObsFileName, "a.exe"},
		{"url:example.com", ObsURL, "http://example.com/"},
		{"uri:example.com", ObsURL, "http://example.com/"},
		{"regkey:HKLM\\Run", ObsRegistry, "HKEY_LOCAL_MACHINE\\Run"},
		{"registry:HKCU", ObsRegistry, "HKEY_CURRENT_USER"},
		{"windows-registry-key:HKU", ObsRegistry, "HKEY_USERS"},
		{"other:x, y: z", ObsOtherText, "x, y: z"},
		{"http://example.com", ObsURL, "http://example.com/"},
		{"ftp://example.com", ObsURL, "ftp://example.com"},
		{"2001:db8::1", ObsIPv6, "2001:db8::1"},
		{"AS64500", ObsASN, "AS64500"},
	}
	for _, tt := range tests {
		got, errs := ParseObservableLines(tt.line)
		want := []ObservableInput{{tt.wantType, tt.want, 1}}
		if !reflect.DeepEqual(got, want) || len(errs) != 0 {
			t.Errorf("ParseObservableLines(%q) = %v, %v, want %v", tt.line, got, errs, want)
		}
	}
}

func TestParseObservableLinesLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; i < MaxObservablesPerRequest+5; i++ {
		fmt.Fprintf(&b, "10.%d.%d.1\n", i/256, i%256)
	}
	got, errs := ParseObservableLines(b.String())
	if len(got) != MaxObservablesPerRequest {
		t.Errorf("ParseObservableLines(%d lines) gave %d values, want %d", MaxObservablesPerRequest+5, len(got), MaxObservablesPerRequest)
	}
	want := fmt.Sprintf("lines[%d]", MaxObservablesPerRequest+1)
	if len(errs) != 1 || errs[0].Field != want {
		t.Errorf("ParseObservableLines(%d lines) errors = %v, want one for %s", MaxObservablesPerRequest+5, errs, want)
	}
}

func TestExtractObservables(t *testing.T) {
	text := `Alert: beacon from 10.0.0.5 to hxxps://evil[.]example[.]com/gate.php?id=1 (see https://intel.example.org/report).
Version 1.2.3 and build 10.0.19041.1 are not addresses; 10.0.0.5 again.
Contact: Bob.Smith@Example.COM, or logo@2x.png.
Dropped svchost.exe and report.pdf; also contacted update-check[.]net and www.bad.ru.
Hashes: ` + strings.ToUpper(testMD5) + ` sha256=` + testSHA256 + ` nothex` + testMD5 + `x
v6: 2001:db8::1, fe80::1%eth0, 12:34:56, std::string, ::ffff:10.0.0.5.
Block 192.168.0.0/16 and http://[2001:db8::2]/x and http://1.2.3.4/24/x.`
	got := ExtractObservables(text)
	want := []ObservableInput{
		{ObsIPv4, "10.0.0.5", 1},
		{ObsURL, "https://evil.example.com/gate.php?id=1", 1},
		{ObsURL, "https://intel.example.org/report", 1},
		{ObsEmail, "bob.smith@example.com", 3},
		{ObsDomain, "update-check.net", 4},
		{ObsDomain, "www.bad.ru", 4},
		{ObsMD5, testMD5, 5},
		{ObsSHA256, testSHA256, 5},
		{ObsIPv6, "2001:db8::1", 6},
		{ObsIPv6, "fe80::1", 6},
		{ObsIPv4, "192.168.0.0/16", 7},
		{ObsURL, "http://[2001:db8::2]/x", 7},
		{ObsURL, "http://1.2.3.4/24/x", 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExtractObservables(...) =\n%v\nwant\n%v", got, want)
	}
}

// TestExtractObservablesHashLabels: free text yields a digest only where a
// label names it, just before it on its line; a bare run of hex digits is
// as often an identifier (a request ID, a UUID without dashes).
func TestExtractObservablesHashLabels(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []ObservableType
	}{
		{"SHA256: " + testSHA256, []ObservableType{ObsSHA256}},
		{"sha256:" + testSHA256, []ObservableType{ObsSHA256}},
		{"md5=" + testMD5, []ObservableType{ObsMD5}},
		{`{"sha1": "` + testSHA1 + `"}`, []ObservableType{ObsSHA1}},
		{"Hash (SHA-256): " + testSHA256, []ObservableType{ObsSHA256}},
		{"file_hash " + testMD5 + " dropped", []ObservableType{ObsMD5}},
		{"md5sum: " + testMD5, []ObservableType{ObsMD5}},
		{"Hashes: " + testMD5 + ", " + testSHA1, []ObservableType{ObsMD5, ObsSHA1}},
		{"see https://sandbox.example.com/report?sha256=" + testSHA256, []ObservableType{ObsURL, ObsSHA256}},
		// Bare, or with something else before it.
		{testSHA256, nil},
		{"Dropped " + testSHA256 + " in /tmp", nil},
		{"request " + testMD5 + " failed", nil},
		{"id=" + testSHA1, nil},
		{"sourceRef: " + testMD5, nil},
		{"sha256 of the file is " + testSHA256, nil},
		{"SHA256:\n" + testSHA256, nil},
		{"hash: " + testMD5 + " and then " + testSHA1, []ObservableType{ObsMD5}},
		{"see https://www.virustotal.com/gui/file/" + testSHA256, []ObservableType{ObsURL}},
	} {
		var got []ObservableType
		for _, o := range ExtractObservables(tt.text) {
			got = append(got, o.Type)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExtractObservables(%q) types = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestFieldNames: which fields may hold digests, and which name things.
func TestFieldNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		hash ObservableType // "" for none
		id   bool
	}{
		{"syscheck.sha256_after", ObsSHA256, false},
		{"syscheck.md5_before", ObsMD5, false},
		{"file.hash.sha1", ObsSHA1, false},
		{"process.hash.sha512", ObsSHA512, false},
		{"threat.indicator.file.hash.md5", ObsMD5, false},
		{"data.virustotal.sha1", ObsSHA1, false},
		{"FileHash", ObsHash, false},
		{"pe.imphash", ObsHash, false},
		{"checksum", ObsHash, false},
		{"result.digest", ObsHash, false},
		{"hashes.0", ObsHash, false},
		{"tls.server.x509.fingerprint_sha256", ObsSHA256, false},
		{"sourceRef", "", true},
		{"sourceref", "", true},
		{"kibana.alert.uuid", "", true},
		{"kibana.alert.rule.uuid", "", true},
		{"kibana.alert.ancestors.0.id", "", true},
		{"alert.id", "", true},
		{"alertID", "", true},
		{"ruleUID", "", true},
		{"fingerprint", "", true},
		{"hash_id", "", true},
		{"sha256Ref", "", true},
		{"ruleuuid", "", true},
		{"description", "", false},
		{"message", "", false},
		{"url.href", "", false},
		{"paid", "", false},
		{"srcip", "", false},
	} {
		if got := IdentifierField(tt.name); got != tt.id {
			t.Errorf("IdentifierField(%q) = %v, want %v", tt.name, got, tt.id)
		}
		got, ok := HashField(tt.name)
		if got != tt.hash || ok != (tt.hash != "") {
			t.Errorf("HashField(%q) = %q, %v; want %q", tt.name, got, ok, tt.hash)
		}
	}
}

func TestExtractObservablesLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 2*maxExtracted; i++ {
		fmt.Fprintf(&b, "host%d.example.com ", i)
	}
	if got := ExtractObservables(b.String()); len(got) != maxExtracted {
		t.Errorf("ExtractObservables(%d domains) gave %d, want %d", 2*maxExtracted, len(got), maxExtracted)
	}
}

// TestExtractObservablesLarge checks that a megabyte of hostile or
// realistic text is handled in linear time.
// hostileInputs are texts built to make a careless extractor slow or
// unbounded, of about n bytes each.
func hostileInputs(n int) map[string]string {
	return map[string]string{
		"log":      strings.Repeat("2024-01-01T00:00:00Z sshd[123]: Failed password for root from 203.0.113.7 port 22 via evil.example.com "+testMD5+"\n", n/120),
		"dots":     strings.Repeat("a.", n/2),
		"colons":   strings.Repeat("a:", n/2),
		"hex":      strings.Repeat("0", n),
		"digits":   strings.Repeat("1.", n/2),
		"url":      "http://" + strings.Repeat(")", n),
		"brackets": strings.Repeat("[", n/2) + strings.Repeat("]", n/2),
		"defanged": strings.Repeat("[[.]]", n/5),
	}
}

// TestExtractObservablesHostile checks that hostile texts give bounded
// results. How fast it goes is BenchmarkExtractObservablesHostile's
// business, not a test's.
func TestExtractObservablesHostile(t *testing.T) {
	for name, text := range hostileInputs(64 << 10) {
		if got := ExtractObservables(text); len(got) > maxExtracted {
			t.Errorf("ExtractObservables(%s) gave %d results, want at most %d", name, len(got), maxExtracted)
		}
	}
}

// BenchmarkExtractObservablesHostile measures the hostile texts at 1 MiB.
func BenchmarkExtractObservablesHostile(b *testing.B) {
	for name, text := range hostileInputs(1 << 20) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				ExtractObservables(text)
			}
		})
	}
}

func BenchmarkExtractObservables(b *testing.B) {
	line := "Jan 1 00:00:00 fw1 kernel: DROP IN=eth0 SRC=203.0.113.7 DST=10.0.0.5 host=evil.example.com url=http://evil.example.com/a?b=c hash=" + testSHA256 + "\n"
	text := strings.Repeat(line, 1<<20/len(line))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		ExtractObservables(text)
	}
}

// checkNormalized fails unless (typ, val) is a successful normalisation's
// output: valid, stored type, and a fixed point of NormalizeObservable.
func checkNormalized(t *testing.T, typ ObservableType, val string) {
	t.Helper()
	if !utf8.ValidString(val) || len(val) > MaxObservableLen || val == "" {
		t.Fatalf("result %q, %q is empty, not UTF-8 or too long", typ, val)
	}
	if !inEnum(typ, ObservableTypes) {
		t.Fatalf("result type %q is not a stored type (value %q)", typ, val)
	}
	typ2, val2, err := NormalizeObservable(typ, val)
	if err != nil || typ2 != typ || val2 != val {
		t.Fatalf("NormalizeObservable(%q, %q) = %q, %q, %v, want it unchanged (not idempotent)", typ, val, typ2, val2, err)
	}
}

func FuzzNormalizeObservable(f *testing.F) {
	seeds := []struct {
		typ ObservableType
		v   string
	}{
		{ObsIPv4, "10.1.2.3/24"}, {ObsIPv4, "::ffff:1.2.3.4"}, {ObsIPv6, "2001:DB8::1/64"},
		{ObsIPv6, "::ffff:10.0.0.0/104"}, {ObsIPv6, "fe80::1%eth0"}, {ObsDomain, "Bücher.DE."},
		{ObsDomain, "_dmarc.example[.]com"}, {ObsDomain, "xn--ls8h.la"}, {ObsHostname, "WEB01"},
		{ObsURL, "hxxps://evil[.]com:443/a%7e%2f b?q=[.]#x"}, {ObsURL, "example.com"},
		{ObsURL, "http://[::ffff:1.2.3.4]:8080"}, {ObsURL, "file:/etc/passwd"},
		{ObsURL, "http://u%40:p@x.com/%zz"}, {ObsURL, "javascript:alert(1)"},
		{ObsEmail, "Bob <BOB@Example.com>"}, {ObsEmail, `"a b"@x.com`}, {ObsEmail, "İ@x.com"},
		{ObsHash, "SHA256:" + testSHA256}, {ObsMD5, testMD5}, {ObsSHA1, testSHA1},
		{ObsSHA512, testSHA512}, {ObsMAC, "a:b:c:d:e:f"}, {ObsMAC, "aabb.ccdd.eeff"},
		{ObsUser, `CORP\alice`}, {ObsASN, "as0064500"}, {ObsFileName, "invoice.pdf .exe"},
		{ObsRegistry, `hklm:\Software`}, {ObsOtherText, "\x00text\n"}, {"", "hxxp[:]//x[.]y"},
		{"", "[[.]]"}, {"", "aa-bb-cc-dd-ee-ff"}, {"hash", "abc"}, {"", "www.example.com/a"},
	}
	for _, s := range seeds {
		f.Add(string(s.typ), s.v)
	}
	f.Fuzz(func(t *testing.T, typ, value string) {
		gotType, got, err := NormalizeObservable(ObservableType(typ), value)
		if err != nil {
			if ErrorCode(err) != EINVALID || ErrorMessage(err) == "" {
				t.Fatalf("NormalizeObservable(%q, %q) error %v is not EINVALID with a message", typ, value, err)
			}
			return
		}
		checkNormalized(t, gotType, got)
	})
}

func FuzzParseObservableLines(f *testing.F) {
	f.Add("10.0.0.1\nip:2001:db8::1\n# comment\nurl:hxxp://x[.]com\nmd5," + testMD5)
	f.Add("file:///etc/passwd\nfile:evil.exe\n\n\nbad line")
	f.Fuzz(func(t *testing.T, text string) {
		got, errs := ParseObservableLines(text)
		if len(got) > MaxObservablesPerRequest {
			t.Fatalf("ParseObservableLines gave %d values", len(got))
		}
		for _, o := range got {
			checkNormalized(t, o.Type, o.Value)
		}
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "lines[") || e.Message == "" {
				t.Fatalf("ParseObservableLines error %+v", e)
			}
		}
	})
}

func FuzzExtractObservables(f *testing.F) {
	f.Add("beacon to 10.0.0.1 and hxxp://evil[.]com/x, mail bob@example.com, hash " + testMD5)
	f.Add("2001:db8::1 fe80::1%eth0 see (http://a.example.com/b) svchost.exe")
	f.Add("api-7:9100 FE80::A:b x_.Co 1.2 a@b.c HTTP://X 9.9.9.9/33 ::ffff:1.2.3.4")
	f.Add("see aſ.com now, \u212a.\u212a\u212a and ſ.aſ") // (?i)[a-z] matches ſ and the Kelvin sign
	f.Add("SHA256: " + testSHA256 + "\nHashes: " + testMD5 + ", " + testSHA1 + " id=" + testMD5 + " Hash (SHA-256):" + testSHA256)
	f.Fuzz(func(t *testing.T, text string) {
		// The quick scan that skips finders never skips a match.
		if fast, all := findCandidatesWith(text, mayHold(text)), findCandidatesWith(text, allFinders); !reflect.DeepEqual(fast, all) {
			t.Fatalf("with the scan: %v\nwithout: %v", fast, all)
		}
		got := ExtractObservables(text)
		if len(got) > maxExtracted {
			t.Fatalf("ExtractObservables gave %d values", len(got))
		}
		for _, o := range got {
			checkNormalized(t, o.Type, o.Value)
		}
	})
}

// TestDefang: a defanged value is no link, and normalising it gives the
// value back.
func TestDefang(t *testing.T) {
	for _, tt := range []struct {
		typ      ObservableType
		in, want string
	}{
		{ObsURL, "https://evil.example/login.php?next=a.b", "hxxps://evil[.]example/login.php?next=a.b"},
		{ObsURL, "http://evil.example/", "hxxp://evil[.]example/"},
		{ObsURL, "ftp://files.evil.example/x", "ftp://files[.]evil[.]example/x"},
		{ObsDomain, "evil.example", "evil[.]example"},
		{ObsHostname, "mail.corp.example", "mail[.]corp[.]example"},
		{ObsIPv4, "192.0.2.1", "192[.]0[.]2[.]1"},
		{ObsEmail, "bob@evil.example", "bob[@]evil[.]example"},
		{ObsSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{ObsIPv6, "2001:db8::1", "2001:db8::1"},
	} {
		got := Defang(tt.typ, tt.in)
		if got != tt.want {
			t.Errorf("Defang(%s, %q) = %q, want %q", tt.typ, tt.in, got, tt.want)
		}
		if tt.typ == ObsURL && strings.HasPrefix(tt.in, "ftp") {
			continue // refang knows hxxp only; ftp hosts are still defanged
		}
		if _, back, err := NormalizeObservable(tt.typ, got); err != nil || back != tt.in {
			t.Errorf("NormalizeObservable(%s, %q) = %q, %v; want %q", tt.typ, got, back, err, tt.in)
		}
	}
}
