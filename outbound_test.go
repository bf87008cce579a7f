package vigil_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
)

func TestInternalAddr(t *testing.T) {
	internal := []string{
		"127.0.0.1", "127.0.0.2", "127.255.255.254", // loopback
		"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", // RFC 1918
		"169.254.169.254", "169.254.0.1", // link-local, the clouds' metadata service
		"100.64.0.1", "100.127.255.254", // carrier-grade NAT
		"0.0.0.0", "0.1.2.3", // unspecified, this network
		"255.255.255.255", "240.0.0.1", // broadcast, reserved
		"224.0.0.1", "239.255.255.250", // multicast
		"192.0.0.192", // Oracle Cloud's metadata service (192.0.0.0/24)
		"::1", "::",
		"fc00::1", "fd00:ec2::254", // unique local (AWS's metadata service over IPv6)
		"fe80::1", "fe80::1%eth0", "fec0::1",
		"ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", // IPv4-mapped
		"::127.0.0.1",                           // IPv4-compatible (deprecated)
		"64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", // NAT64 of 169.254.169.254 and 127.0.0.1
		"2002:7f00:1::1", "2002:a00:1::", // 6to4 of 127.0.0.1 and 10.0.0.1
	}
	for _, s := range internal {
		if got := vigil.InternalAddr(netip.MustParseAddr(s)); got == "" {
			t.Errorf("InternalAddr(%s) = \"\", want internal", s)
		}
	}
	public := []string{"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "192.0.1.1", "11.0.0.1",
		"2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"}
	for _, s := range public {
		if got := vigil.InternalAddr(netip.MustParseAddr(s)); got != "" {
			t.Errorf("InternalAddr(%s) = %q, want public", s, got)
		}
	}
}

func TestParseOutboundAllow(t *testing.T) {
	a, err := vigil.ParseOutboundAllow(" 10.0.0.0/8, siem.internal,127.0.0.1 [::1] Hooks.Slack-Gov.com.,, 192.168.7.9/16,::ffff:172.16.0.5")
	if err != nil {
		t.Fatal(err)
	}
	want := vigil.OutboundAllow{
		Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
			netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("172.16.0.5/32")},
		Hosts: []string{"siem.internal", "hooks.slack-gov.com"},
	}
	if diff := cmp.Diff(want, a, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ParseOutboundAllow (-want +got):\n%s", diff)
	}
	text, _ := a.MarshalText()
	if got, want := string(text), "10.0.0.0/8,127.0.0.1,::1,192.168.0.0/16,172.16.0.5,siem.internal,hooks.slack-gov.com"; got != want {
		t.Errorf("MarshalText = %q, want %q", got, want)
	}
	var back vigil.OutboundAllow
	if err := back.UnmarshalText(text); err != nil || !cmp.Equal(a, back, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) {
		t.Errorf("UnmarshalText(MarshalText) = %v, %v", back, err)
	}
	if a, err := vigil.ParseOutboundAllow(""); err != nil || len(a.Prefixes)+len(a.Hosts) != 0 {
		t.Errorf("ParseOutboundAllow(\"\") = %v, %v", a, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0.0/x", "siem.internal:443", "-bad.example", "http://x", "a..b", "ünï.example"} {
		if _, err := vigil.ParseOutboundAllow(bad); err == nil {
			t.Errorf("ParseOutboundAllow(%q) accepted", bad)
		}
	}
}

func TestOutboundAllowCheckHost(t *testing.T) {
	none := vigil.OutboundAllow{}
	refused := []string{"127.0.0.1", "localhost", "LOCALHOST.", "vigil.localhost", "[::1]", "::1", "0.0.0.0", "[::]", "10.0.0.5",
		"169.254.169.254", "[::ffff:127.0.0.1]", "[fe80::1%eth0]", "127.1", "2130706433", "0x7f.1", "0", "017700000001"}
	for _, h := range refused {
		if msg := none.CheckHost(h); msg == "" {
			t.Errorf("CheckHost(%q) = \"\", want a refusal", h)
		}
	}
	for _, h := range []string{"hooks.slack.com", "siem.example.org", "8.8.8.8", "[2606:4700::1111]", "x1.example", "1x.example"} {
		if msg := none.CheckHost(h); msg != "" {
			t.Errorf("CheckHost(%q) = %q, want allowed", h, msg)
		}
	}
	allow, err := vigil.ParseOutboundAllow("127.0.0.0/8,::1,localhost,siem.internal")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.0.1", "127.0.0.2", "[::1]", "localhost", "Localhost.", "siem.internal"} {
		if msg := allow.CheckHost(h); msg != "" {
			t.Errorf("with an allow-list, CheckHost(%q) = %q, want allowed", h, msg)
		}
	}
	for _, h := range []string{"10.0.0.5", "vigil.localhost", "[::ffff:10.0.0.1]", "0.0.0.0"} {
		if msg := allow.CheckHost(h); msg == "" {
			t.Errorf("with an allow-list, CheckHost(%q) = \"\", want a refusal", h)
		}
	}
	if !allow.AllowsAddr(netip.MustParseAddr("::ffff:127.0.0.9")) || allow.AllowsAddr(netip.MustParseAddr("128.0.0.1")) {
		t.Error("AllowsAddr does not unmap IPv4-mapped addresses, or allows outside its networks")
	}
}

