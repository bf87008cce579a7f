package vigil

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxObservableLen bounds an observable's value, in bytes, both as given and
// once normalised (IDNA and hive expansion can make a value longer).
const MaxObservableLen = 4096

// maxExtracted bounds the results of ExtractObservables.
const maxExtracted = 1000

// NormalizeObservable checks value as an observable of type t and returns its
// canonical type and value, so that the same thing written two ways is
// stored once and matched across incidents. An empty t means "detect" (see
// DetectObservableType); ObsHash is typed by its length; an IPv4-mapped IPv6
// address becomes ipv4-addr. Defanged network values (hxxp, [.], [at]) are
// refanged first. Errors are EINVALID with a message for the user.
func NormalizeObservable(t ObservableType, value string) (ObservableType, string, error) {
	if t != "" && t != ObsHash && !inEnum(t, ObservableTypes) {
		return "", "", Errorf(EINVALID, "Unknown observable type %q.", truncateForMessage(string(t), 64))
	}
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return "", "", Errorf(EINVALID, "The value is empty.")
	case !utf8.ValidString(v):
		return "", "", Errorf(EINVALID, "The value is not valid UTF-8 text.")
	case len(v) > MaxObservableLen:
		return "", "", Errorf(EINVALID, "The value must be at most %d bytes.", MaxObservableLen)
	case t != ObsOtherText && hasControlChar(v):
		return "", "", Errorf(EINVALID, "The value must not contain control characters such as tabs or line breaks.")
	}
	if t == "" {
		dt, ok := detectType(refang(v))
		if !ok {
			return "", "", Errorf(EINVALID, "Could not tell what kind of observable this is; choose a type.")
		}
		t = dt
	}
	typ, out, err := normalizeTyped(t, v)
	if err != nil {
		return "", "", err
	}
	if len(out) > MaxObservableLen {
		return "", "", Errorf(EINVALID, "The value must be at most %d bytes once normalised.", MaxObservableLen)
	}
	return typ, out, nil
}

// NormalizeEmail checks an e-mail address, which may be given as
// "Name <addr>", and returns it lower-cased with an ASCII (IDNA) domain.
// It applies exactly the rules of the email-addr observable type.
func NormalizeEmail(s string) (string, error) {
	_, v, err := NormalizeObservable(ObsEmail, s)
	return v, err
}

// normalizeTyped dispatches on a known type; v is trimmed, valid UTF-8 and
// free of control characters (except for ObsOtherText).
func normalizeTyped(t ObservableType, v string) (ObservableType, string, error) {
	var out string
	var err error
	switch t {
	case ObsIPv4, ObsIPv6:
		return normalizeIP(t, refang(v))
	case ObsDomain:
		out, err = normalizeDomain(refang(v), false)
	case ObsHostname:
		out, err = normalizeDomain(refang(v), true)
	case ObsURL:
		out, err = normalizeURL(refang(v))
	case ObsEmail:
		out, err = normalizeEmail(refang(v))
	case ObsMD5, ObsSHA1, ObsSHA256, ObsSHA512, ObsHash:
		return normalizeHash(t, v)
	case ObsMAC:
		out, err = normalizeMAC(v)
	case ObsUser:
		out, err = normalizeUser(v)
	case ObsASN:
		out, err = normalizeASN(v)
	case ObsFileName:
		out, err = normalizeFileName(v)
	case ObsRegistry:
		out, err = normalizeRegistry(v)
	case ObsOtherText:
		out = v
	default:
		err = Errorf(EINVALID, "Unknown observable type %q.", truncateForMessage(string(t), 64))
	}
	if err != nil {
		return "", "", err
	}
	return t, out, nil
}

// --- defanging and refanging ---

// Defang writes a normalised value so that no reader, mail client or PDF
// viewer turns it into a live link or address: hxxps://evil[.]example/x,
// evil[.]example, 192.0.2[.]1 as 192[.]0[.]2[.]1, bob[@]evil[.]example.
// NormalizeObservable takes each back to the value (refang). Other types
// (hashes, accounts, IPv6, which no viewer links) are returned as given.
func Defang(t ObservableType, v string) string {
	dots := func(s string) string { return strings.ReplaceAll(s, ".", "[.]") }
	switch t {
	case ObsDomain, ObsHostname, ObsIPv4:
		return dots(v)
	case ObsEmail:
		local, domain, ok := strings.Cut(v, "@")
		if !ok {
			return dots(v)
		}
		return local + "[@]" + dots(domain)
	case ObsURL:
		scheme, rest, ok := strings.Cut(v, "://")
		if !ok {
			return dots(v)
		}
		host, path, _ := strings.Cut(rest, "/")
		out := strings.Replace(scheme, "http", "hxxp", 1) + "://" + dots(host)
		if len(rest) > len(host) {
			out += "/" + path
		}
		return out
	}
	return v
}

// refangTokens are the defanging tokens analysts and feeds use to stop a
// value from being clickable, with what they stand for.
var refangTokens = []struct{ from, to string }{
	{"[.]", "."}, {"(.)", "."}, {"{.}", "."},
	{"[dot]", "."}, {"(dot)", "."}, {"{dot}", "."},
	{"[@]", "@"}, {"[at]", "@"}, {"(at)", "@"}, {"{at}", "@"},
	{"[:]", ":"},
}

// refang undoes defanging in one left-to-right pass. Each byte is appended
// to the output and the output's tail is then reduced: a closing bracket may
// complete a token ("[.]" -> "."), and a colon may complete "hxxp:" or
// "hxxps:" at the start of a word. Reducing the tail, rather than the input,
// means tokens that only appear after another is replaced ("[[.]]") are
// replaced too, so refang(refang(s)) == refang(s), which normalisation's
// idempotence needs, in linear time.
func refang(s string) string {
	if !strings.ContainsAny(s, "])}:") { // every rewrite ends with one of these
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i])
		switch s[i] {
		case ']', ')', '}':
			for _, tok := range refangTokens {
				if hasSuffixFoldASCII(b, tok.from) {
					b = append(b[:len(b)-len(tok.from)], tok.to...)
					break
				}
			}
		}
		if b[len(b)-1] == ':' {
			b = refangScheme(b)
		}
	}
	return string(b)
}

