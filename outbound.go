package vigil

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// Vigil connects to other systems on an administrator's word: webhook,
// Slack and Teams channels, SMTP servers and TAXII feeds. Left open, that
// lets whoever may configure one make the server call its own neighbours
// (server-side request forgery): a database on localhost, the cloud's
// metadata service at 169.254.169.254, an admin page on the office
// network. So internal destinations are refused unless the operator lists
// them (OutboundAllow). The rules are here, without I/O; package outbound
// applies them to the address actually connected to, after DNS, and the
// stores apply them to the host names and literal addresses given when a
// channel or feed is saved.

// OutboundAllow is the operator's list of internal destinations that
// Vigil may reach all the same (vigil serve -outbound-allow): networks,
// single addresses and host names. The zero value allows none.
type OutboundAllow struct {
	// Prefixes are networks; any address in one may be connected to,
	// whatever name led to it.
	Prefixes []netip.Prefix
	// Hosts are host names, lower-case and without a trailing dot; a
	// destination of that exact name may be connected to, at whatever
	// address it resolves to.
	Hosts []string
}

// ParseOutboundAllow reads an allow-list: networks (10.0.0.0/8,
// fd00::/8), addresses (127.0.0.1, ::1) and host names (siem.internal),
// separated by commas or spaces.
func ParseOutboundAllow(s string) (OutboundAllow, error) {
	var a OutboundAllow
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return OutboundAllow{}, fmt.Errorf("%q is not a network such as 10.0.0.0/8", e)
			}
			a.Prefixes = append(a.Prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
			ip = ip.WithZone("").Unmap()
			a.Prefixes = append(a.Prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		h := canonicalHost(e)
		if !validHostName(h) {
			return OutboundAllow{}, fmt.Errorf("%q is neither a network, an address nor a host name", e)
		}
		a.Hosts = append(a.Hosts, h)
	}
	return a, nil
}

