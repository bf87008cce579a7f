package storetest

import (
	"net/netip"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testOutboundDestinations: a channel or feed naming an internal host is
// refused when saved (EINVALID on its field) unless the store's
// allow-list names it, and a Slack or Teams channel must be its
// provider's webhook; an update is checked as a creation is.
func testOutboundDestinations(t *testing.T, open Opener) {
	s := open(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	coll := &vigil.Collection{Title: "From feeds"}
	if err := s.Sharing.CreateCollection(admin, coll); err != nil {
		t.Fatal(err)
	}
	wantInvalid := func(t *testing.T, what string, err error, field string) {
		t.Helper()
		if got, want := vigil.ErrorCode(err), vigil.EINVALID; got != want || !hasField(err, field) {
			t.Errorf("%s: ErrorCode = %q, fields %v; want %q on %s (err: %v)", what, got, vigil.ErrorFields(err), want, field, err)
		}
	}
	internal := []string{"http://127.0.0.1:9200/", "http://localhost/hook", "http://[::1]/hook", "http://0.0.0.0/hook",
		"https://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/hook", "http://127.1/hook"}

	t.Run("ErrInternal", func(t *testing.T) {
		for i, u := range internal {
			wantInvalid(t, "webhook "+u, s.Notify.CreateChannel(admin, &vigil.Channel{Name: "hook" + string(rune('a'+i)), Kind: vigil.ChannelWebhook, URL: u}), "url")
			wantInvalid(t, "feed "+u, s.Feeds.CreateFeed(admin, &vigil.Feed{Name: "feed" + string(rune('a'+i)), URL: u, CollectionID: coll.ID}), "url")
		}
		mail := &vigil.Channel{Name: "relay", Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{Host: "localhost", Security: "none", From: "vigil@example.org"}}
		wantInvalid(t, "SMTP on localhost", s.Notify.CreateChannel(admin, mail), "smtp.host")
	})
	t.Run("ErrChatElsewhere", func(t *testing.T) {
		wantInvalid(t, "Slack", s.Notify.CreateChannel(admin, &vigil.Channel{Name: "slack", Kind: vigil.ChannelSlack, URL: "https://chat.example.org/services/x"}), "url")
		wantInvalid(t, "Slack over http", s.Notify.CreateChannel(admin, &vigil.Channel{Name: "slack", Kind: vigil.ChannelSlack, URL: "http://hooks.slack.com/services/x"}), "url")
		wantInvalid(t, "Teams", s.Notify.CreateChannel(admin, &vigil.Channel{Name: "teams", Kind: vigil.ChannelTeams, URL: "https://hooks.slack.com/services/x"}), "url")
	})
	t.Run("ErrUpdate", func(t *testing.T) {
		c := &vigil.Channel{Name: "SIEM", Kind: vigil.ChannelWebhook, URL: "https://siem.example.org/in", Enabled: true}
		if err := s.Notify.CreateChannel(admin, c); err != nil {
			t.Fatal(err)
		}
		c.URL = "http://127.0.0.1:9200/"
		wantInvalid(t, "update to loopback", s.Notify.UpdateChannel(admin, c, false), "url")
		got, err := s.Notify.FindChannelByID(admin, c.ID)
		if err != nil || got.URL != "https://siem.example.org/in" {
			t.Errorf("after a refused update: %v, URL %q", err, got.URL)
		}
	})
	t.Run("Allowed", func(t *testing.T) {
		s.SetOutboundAllow(vigil.OutboundAllow{Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Hosts: []string{"localhost", "chat.internal"}})
		defer s.SetOutboundAllow(vigil.OutboundAllow{})
		for i, c := range []*vigil.Channel{
			{Kind: vigil.ChannelWebhook, URL: "http://127.0.0.1:9200/"},
			{Kind: vigil.ChannelWebhook, URL: "http://localhost/hook"},
			{Kind: vigil.ChannelSlack, URL: "https://chat.internal/services/x"},
			{Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{Host: "localhost", Security: "none", From: "vigil@example.org"}},
		} {
			c.Name = "allowed" + string(rune('a'+i))
			if err := s.Notify.CreateChannel(admin, c); err != nil {
				t.Errorf("allowed %s channel: %v", c.Kind, err)
			}
		}
		if err := s.Feeds.CreateFeed(admin, &vigil.Feed{Name: "local", URL: "http://127.0.0.1:8080/taxii2/api/collections/x/", CollectionID: coll.ID}); err != nil {
			t.Errorf("allowed feed: %v", err)
		}
		wantInvalid(t, "webhook outside the list", s.Notify.CreateChannel(admin, &vigil.Channel{Name: "other", Kind: vigil.ChannelWebhook, URL: "https://10.0.0.5/hook"}), "url")
	})
}