// refangScheme turns a trailing "hxxp:" or "hxxps:" into "http:" or
// "https:" when it starts a word, so that words merely ending in it are
// left alone.
func refangScheme(b []byte) []byte {
	for _, scheme := range []string{"hxxp:", "hxxps:"} {
		n := len(b) - len(scheme)
		if hasSuffixFoldASCII(b, scheme) && (n == 0 || !isASCIIAlnum(b[n-1])) {
			copy(b[n:], strings.Replace(scheme, "xx", "tt", 1))
		}
	}
	return b
}

// --- IP addresses ---

// normalizeIP parses an address or CIDR block. A block is masked to its
// network and a full-length block is the bare address, so 10.1.2.3/24 and
// 10.1.2.0/24 are one observable. An IPv4-mapped IPv6 value is stored as
// IPv4: it is the same host.
func normalizeIP(t ObservableType, v string) (ObservableType, string, error) {
	if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
		v = v[1 : len(v)-1]
	}
	var p netip.Prefix
	if strings.Contains(v, "/") {
		pp, err := netip.ParsePrefix(v)
		if err != nil {
			return "", "", ipError(t)
		}
		p = pp.Masked()
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return "", "", ipError(t)
		}
		if a.Zone() != "" {
			return "", "", Errorf(EINVALID, "An IPv6 address must not have a zone (the part after %%).")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	given6 := p.Addr().Is6()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	got := ObsIPv4
	if p.Addr().Is6() {
		got = ObsIPv6
	}
	switch {
	case t == ObsIPv4 && got == ObsIPv6:
		return "", "", Errorf(EINVALID, "This is an IPv6 address; use type ipv6-addr.")
	case t == ObsIPv6 && !given6:
		return "", "", Errorf(EINVALID, "This is an IPv4 address; use type ipv4-addr.")
	}
	if p.Bits() == p.Addr().BitLen() {
		return got, p.Addr().String(), nil
	}
	return got, p.String(), nil
}

func ipError(t ObservableType) error {
	if t == ObsIPv4 {
		return Errorf(EINVALID, "Not a valid IPv4 address or CIDR block, such as 192.0.2.1 or 192.0.2.0/24 (numbers 0 to 255, without leading zeros).")
	}
	return Errorf(EINVALID, "Not a valid IPv6 address or CIDR block, such as 2001:db8::1 or 2001:db8::/32.")
}

// isIPLike reports whether v parses as an address or CIDR block, and which.
func isIPLike(v string) (ObservableType, bool) {
	a, err := netip.ParseAddr(v)
	if err != nil {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "", false
		}
		a = p.Addr()
	}
	if a.Is4() || a.Is4In6() {
		return ObsIPv4, true
	}
	return ObsIPv6, true
}

// --- domain names and host names ---

// idnaProfile is the Lookup profile with two rules relaxed so that real
// indicators are not refused: underscores (SRV and DMARC names such as
// _dmarc.example.com, and Windows host names) and hyphens at label edges
// (registrars refuse them, but subdomains with them exist in the wild).
// normalizeDomain checks the characters itself.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(false), idna.CheckHyphens(false))

// normalizeDomain returns v as lower-case ASCII (A-labels) without a
// trailing dot. A host name (single) may be a single label.
func normalizeDomain(v string, single bool) (string, error) {
	if !utf8.ValidString(v) { // possible in a URL's host after unescaping
		return "", Errorf(EINVALID, "Not a valid domain name: it is not valid UTF-8 text.")
	}
	if err := notAnIP(v); err != nil {
		return "", err
	}
	a, err := idnaProfile.ToASCII(v)
	if err != nil {
		return "", Errorf(EINVALID, "Not a valid domain name: it has characters or labels that domain names cannot have.")
	}
	a = strings.ToLower(strings.TrimSuffix(a, "."))
	if err := notAnIP(a); err != nil {
		return "", err
	}
	if a == "" {
		return "", Errorf(EINVALID, "The domain name is empty.")
	}
	if len(a) > 253 {
		return "", Errorf(EINVALID, "A domain name must be at most 253 characters.")
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 && !single {
		return "", Errorf(EINVALID, "A domain name needs at least two labels, such as example.com; use type hostname for a single name.")
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "", Errorf(EINVALID, "A domain name must not have empty labels (two dots in a row, or a leading dot).")
		case len(l) > 63:
			return "", Errorf(EINVALID, "Each label of a domain name must be at most 63 characters.")
		case !isDomainLabel(l):
			return "", Errorf(EINVALID, "Domain name labels may contain only letters, digits, hyphens and underscores, and need a letter or digit.")
		}
	}
	if len(labels) > 1 {
		tld := labels[len(labels)-1]
		switch {
		case isDigitString(tld):
			return "", Errorf(EINVALID, "The last label of a domain name must not be all digits.")
		case strings.Contains(tld, "_") || tld[0] == '-' || tld[len(tld)-1] == '-':
			return "", Errorf(EINVALID, "The last label of a domain name may contain only letters, digits and inner hyphens.")
		}
	}
	return a, nil
}

func notAnIP(v string) error {
	if t, ok := isIPLike(v); ok {
		return Errorf(EINVALID, "This is an IP address, not a name; use type %s.", t)
	}
	return nil
}

// isDomainLabel reports letters, digits, hyphens and underscores, with at
// least one letter or digit.
func isDomainLabel(l string) bool {
	alnum := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isASCIIAlnum(c):
			alnum = true
		case c != '-' && c != '_':
			return false
		}
	}
	return alnum
}

// --- URLs ---

// urlSchemes are the schemes an indicator URL may have. Others, such as
// javascript: and data:, carry code or content rather than name a place.
var urlSchemes = map[string]bool{
	"http": true, "https": true, "ftp": true, "ftps": true, "sftp": true, "ws": true, "wss": true,
	"smb": true, "file": true, "ldap": true, "ldaps": true, "ssh": true, "tcp": true, "udp": true,
}

// urlSchemeList names urlSchemes in messages.
const urlSchemeList = "http, https, ftp, ftps, sftp, ws, wss, smb, file, ldap, ldaps, ssh, tcp, udp"

var defaultPorts = map[string]int{"http": 80, "ws": 80, "https": 443, "wss": 443, "ftp": 21}