// UnmarshalText implements encoding.TextUnmarshaler, for flags.
func (a *OutboundAllow) UnmarshalText(b []byte) error {
	v, err := ParseOutboundAllow(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalText implements encoding.TextMarshaler: the list as
// ParseOutboundAllow reads it.
func (a OutboundAllow) MarshalText() ([]byte, error) {
	var parts []string
	for _, p := range a.Prefixes {
		if p.IsSingleIP() {
			parts = append(parts, p.Addr().String())
		} else {
			parts = append(parts, p.String())
		}
	}
	parts = append(parts, a.Hosts...)
	return []byte(strings.Join(parts, ",")), nil
}

// AllowsAddr reports whether ip is in one of the allowed networks.
func (a OutboundAllow) AllowsAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	for _, p := range a.Prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AllowsHost reports whether host (a name, or a literal address, as in a
// URL) is allowed by name or, for an address, by network.
func (a OutboundAllow) AllowsHost(host string) bool {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return a.AllowsAddr(ip)
	}
	return slices.Contains(a.Hosts, canonicalHost(host))
}

// InternalAddr says what kind of internal address ip is ("a loopback
// address", "a private address", …), or "" for a public one. Internal
// means not to be reached on a user's say-so: loopback, private (RFC 1918,
// RFC 4193), link-local (which holds the clouds' metadata services),
// unspecified (0.0.0.0 and :: reach this machine), carrier-grade NAT,
// multicast, broadcast and the reserved blocks, also when written as an
// IPv4-mapped IPv6 address or embedded in a NAT64 or 6to4 one.
func InternalAddr(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsUnspecified():
		return "the unspecified address, which reaches this machine"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast():
		return "a multicast address"
	}
	for _, r := range reserved {
		if r.p.Contains(ip) {
			return r.what
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var v4 netip.Addr
		switch {
		case nat64.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(ip):
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if v4.IsValid() {
			if what := InternalAddr(v4); what != "" {
				return what + " (inside an IPv6 one)"
			}
		}
	}
	return ""
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the last 32 bits are an IPv4 address
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: bits 16-47 are an IPv4 address
	reserved  = []struct {
		p    netip.Prefix
		what string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), "an address of \"this network\" (0.0.0.0/8)"},
		{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
		{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address (192.0.0.0/24)"},
		{netip.MustParsePrefix("198.18.0.0/15"), "a reserved address (198.18.0.0/15)"},
		{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},
		{netip.MustParsePrefix("::/96"), "a reserved address (::/96)"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "a private NAT64 address"},
		{netip.MustParsePrefix("100::/64"), "a discard address (100::/64)"},
		{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	}
)

// outboundHint ends every refusal: what an operator can do about it.
const outboundHint = "Vigil connects to internal addresses only if the server's -outbound-allow setting lists them."

// CheckAddr says why Vigil will not connect to ip, or "" if it may: a
// public address, or one in an allowed network.
func (a OutboundAllow) CheckAddr(ip netip.Addr) string {
	if a.AllowsAddr(ip) {
		return ""
	}
	if what := InternalAddr(ip); what != "" {
		return fmt.Sprintf("%s is %s. %s", ip.WithZone(""), what, outboundHint)
	}
	return ""
}

// CheckHost says why Vigil will not connect to host (as in a URL: a name
// or a literal address), or "". Without DNS it can refuse only what is
// plain from the text: internal literal addresses, localhost, and numbers
// that are not written as four decimal parts (127.1, 2130706433, 0x7f.1),
// which some resolvers read as addresses. A name that resolves to an
// internal address is refused when Vigil connects.
func (a OutboundAllow) CheckHost(host string) string {
	host = strings.Trim(host, "[]")
	if a.AllowsHost(host) {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return a.CheckAddr(ip)
	}
	h := canonicalHost(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Sprintf("%s is this machine. %s", host, outboundHint)
	}
	labels := strings.Split(h, ".")
	if last := labels[len(labels)-1]; last != "" && last[0] >= '0' && last[0] <= '9' {
		return fmt.Sprintf("%q is not an address Vigil will connect to: write an IPv4 address as four decimal numbers, such as 192.0.2.10.", host)
	}
	return ""
}

// CheckURL says why Vigil will not send to raw, or "": it must be http
// or https and its host must pass CheckHost.
func (a OutboundAllow) CheckURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "The URL is not valid; give the full https:// address."
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "The URL must start with https:// (or http://)."
	}
	return a.CheckHost(u.Hostname())
}

// Chat providers' webhook hosts: Slack's incoming webhooks, and Microsoft
// Teams' Workflows (Power Automate; Azure Logic Apps' URLs, and since 2025
// Power Platform's) and its retired Office 365 connectors. A chat channel
// elsewhere is a webhook under another name; the allow-list admits others
// (GovSlack's hooks.slack-gov.com, sovereign clouds).
var (
	slackHosts  = []string{"hooks.slack.com"}
	teamsSuffix = []string{".logic.azure.com", ".environment.api.powerplatform.com", ".webhook.office.com"}
)

// chatHostOK reports whether host is one of kind's provider's webhook hosts.
func chatHostOK(kind ChannelKind, host string) bool {
	host = canonicalHost(host)
	switch kind {
	case ChannelSlack:
		return slices.Contains(slackHosts, host)
	case ChannelTeams:
		return slices.ContainsFunc(teamsSuffix, func(s string) bool { return strings.HasSuffix(host, s) })
	}
	return true
}

// CheckDestination says, as field errors, why Vigil will not send the
// channel's notifications where it points: a chat channel must be its
// provider's https webhook, and no channel may name an internal host,
// unless allow lists it. Stores call it when a channel is saved, and the
// sender again before each attempt; the address finally connected to is
// checked too (package outbound).
func (c *Channel) CheckDestination(allow OutboundAllow) error {
	var p Problems
	switch c.Kind {
	case ChannelEmail:
		if c.SMTP != nil {
			if msg := allow.CheckHost(c.SMTP.Host); msg != "" {
				p.Add("smtp.host", "%s", msg)
			}
		}
	case ChannelSlack, ChannelTeams:
		u, err := url.Parse(strings.TrimSpace(c.URL))
		if err != nil {
			p.Add("url", "The URL is not valid.")
			break
		}
		if allow.AllowsHost(u.Hostname()) {
			break
		}
		if u.Scheme != "https" || !chatHostOK(c.Kind, u.Hostname()) {
			if c.Kind == ChannelSlack {
				p.Add("url", "A Slack channel's URL is a Slack incoming webhook: https://hooks.slack.com/services/…")
			} else {
				p.Add("url", "A Teams channel's URL is a Teams Workflows webhook: https://….logic.azure.com/… or https://….environment.api.powerplatform.com/…")
			}
		}
	default:
		if msg := allow.CheckURL(c.URL); msg != "" {
			p.Add("url", "%s", msg)
		}
	}
	return p.Err()
}

// CheckDestination says, as a field error, why Vigil will not poll the
// feed where its URL points (see Channel.CheckDestination).
func (f *Feed) CheckDestination(allow OutboundAllow) error {
	if msg := allow.CheckURL(f.URL); msg != "" {
		return Invalid("url", "%s", msg)
	}
	return nil
}

// canonicalHost lower-cases a host name and drops a trailing dot, so
// "Hooks.Slack.com." is "hooks.slack.com".
func canonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// validHostName reports whether h is a DNS name: letters, digits, hyphens
// and underscores in dot-separated labels of at most 63 characters.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