func TestChannelCheckDestination(t *testing.T) {
	allow, err := vigil.ParseOutboundAllow("127.0.0.1,chat.internal")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		c     vigil.Channel
		allow vigil.OutboundAllow
		field string // "" for accepted
	}{
		{"Slack", vigil.Channel{Kind: vigil.ChannelSlack, URL: "https://hooks.slack.com/services/T0/B0/x"}, vigil.OutboundAllow{}, ""},
		{"SlackUpperCase", vigil.Channel{Kind: vigil.ChannelSlack, URL: "https://HOOKS.SLACK.COM/services/T0/B0/x"}, vigil.OutboundAllow{}, ""},
		{"ErrSlackHTTP", vigil.Channel{Kind: vigil.ChannelSlack, URL: "http://hooks.slack.com/services/T0/B0/x"}, vigil.OutboundAllow{}, "url"},
		{"ErrSlackElsewhere", vigil.Channel{Kind: vigil.ChannelSlack, URL: "https://hooks.slack.com.evil.example/services/x"}, vigil.OutboundAllow{}, "url"},
		{"ErrSlackLoopback", vigil.Channel{Kind: vigil.ChannelSlack, URL: "http://127.0.0.1:8080/services/x"}, vigil.OutboundAllow{}, "url"},
		{"SlackAllowed", vigil.Channel{Kind: vigil.ChannelSlack, URL: "http://127.0.0.1:8080/services/x"}, allow, ""},
		{"SlackAllowedName", vigil.Channel{Kind: vigil.ChannelSlack, URL: "https://chat.internal/hooks/x"}, allow, ""},
		{"TeamsLogicApps", vigil.Channel{Kind: vigil.ChannelTeams, URL: "https://prod-23.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x"}, vigil.OutboundAllow{}, ""},
		{"TeamsPowerPlatform", vigil.Channel{Kind: vigil.ChannelTeams, URL: "https://default0123.ab.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?sig=x"}, vigil.OutboundAllow{}, ""},
		{"TeamsConnector", vigil.Channel{Kind: vigil.ChannelTeams, URL: "https://contoso.webhook.office.com/webhookb2/x"}, vigil.OutboundAllow{}, ""},
		{"ErrTeamsLookalike", vigil.Channel{Kind: vigil.ChannelTeams, URL: "https://evillogic.azure.com/workflows/x"}, vigil.OutboundAllow{}, "url"},
		{"ErrTeamsBareSuffix", vigil.Channel{Kind: vigil.ChannelTeams, URL: "https://logic.azure.com.evil.example/workflows/x"}, vigil.OutboundAllow{}, "url"},
		{"ErrTeamsLocalhost", vigil.Channel{Kind: vigil.ChannelTeams, URL: "http://localhost/x"}, vigil.OutboundAllow{}, "url"},
		{"Webhook", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "https://siem.example.org/in"}, vigil.OutboundAllow{}, ""},
		{"ErrWebhookLoopback", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://127.0.0.1:9200/"}, vigil.OutboundAllow{}, "url"},
		{"ErrWebhookLocalhost", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://localhost:9200/"}, vigil.OutboundAllow{}, "url"},
		{"ErrWebhookIPv6Loopback", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://[::1]:9200/"}, vigil.OutboundAllow{}, "url"},
		{"ErrWebhookUnspecified", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://0.0.0.0:9200/"}, vigil.OutboundAllow{}, "url"},
		{"ErrWebhookPrivate", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "https://10.0.0.5/in"}, vigil.OutboundAllow{}, "url"},
		{"ErrWebhookMetadata", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://169.254.169.254/latest/meta-data/"}, vigil.OutboundAllow{}, "url"},
		{"ErrWebhookShortForm", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://127.1/"}, vigil.OutboundAllow{}, "url"},
		{"WebhookAllowed", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://127.0.0.1:9200/"}, allow, ""},
		{"ErrWebhookOtherLoopback", vigil.Channel{Kind: vigil.ChannelWebhook, URL: "http://127.0.0.2:9200/"}, allow, "url"},
		{"Email", vigil.Channel{Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{Host: "smtp.example.org"}}, vigil.OutboundAllow{}, ""},
		{"ErrEmailLoopback", vigil.Channel{Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{Host: "127.0.0.1"}}, vigil.OutboundAllow{}, "smtp.host"},
		{"ErrEmailLocalhost", vigil.Channel{Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{Host: "localhost"}}, vigil.OutboundAllow{}, "smtp.host"},
		{"EmailAllowed", vigil.Channel{Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{Host: "127.0.0.1"}}, allow, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.CheckDestination(tt.allow)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("CheckDestination = %v, want nil", err)
				}
				return
			}
			if got, want := vigil.ErrorCode(err), vigil.EINVALID; got != want {
				t.Fatalf("ErrorCode = %q, want %q (err: %v)", got, want, err)
			}
			if fs := vigil.ErrorFields(err); len(fs) != 1 || fs[0].Field != tt.field {
				t.Errorf("Fields = %+v, want one on %q", fs, tt.field)
			}
		})
	}
	f := &vigil.Feed{URL: "http://localhost:8080/taxii2/api/collections/x/"}
	if got, want := vigil.ErrorCode(f.CheckDestination(vigil.OutboundAllow{})), vigil.EINVALID; got != want {
		t.Errorf("feed on localhost: ErrorCode = %q, want %q", got, want)
	}
	if err := f.CheckDestination(vigil.OutboundAllow{Hosts: []string{"localhost"}}); err != nil {
		t.Errorf("feed on an allowed localhost: %v", err)
	}
}