// normalizeURL returns scheme://[userinfo@]host[:port]path[?query], with
// the scheme and host lower-cased, the host in IDNA or canonical IP form,
// default ports dropped, percent-encoding in the path normalised and the
// fragment (never sent to a server) removed. The query is kept as given:
// reordering or re-encoding it could change what the server sees.
func normalizeURL(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "//"):
		v = "http:" + v
	case !hasScheme(v):
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", Errorf(EINVALID, "Not a valid URL.")
	}
	if !urlSchemes[u.Scheme] {
		return "", Errorf(EINVALID, "URL scheme %q is not allowed; use one of %s.", truncateForMessage(u.Scheme, 32), urlSchemeList)
	}
	if u.Opaque != "" {
		return "", Errorf(EINVALID, "Not a valid URL: the scheme must be followed by //, as in http://example.com/.")
	}
	if u.Host == "" && u.Scheme != "file" {
		return "", Errorf(EINVALID, "A URL must have a host, as in http://example.com/.")
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	if u.Host != "" {
		host, err := normalizeURLHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
		if err != nil {
			return "", err
		}
		b.WriteString(host)
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return "", Errorf(EINVALID, "A URL's port must be a number from 1 to 65535.")
			}
			if n != defaultPorts[u.Scheme] {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(n))
			}
		}
	}
	// RawPath is the path as given when Go would escape it differently;
	// otherwise the path as given is EscapedPath. Working from that rather
	// than from EscapedPath alone keeps "%2F" apart from "/".
	path := u.RawPath
	if path == "" {
		path = u.EscapedPath()
	}
	path = normalizePathEscapes(path)
	if path == "" && (u.Scheme == "http" || u.Scheme == "https") {
		path = "/"
	}
	b.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(u.RawQuery)
	}
	return b.String(), nil
}

// hasScheme reports whether v starts with "scheme:". A colon followed by a
// digit is a port ("example.com:8080/x"), not a scheme.
func hasScheme(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i+1 == len(v) || !('0' <= v[i+1] && v[i+1] <= '9')
		default:
			return false
		}
	}
	return false
}

// normalizeURLHost returns a URL's host name (without port) in canonical
// form: a bracketed RFC 5952 IPv6 address, a dotted IPv4 address, or a
// lower-case ASCII name (which may be a single label, as in http://intranet/).
func normalizeURLHost(h string, bracketed bool) (string, error) {
	if bracketed {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", Errorf(EINVALID, "The URL's host is not a valid IPv6 address.")
		}
		return "[" + a.String() + "]", nil
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		return a.String(), nil
	}
	d, err := normalizeDomain(h, true)
	if err != nil {
		return "", Errorf(EINVALID, "The URL's host is not valid. %s", ErrorMessage(err))
	}
	return d, nil
}

// normalizePathEscapes puts a URL path in one canonical escaping: escapes
// of unreserved characters are decoded, other escapes use upper-case hex, and
// bytes that may not appear bare in a path are escaped. (RFC 3986 §6.2.2.)
func normalizePathEscapes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && isHexDigit(p[i+1]) && isHexDigit(p[i+2]):
			d := unhexDigit(p[i+1])<<4 | unhexDigit(p[i+2])
			if isUnreserved(d) {
				b.WriteByte(d)
			} else {
				writeEscape(&b, d)
			}
			i += 2
		case isUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@/[]", c) >= 0:
			b.WriteByte(c)
		default:
			writeEscape(&b, c)
		}
	}
	return b.String()
}

func writeEscape(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

func isUnreserved(c byte) bool {
	return isASCIIAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// --- e-mail addresses ---

// normalizeEmail parses an address with net/mail (so "Name <addr>" works)
// and returns it lower-cased. Mailbox names are case-sensitive in theory
// but not in practice, and one spelling per address is what matching needs.
func normalizeEmail(v string) (string, error) {
	a, err := mail.ParseAddress(v)
	if err != nil {
		return "", Errorf(EINVALID, "Not a valid e-mail address.")
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 {
		return "", Errorf(EINVALID, "Not a valid e-mail address.")
	}
	local := strings.ToLower(a.Address[:at])
	switch {
	case local == "":
		return "", Errorf(EINVALID, "An e-mail address needs a name before the @.")
	case len(local) > 64:
		return "", Errorf(EINVALID, "The part of an e-mail address before the @ must be at most 64 characters.")
	case !isDotAtom(local):
		// net/mail unquotes "john doe"@x; the result would not parse again.
		return "", Errorf(EINVALID, "E-mail addresses with quoted or unusual characters before the @ are not supported.")
	}
	domain, err := normalizeDomain(a.Address[at+1:], false)
	if err != nil {
		return "", Errorf(EINVALID, "The e-mail address's domain is not valid. %s", ErrorMessage(err))
	}
	out := local + "@" + domain
	if len(out) > 254 {
		return "", Errorf(EINVALID, "An e-mail address must be at most 254 characters.")
	}
	return out, nil
}

// isDotAtom reports whether s is an RFC 5322 dot-atom (with RFC 6532's
// UTF-8 letters): atoms of atext separated by single dots.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if !isASCIIAlnum(byte(r)) && !strings.ContainsRune(".!#$%&'*+/=?^_`{|}~-", r) {
				return false
			}
		case !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r):
			return false
		}
	}
	return true
}

// --- hashes ---

var hashLens = map[ObservableType]int{ObsMD5: 32, ObsSHA1: 40, ObsSHA256: 64, ObsSHA512: 128}

var hashNames = map[ObservableType]string{ObsMD5: "MD5", ObsSHA1: "SHA-1", ObsSHA256: "SHA-256", ObsSHA512: "SHA-512"}

// hashLabels are the "algorithm:" prefixes tools put before a hash.
var hashLabels = map[string]ObservableType{
	"md5": ObsMD5, "sha1": ObsSHA1, "sha-1": ObsSHA1, "sha256": ObsSHA256, "sha-256": ObsSHA256,
	"sha512": ObsSHA512, "sha-512": ObsSHA512,
}

// hashByLen is hashLens inverted: a hex digest's type by its length.
var hashByLen = func() map[int]ObservableType {
	m := make(map[int]ObservableType, len(hashLens))
	for t, n := range hashLens {
		m[n] = t
	}
	return m
}()

func hashTypeForLen(n int) (ObservableType, bool) {
	t, ok := hashByLen[n]
	return t, ok
}

// normalizeHash checks a hex digest for type t (or types it by length for
// ObsHash), stripping a "sha256:"-style label, and lower-cases it.
func normalizeHash(t ObservableType, v string) (ObservableType, string, error) {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		if lt, ok := hashLabels[strings.ToLower(strings.TrimSpace(v[:i]))]; ok {
			if t != ObsHash && t != lt {
				return "", "", Errorf(EINVALID, "The value is labelled %s but the type is %s.", hashNames[lt], t)
			}
			t, v = lt, strings.TrimSpace(v[i+1:])
		}
	}
	if v == "" || !isHexString(v) {
		return "", "", Errorf(EINVALID, "A hash must contain only hex digits (0-9 and a-f).")
	}
	byLen, known := hashTypeForLen(len(v))
	switch {
	case t == ObsHash && !known:
		return "", "", Errorf(EINVALID, "A hash must be 32 (MD5), 40 (SHA-1), 64 (SHA-256) or 128 (SHA-512) hex digits long, not %d.", len(v))
	case t == ObsHash:
		t = byLen
	case len(v) != hashLens[t] && known:
		return "", "", Errorf(EINVALID, "%s hashes are %d hex digits long; %d digits suggests %s.", hashNames[t], hashLens[t], len(v), hashNames[byLen])
	case len(v) != hashLens[t]:
		return "", "", Errorf(EINVALID, "%s hashes are %d hex digits long, not %d.", hashNames[t], hashLens[t], len(v))
	}
	return t, strings.ToLower(v), nil
}

// --- what a field's name says it holds ---

// fieldWord returns the last word of a dotted field name, lower-cased: the
// last part that is not an array index ("kibana.alert.uuid" → "uuid",
// "ids.0" → "ids"), then its last word, words being split at "_", "-" and
// a lower-case letter or digit followed by an upper-case letter
// ("sourceRef" → "ref", "alert_ID" → "id"). part is that last part, lower-cased.
func fieldWord(name string) (part, word string) {
	for name != "" {
		i := strings.LastIndexByte(name, '.')
		part = name[i+1:]
		if i < 0 || !isDigitString(part) {
			break
		}
		name = name[:i]
	}
	w := 0
	for i := 1; i < len(part); i++ {
		switch c := part[i]; {
		case c == '_' || c == '-':
			w = i + 1
		case 'A' <= c && c <= 'Z' && ('a' <= part[i-1] && part[i-1] <= 'z' || isASCIIDigit(part[i-1])):
			w = i
		}
	}
	return strings.ToLower(part), strings.ToLower(part[min(w, len(part)):])
}

// IdentifierField reports whether a field's name says it names something
// rather than describes it: its last word is id, uuid, guid, uid, ref,
// reference or fingerprint ("alert.id", "kibana.alert.uuid", "sourceRef",
// "rule_uuid"). Such a field's value is a label of the alert, however much
// it looks like a digest (TheHive's sourceRef is often 32 hex digits,
// Kibana's alert uuid 64): it yields no observables, and no hashes above all.
func IdentifierField(name string) bool {
	part, word := fieldWord(name)
	switch word {
	case "id", "ids", "uuid", "uuids", "guid", "uid", "ref", "refs", "reference", "sourceref", "fingerprint", "fingerprints":
		return true
	}
	return strings.HasSuffix(part, "uuid") || strings.HasSuffix(part, "guid") || strings.HasSuffix(part, "fingerprint")
}

// HashField reports whether a field's name says it may hold a digest, and
// of which type (ObsHash: typed by its length): its last part names an
// algorithm (md5, sha1, sha256, sha512, as in Wazuh's syscheck.sha256_after
// or Elastic's file.hash.sha256) or contains hash, checksum or digest. An
// identifier field (IdentifierField) never does. Hashes come only from
// such fields, from a format's own typed values (TheHive's hash
// observables), and from text where a label stands before them (see
// ExtractObservables); a run of hex digits elsewhere is an identifier as
// often as a digest.
func HashField(name string) (ObservableType, bool) {
	if IdentifierField(name) {
		return "", false
	}
	part, _ := fieldWord(name)
	switch {
	case strings.Contains(part, "sha512"):
		return ObsSHA512, true
	case strings.Contains(part, "sha256"):
		return ObsSHA256, true
	case strings.Contains(part, "sha1"):
		return ObsSHA1, true
	case strings.Contains(part, "md5"):
		return ObsMD5, true
	case strings.Contains(part, "hash"), strings.Contains(part, "checksum"), strings.Contains(part, "digest"):
		return ObsHash, true
	}
	return "", false
}

// --- MAC addresses ---

// normalizeMAC accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff (a group may
// drop its leading zero, as macOS prints them), aabb.ccdd.eeff (Cisco) and
// aabbccddeeff, 48-bit or EUI-64, and returns the lower-case colon form
// STIX uses.
func normalizeMAC(v string) (string, error) {
	bad := Errorf(EINVALID, "Not a valid MAC address, such as 00:1a:2b:3c:4d:5e.")
	var hex string
	switch {
	case strings.ContainsAny(v, ":-"):
		sep := ":"
		if strings.Contains(v, "-") {
			sep = "-"
		}
		parts := strings.Split(v, sep)
		if len(parts) != 6 && len(parts) != 8 {
			return "", bad
		}
		for _, p := range parts {
			if len(p) < 1 || len(p) > 2 || !isHexString(p) {
				return "", bad
			}
			hex += strings.Repeat("0", 2-len(p)) + p
		}
	case strings.Contains(v, "."):
		parts := strings.Split(v, ".")
		if len(parts) != 3 && len(parts) != 4 {
			return "", bad
		}
		for _, p := range parts {
			if len(p) != 4 || !isHexString(p) {
				return "", bad
			}
		}
		hex = strings.Join(parts, "")
	default:
		if (len(v) != 12 && len(v) != 16) || !isHexString(v) {
			return "", bad
		}
		hex = v
	}
	hex = strings.ToLower(hex)
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	return b.String(), nil
}

// --- the rest ---

func normalizeUser(v string) (string, error) {
	if utf8.RuneCountInString(v) > 256 {
		return "", Errorf(EINVALID, "A user account name must be at most 256 characters.")
	}
	return v, nil
}

// normalizeASN accepts AS64500, as64500 and 64500.
func normalizeASN(v string) (string, error) {
	s := v
	if len(s) >= 2 && (s[0]|0x20) == 'a' && (s[1]|0x20) == 's' {
		s = strings.TrimSpace(s[2:])
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return "", Errorf(EINVALID, "An autonomous system number must be AS followed by a number from 1 to 4294967295, such as AS64500.")
	}
	return "AS" + strconv.FormatUint(n, 10), nil
}

// normalizeFileName accepts a bare file name. Windows names may contain
// spaces, so only path separators are refused: a path is not a name.
func normalizeFileName(v string) (string, error) {
	switch {
	case len(v) > 255:
		return "", Errorf(EINVALID, "A file name must be at most 255 bytes.")
	case strings.ContainsAny(v, `/\`):
		return "", Errorf(EINVALID, `A file name must not contain / or \; give the name without its folder.`)
	case v == "." || v == "..":
		return "", Errorf(EINVALID, "Not a file name.")
	}
	return v, nil
}

// registryHives maps the upper-cased hive names and their abbreviations to
// the full names, so that HKLM\Run and HKEY_LOCAL_MACHINE\Run match.
var registryHives = map[string]string{
	"HKLM": "HKEY_LOCAL_MACHINE", "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE",
	"HKCU": "HKEY_CURRENT_USER", "HKEY_CURRENT_USER": "HKEY_CURRENT_USER",
	"HKCR": "HKEY_CLASSES_ROOT", "HKEY_CLASSES_ROOT": "HKEY_CLASSES_ROOT",
	"HKU": "HKEY_USERS", "HKEY_USERS": "HKEY_USERS",
	"HKCC": "HKEY_CURRENT_CONFIG", "HKEY_CURRENT_CONFIG": "HKEY_CURRENT_CONFIG",
}

// normalizeRegistry expands and upper-cases the hive; the rest of the key
// is kept as given. A PowerShell drive ("HKLM:\...") is accepted.
func normalizeRegistry(v string) (string, error) {
	hive, rest := v, ""
	if i := strings.IndexByte(v, '\\'); i >= 0 {
		hive, rest = v[:i], v[i:]
	}
	full, ok := registryHives[strings.ToUpper(strings.TrimSuffix(hive, ":"))]
	if !ok {
		return "", Errorf(EINVALID, `A registry key must start with a hive, such as HKEY_LOCAL_MACHINE\ or HKLM\.`)
	}
	return full + rest, nil
}

// --- detection ---

// DetectObservableType guesses the type of a bare value, after refanging:
// an IPv4 or IPv6 address or block, a URL ("scheme://", or a domain or IPv4
// address followed by a path), an e-mail address, a hash (by length), a MAC
// address, an AS number ("AS" and digits), a registry key or a domain name
// (whose last label is letters and not a common file extension such as
// exe or pdf), in that order. It reports false when nothing fits; it never
// guesses host names, user accounts or file names, which look like
// anything.
func DetectObservableType(value string) (ObservableType, bool) {
	v := strings.TrimSpace(value)
	if v == "" || len(v) > MaxObservableLen || !utf8.ValidString(v) || hasControlChar(v) {
		return "", false
	}
	return detectType(refang(v))
}

var asnRE = regexp.MustCompile(`^[Aa][Ss][0-9]+$`)

// detectType is DetectObservableType on a trimmed, checked, refanged value.
func detectType(v string) (ObservableType, bool) {
	ip := v
	if len(ip) > 2 && ip[0] == '[' && ip[len(ip)-1] == ']' {
		ip = ip[1 : len(ip)-1]
	}
	if t, ok := isIPLike(ip); ok {
		return t, true
	}
	if looksLikeURL(v) {
		return ObsURL, true
	}
	if strings.Contains(v, "@") {
		if _, err := normalizeEmail(v); err == nil {
			return ObsEmail, true
		}
	}
	if t, _, err := normalizeHash(ObsHash, v); err == nil {
		return t, true
	}
	if strings.ContainsAny(v, ":-.") {
		if _, err := normalizeMAC(v); err == nil {
			return ObsMAC, true
		}
	}
	if asnRE.MatchString(v) {
		if _, err := normalizeASN(v); err == nil {
			return ObsASN, true
		}
	}
	if _, err := normalizeRegistry(v); err == nil {
		return ObsRegistry, true
	}
	if looksLikeDomain(v) {
		return ObsDomain, true
	}
	return "", false
}

// looksLikeURL reports a value with "scheme://", or a likely domain (such
// as www.example.com) or IPv4 address followed by a path.
func looksLikeURL(v string) bool {
	if i := strings.Index(v, "://"); i > 0 && hasScheme(v[:i+1]) {
		return true
	}
	i := strings.IndexByte(v, '/')
	if i <= 0 {
		return false
	}
	host := v[:i]
	if j := strings.LastIndexByte(host, ':'); j > 0 && isDigitString(host[j+1:]) {
		host = host[:j]
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return true
	}
	return looksLikeDomain(host)
}

// looksLikeDomain reports a valid domain name whose last label is letters
// (or an IDNA A-label) and not a common file extension: report.pdf is far
// more likely a file than a host.
func looksLikeDomain(v string) bool {
	d, err := normalizeDomain(v, false)
	if err != nil {
		return false
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if strings.HasPrefix(tld, "xn--") {
		return true
	}
	return len(tld) >= 2 && isLetterString(tld) && !fileExtensions[tld]
}

// --- bulk input ---

// ObservableInput is one observable found in pasted or free text. Line is
// the 1-based line it came from.
type ObservableInput struct {
	Type  ObservableType `json:"type"`
	Value string         `json:"value"`
	Line  int            `json:"line"`
}

// obsAnyIP is the "ip" line prefix: IPv4 or IPv6, whichever it is.
const obsAnyIP ObservableType = "ip"

// lineTypeNames maps the type prefixes ParseObservableLines accepts, in
// lower case, to types.
var lineTypeNames = func() map[string]ObservableType {
	m := map[string]ObservableType{
		"ip": obsAnyIP, "ipv4": ObsIPv4, "ipv6": ObsIPv6,
		"domain": ObsDomain, "fqdn": ObsDomain, "host": ObsHostname,
		"email": ObsEmail, "mail": ObsEmail, "e-mail": ObsEmail,
		"mac": ObsMAC, "user": ObsUser, "account": ObsUser, "username": ObsUser,
		"asn": ObsASN, "filename": ObsFileName, "file": ObsFileName,
		"uri": ObsURL, "regkey": ObsRegistry, "registry": ObsRegistry,
	}
	for _, t := range ObservableTypes {
		m[string(t)] = t
	}
	m[string(ObsHash)] = ObsHash
	return m
}()

// ParseObservableLines reads observables pasted one per line. A line may
// start with a type name or alias and ":", a tab or ",", as in
// "domain:example.com" or "ip,192.0.2.1"; otherwise its type is detected.
// Blank lines and lines starting with # are skipped. Each value is
// normalised; repeats of a value are dropped. Problems are reported per line
// with Field "lines[N]". At most MaxObservablesPerRequest values are read.
func ParseObservableLines(text string) ([]ObservableInput, []FieldError) {
	var out []ObservableInput
	var errs []FieldError
	seen := map[string]bool{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		field := fmt.Sprintf("lines[%d]", n+1)
		if len(out)+len(errs) >= MaxObservablesPerRequest {
			errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf("At most %d observables may be added at once.", MaxObservablesPerRequest)})
			break
		}
		t, v := splitTypePrefix(line)
		typ, val, err := normalizeLine(t, v)
		if err != nil {
			errs = append(errs, FieldError{Field: field, Message: ErrorMessage(err)})
			continue
		}
		key := string(typ) + "\x00" + val
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, ObservableInput{Type: typ, Value: val, Line: n + 1})
	}
	return out, errs
}

// splitTypePrefix splits "type:value" when type is a known name. A colon
// followed by "//" starts a URL ("file://..."), not a type.
func splitTypePrefix(line string) (ObservableType, string) {
	i := strings.IndexAny(line, ":\t,")
	if i <= 0 {
		return "", line
	}
	t, ok := lineTypeNames[strings.ToLower(strings.TrimSpace(line[:i]))]
	if !ok || (line[i] == ':' && strings.HasPrefix(line[i+1:], "//")) {
		return "", line
	}
	return t, line[i+1:]
}

func normalizeLine(t ObservableType, v string) (ObservableType, string, error) {
	if t == obsAnyIP {
		dt, ok := DetectObservableType(v)
		if !ok || (dt != ObsIPv4 && dt != ObsIPv6) {
			return "", "", Errorf(EINVALID, "Not an IP address.")
		}
		t = dt
	}
	if t == "" {
		if _, ok := detectType(refang(strings.TrimSpace(v))); !ok && strings.TrimSpace(v) != "" && utf8.ValidString(v) {
			return "", "", Errorf(EINVALID, "Could not tell what kind of value this is: start the line with its type, as in \"domain: example.com\", \"hostname: fs01\" or \"text: anything else\".")
		}
	}
	return NormalizeObservable(t, v)
}

// --- extraction from free text ---

// commonTLDs are the generic top-level domains ExtractObservables accepts,
// besides any two letters (country codes). The list is short on purpose:
// free text is full of "word.word", and a false domain is worse than a
// missed one the analyst can add by hand.
var commonTLDs = stringSet(
	"com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "aero", "asia",
	"cat", "coop", "jobs", "mobi", "museum", "tel", "travel", "xxx", "post", "arpa", "onion",
	"app", "dev", "page", "xyz", "top", "online", "site", "website", "club", "shop", "store",
	"tech", "live", "life", "world", "today", "space", "fun", "icu", "vip", "work", "click",
	"link", "win", "bid", "loan", "download", "review", "stream", "racing", "party", "date",
	"faith", "science", "trade", "cricket", "accountant", "men", "gdn", "kim", "country", "host",
	"press", "cloud", "email", "digital", "network", "services", "solutions", "support",
	"systems", "center", "company", "agency", "group", "media", "news", "blog", "design",
	"global", "one", "best", "buzz", "guru", "ltd", "llc", "inc", "rest", "bar", "cyou",
	"monster", "quest", "sbs", "cfd", "bond", "lat", "beauty", "hair", "makeup", "skin",
	"autos", "boats", "homes", "yachts", "rocks", "ninja", "social", "studio", "zone", "fyi",
	"lol", "wtf", "mom", "money", "finance", "bank", "insure", "capital", "fund", "cash",
	"credit", "exchange", "market", "markets", "trading", "game", "games", "casino", "bet",
	"poker", "church", "love", "sex", "porn", "adult", "cam", "chat", "wiki", "foo",
	"new", "google", "goog", "amazon", "microsoft", "apple", "youtube", "academy", "education",
	"school", "university", "health", "care", "clinic", "help", "plus", "run", "art", "photo",
	"pics", "pictures", "gallery", "video", "film", "music", "audio", "radio", "events",
	"team", "tips", "tools", "software", "codes", "computer", "technology", "cyber",
	"security", "protection", "safe", "secure", "land", "city", "london", "nyc", "berlin",
)

// fileExtensions are endings that look like top-level domains but are far
// more often file names (report.pdf, svchost.exe). Some are real TLDs
// (.sh, .py, .md, .zip); those are only found when typed explicitly.
var fileExtensions = stringSet(
	"exe", "dll", "pdf", "doc", "docx", "xls", "xlsx", "zip", "txt", "log", "js", "py", "sh",
	"bat", "ps1", "png", "jpg", "gif", "json", "xml", "html", "htm", "php", "asp", "aspx", "jsp",
	"cfg", "ini", "tmp", "dat", "bin", "sys", "msi", "iso", "img", "gz", "tar", "rar", "7z",
	"csv", "md",
)

var (
	extractURLRE    = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'\x60]+`)
	extractEmailRE  = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@(?:[a-z0-9_-]+\.)+[a-z]{2,63}\b`)
	extractIPv4RE   = regexp.MustCompile(`\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?:/[0-9]{1,2})?\b`)
	extractIPv6RE   = regexp.MustCompile(`(?i)[0-9a-f:]*:[0-9a-f]*:[0-9a-f:.]*(?:/[0-9]{1,3})?`)
	extractDomainRE = regexp.MustCompile(`(?i)\b(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b`)
)

// candidate is a possible observable at text[start:end].
type candidate struct {
	start, end int
	typ        ObservableType
	raw        string
}

// ExtractObservables finds observables in free text such as an alert or a
// log excerpt: IPv4 and IPv6 addresses, http(s) URLs (also defanged),
// e-mail addresses, MD5/SHA-1/SHA-256/SHA-512 hashes that a label names
// ("SHA256: …", "md5=…"; see appendHashCandidates), and domain names with
// a common or two-letter top-level domain. Names and addresses inside a
// found URL or e-mail address are not repeated. Results are normalised,
// without repeats, in order of first appearance, and at most 1000. The work
// is linear in the text (Go's regexp guarantees no backtracking blow-up).
func ExtractObservables(text string) []ObservableInput {
	text = refang(text)
	cands := findCandidates(text)
	// Sort by position; at one position the longer match (the URL before
	// the domain it starts with) first, so that it covers what it contains.
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].start != cands[j].start {
			return cands[i].start < cands[j].start
		}
		return cands[i].end > cands[j].end
	})
	var out []ObservableInput
	seen := map[string]bool{}     // normalised values kept
	triedRaw := map[string]bool{} // raw candidates normalised, and whether they were valid
	coverEnd := 0                 // end of the furthest-reaching URL or e-mail found so far
	line, lineAt := 1, 0
	for _, c := range cands {
		if c.end <= coverEnd && c.typ != ObsHash { // but hashes in URLs ("?sha256=…" of a sandbox) are worth having
			continue
		}
		// Logs repeat themselves: normalise each raw string once.
		rawKey := string(c.typ) + "\x00" + c.raw
		valid, tried := triedRaw[rawKey]
		if tried && !valid {
			continue
		}
		var typ ObservableType
		var val string
		if !tried {
			var err error
			typ, val, err = NormalizeObservable(c.typ, c.raw)
			triedRaw[rawKey] = err == nil
			if err != nil {
				continue
			}
		}
		if (c.typ == ObsURL || c.typ == ObsEmail) && c.end > coverEnd {
			coverEnd = c.end
		}
		if tried {
			continue // the first one was kept or was a repeat
		}
		key := string(typ) + "\x00" + val
		if seen[key] {
			continue
		}
		seen[key] = true
		line += strings.Count(text[lineAt:c.start], "\n")
		lineAt = c.start
		out = append(out, ObservableInput{Type: typ, Value: val, Line: line})
		if len(out) == maxExtracted {
			break
		}
	}
	return out
}

// findCandidates runs each finder over text.
func findCandidates(text string) []candidate {
	return findCandidatesWith(text, mayHold(text))
}

// finders says which finders may match a text. Each one's regexp is slow
// next to a scan of the text for what every match of it must contain,
// and most alert texts hold no address, URL or mailbox at all.
type finders struct{ url, email, ipv4, ipv6, domain bool }

var allFinders = finders{true, true, true, true, true}

// mayHold scans text once for what each finder's matches must contain:
// "://" for a URL, "@" for a mailbox, a digit, a dot and a digit for an
// IPv4 address, two colons with only hex digits between them for IPv6,
// and a label character, a dot and two letters for a domain (where a
// non-ASCII byte counts as a possible letter: Go's case folding matches
// [a-z] against ſ and the Kelvin sign).
func mayHold(text string) finders {
	var f finders
	f.url = strings.Contains(text, "://")
	f.email = strings.IndexByte(text, '@') >= 0
	lastColon := -1
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '.':
			if i > 0 && i+1 < len(text) {
				prev, next := text[i-1], text[i+1]
				if isASCIIDigit(prev) && isASCIIDigit(next) {
					f.ipv4 = true
				}
				// (?i) lets [a-z] match ſ and K (Kelvin) too: any
				// byte of a multi-byte character may be a letter.
				if (isASCIIAlnum(prev) || prev == '_' || prev >= 0x80) && i+2 < len(text) && mayBeLetter(next) && mayBeLetter(text[i+2]) {
					f.domain = true
				}
			}
		case ':':
			if lastColon >= 0 {
				f.ipv6 = true
			}
			lastColon = i
		default:
			if !isHexDigit(text[i]) {
				lastColon = -1
			}
		}
	}
	return f
}

func mayBeLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80 }

// findCandidatesWith runs the finders f allows over text.
func findCandidatesWith(text string, f finders) []candidate {
	var cands []candidate
	find := func(on bool, re *regexp.Regexp) [][]int {
		if !on {
			return nil
		}
		return re.FindAllStringIndex(text, -1)
	}
	for _, m := range find(f.url, extractURLRE) {
		if m[1]-m[0] > 2*MaxObservableLen {
			continue // too long to be valid even after trimming
		}
		s, e := m[0], m[0]+len(trimURLTail(text[m[0]:m[1]]))
		cands = append(cands, candidate{s, e, ObsURL, text[s:e]})
	}
	for _, m := range find(f.email, extractEmailRE) {
		s := m[0]
		for s < m[1] && text[s] == '.' {
			s++
		}
		at := strings.LastIndexByte(text[s:m[1]], '.')
		if !fileExtensions[strings.ToLower(text[s+at+1:m[1]])] {
			cands = append(cands, candidate{s, m[1], ObsEmail, text[s:m[1]]})
		}
	}
	for _, m := range find(f.ipv4, extractIPv4RE) {
		s, e := m[0], m[1]
		if s > 0 && text[s-1] == '.' || e+1 < len(text) && text[e] == '.' && isASCIIDigit(text[e+1]) {
			continue // part of a longer dotted number, such as a version
		}
		if e < len(text) && text[e] == '/' { // "1.2.3.4/24/x" is a path, not a block
			if i := strings.IndexByte(text[s:e], '/'); i >= 0 {
				e = s + i
			}
		}
		cands = append(cands, candidate{s, e, ObsIPv4, text[s:e]})
	}
	for _, m := range find(f.ipv6, extractIPv6RE) {
		if c, ok := ipv6Candidate(text, m[0], m[1]); ok {
			cands = append(cands, c)
		}
	}
	for _, m := range find(f.domain, extractDomainRE) {
		s, e := m[0], m[1]
		if e-s > 253 || e < len(text) && (text[e] == '@' || text[e] == '-') {
			continue
		}
		tld := strings.ToLower(text[strings.LastIndexByte(text[s:e], '.')+s+1 : e])
		if (len(tld) == 2 || commonTLDs[tld]) && !fileExtensions[tld] {
			cands = append(cands, candidate{s, e, ObsDomain, text[s:e]})
		}
	}
	return appendHashCandidates(cands, text)
}

// ipv6Candidate trims a match of extractIPv6RE to a plausible address:
// netip must parse it, and it must not sit inside a longer word.
func ipv6Candidate(text string, s, e int) (candidate, bool) {
	for e > s && text[e-1] == '.' {
		e--
	}
	if e-s >= 2 && text[s] == ':' && text[s+1] != ':' {
		s++
	}
	if e-s >= 2 && text[e-1] == ':' && text[e-2] != ':' {
		e--
	}
	raw := text[s:e]
	if strings.Count(raw, ":") < 2 || raw == "::" || len(raw) > 64 ||
		s > 0 && (isASCIIAlnum(text[s-1]) || text[s-1] == '.' || text[s-1] == ':') ||
		e < len(text) && (isASCIIAlnum(text[e]) || text[e] == ':') {
		return candidate{}, false
	}
	ipRaw := raw
	if i := strings.IndexByte(ipRaw, '/'); i >= 0 {
		ipRaw = ipRaw[:i]
	}
	a, err := netip.ParseAddr(ipRaw)
	if err != nil || !a.Is6() {
		return candidate{}, false
	}
	if strings.Count(ipRaw, ":") < 3 && !strings.Contains(ipRaw, "::") {
		return candidate{}, false
	}
	return candidate{s, e, ObsIPv6, raw}, true
}

// appendHashCandidates adds every run of exactly 32, 40, 64 or 128 hex
// digits with no hex digit either side that a label names a digest (see
// hashLabelled), or that follows such a run with only separators between
// ("Hashes: <md5>, <sha1>"). A bare run of hex digits in free text is an
// identifier as often as a digest (a request ID, a UUID without dashes, a
// tool's fingerprint of its alert), and a false hash would take part in
// IOC matching and "seen before".
func appendHashCandidates(cands []candidate, text string) []candidate {
	chained := -1 // end of the last hash taken, if it may name the next
	for i := 0; i < len(text); {
		if !isHexDigit(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isHexDigit(text[j]) {
			j++
		}
		if _, ok := hashTypeForLen(j - i); ok && (hashLabelled(text, i) || chained >= 0 && onlyHashSeparators(text[chained:i])) {
			cands = append(cands, candidate{i, j, ObsHash, text[i:j]})
			chained = j
		} else {
			chained = -1
		}
		i = j
	}
	return cands
}

// maxHashGap is how many separator bytes may stand between a digest's label
// and the digest: `sha256": "` is four.
const maxHashGap = 4

// hashLabelWords are the words that name a digest written after them, on
// the same line, in free text; a word may also end in one after ".", "_"
// or "-" ("file.sha256", "file_hash").
var hashLabelWords = stringSet("md5", "md5sum", "sha1", "sha-1", "sha1sum", "sha256", "sha-256", "sha256sum",
	"sha512", "sha-512", "sha512sum", "hash", "hashes")

// hashLabelled reports whether the digest starting at text[i] has a label
// just before it: a word of hashLabelWords, then at most maxHashGap
// separators (spaces, ":", "=", quotes, brackets), as in "SHA256: …",
// "md5=…", `"hash": "…"` or "Hash (SHA-256): …".
func hashLabelled(text string, i int) bool {
	gap := 0
	for i > 0 && isHashSeparator(text[i-1]) {
		if gap++; gap > maxHashGap {
			return false
		}
		i--
	}
	end := i
	for i > 0 && end-i < 32 && (isASCIIAlnum(text[i-1]) || text[i-1] == '-' || text[i-1] == '_' || text[i-1] == '.') {
		i--
	}
	word := strings.ToLower(text[i:end])
	for {
		if hashLabelWords[word] {
			return true
		}
		k := strings.IndexAny(word, "._-")
		if k < 0 {
			return false
		}
		word = word[k+1:]
	}
}

func isHashSeparator(c byte) bool {
	switch c {
	case ' ', '\t', ':', '=', '"', '\'', '(', ')', '[', ']':
		return true
	}
	return false
}

// onlyHashSeparators reports whether what stands between two digests lets
// the first one's label name the second: a few spaces, commas, semicolons
// or slashes, on one line.
func onlyHashSeparators(s string) bool {
	if len(s) == 0 || len(s) > maxHashGap {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', ',', ';', '/', '"', '\'':
		default:
			return false
		}
	}
	return true
}

// trimURLTail drops punctuation that ends a sentence rather than a URL, and
// a closing bracket with no opening one in the URL ("(see http://x/a)").
func trimURLTail(s string) string {
	var count [256]int // of each byte in s, for the bracket check
	for i := 0; i < len(s); i++ {
		count[s[i]]++
	}
	for len(s) > 0 {
		c := s[len(s)-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', '*':
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if count[open] >= count[c] {
				return s
			}
		default:
			return s
		}
		count[c]--
		s = s[:len(s)-1]
	}
	return s
}

// --- small helpers ---

func stringSet(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func hasControlChar(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// PlainText reports whether s holds no control characters (NUL among
// them, which PostgreSQL refuses in text), allowing line breaks and tabs
// when multiline.
func PlainText(s string, multiline bool) bool {
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return false
		}
	}
	return true
}

// bidiControl reports whether r changes the direction in which the text
// around it is shown (U+202E makes "rtl\u202egnp.exe" show as "rtlexe.png").
func bidiControl(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// hasSuffixFoldASCII is bytes.HasSuffix ignoring ASCII case only (Unicode
// folding would let the Kelvin sign match "k"); suffix is lower-case.
func hasSuffixFoldASCII(b []byte, suffix string) bool {
	n := len(b) - len(suffix)
	if n < 0 {
		return false
	}
	for i := 0; i < len(suffix); i++ {
		c := b[n+i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != suffix[i] {
			return false
		}
	}
	return true
}

func truncateForMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func isASCIIAlnum(c byte) bool {
	return isASCIIDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isHexDigit(c byte) bool {
	return isASCIIDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhexDigit(c byte) byte {
	switch {
	case isASCIIDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigitString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isLetterString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
