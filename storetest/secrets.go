package storetest

import (
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// testSecretsAtRest: the secrets Vigil must use again in the clear (an
// SMTP password, a webhook's signing secret, a feed's password, the TAXII
// cursor key) are not in the database as given, yet read back whole
// through the services; a value stored before sealing began is sealed at
// start, and a sealed value moved to another column does not open.
func testSecretsAtRest(t *testing.T, open Opener) {
	s := open(t)
	ctx := SystemContext(t)
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	hook := &vigil.Channel{Name: "Hook", Kind: vigil.ChannelWebhook, URL: "https://soc.example.org/hooks/vigil", Enabled: true}
	mail := &vigil.Channel{Name: "Mail", Kind: vigil.ChannelEmail, Enabled: true,
		SMTP: &vigil.SMTPConfig{Host: "smtp.example.org", Username: "vigil", Password: "relay-password-123", From: "vigil@example.org", To: []string{"soc@example.org"}}}
	for _, c := range []*vigil.Channel{hook, mail} {
		if err := s.Notify.CreateChannel(admin, c); err != nil {
			t.Fatal(err)
		}
	}
	coll := &vigil.Collection{Title: "Feeds"}
	if err := s.Sharing.CreateCollection(admin, coll); err != nil {
		t.Fatal(err)
	}
	feed := &vigil.Feed{Name: "cert", URL: "https://cert.example/taxii2/api/collections/x/", Username: "vigil", Password: "feed-password-456", CollectionID: coll.ID}
	if err := s.Feeds.CreateFeed(admin, feed); err != nil {
		t.Fatal(err)
	}
	key, err := s.Sharing.ServerKey(ctx, "taxii-next")
	if err != nil {
		t.Fatal(err)
	}

	raw := func(q string, args ...any) string {
		t.Helper()
		var v *string
		if err := s.QueryRow(ctx, q, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if v == nil {
			return ""
		}
		return *v
	}
	stored := raw(`SELECT secret FROM channels WHERE id = ?`, hook.ID) + raw(`SELECT smtp FROM channels WHERE id = ?`, mail.ID) +
		raw(`SELECT password FROM taxii_feeds WHERE id = ?`, feed.ID) + raw(`SELECT key FROM server_keys WHERE name = 'taxii-next'`)
	for _, secret := range []string{hook.Secret, "relay-password-123", "feed-password-456", string(keyHex(key))} {
		if strings.Contains(stored, secret) {
			t.Errorf("the database holds %q as given", secret)
		}
	}
	if !strings.Contains(raw(`SELECT smtp FROM channels WHERE id = ?`, mail.ID), "smtp.example.org") {
		t.Error("the SMTP settings other than the password are sealed too")
	}

	// Read back whole where Vigil uses them.
	if f, err := s.Feeds.FindFeed(admin, feed.ID); err != nil || f.Password != "feed-password-456" {
		t.Errorf("feed password read back: %v", err)
	}
	if again, err := s.Sharing.ServerKey(ctx, "taxii-next"); err != nil || string(again) != string(key) {
		t.Errorf("server key read back: %v", err)
	}
	cur, err := s.Notify.FindChannelByID(admin, mail.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Notify.UpdateChannel(admin, cur, false); err != nil { // keeps the stored password
		t.Fatal(err)
	}
	if strings.Contains(raw(`SELECT smtp FROM channels WHERE id = ?`, mail.ID), "relay-password-123") {
		t.Error("an update stored the kept password as given")
	}

	// Stored before sealing began: read as it is, sealed at start.
	if _, err := s.Exec(ctx, `UPDATE taxii_feeds SET password = ? WHERE id = ?`, "legacy-password-789", feed.ID); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Feeds.FindFeed(admin, feed.ID); err != nil || f.Password != "legacy-password-789" {
		t.Errorf("a password stored as given, read back: %v", err)
	}
	if n, err := s.SealSecrets(ctx); err != nil || n != 1 {
		t.Errorf("SealSecrets sealed %d values (%v), want 1", n, err)
	}
	if got := raw(`SELECT password FROM taxii_feeds WHERE id = ?`, feed.ID); strings.Contains(got, "legacy-password-789") {
		t.Errorf("SealSecrets left %q", got)
	}
	if f, err := s.Feeds.FindFeed(admin, feed.ID); err != nil || f.Password != "legacy-password-789" {
		t.Errorf("a password sealed at start, read back: %v", err)
	}

	// A sealed value moved to another column is refused, not opened.
	if _, err := s.Exec(ctx, `UPDATE taxii_feeds SET password = ? WHERE id = ?`, raw(`SELECT secret FROM channels WHERE id = ?`, hook.ID), feed.ID); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Feeds.FindFeed(admin, feed.ID); err == nil {
		t.Errorf("a webhook secret moved into a feed's password opened as %q", f.Password)
	}
}

func keyHex(key []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(key))
	for _, b := range key {
		out = append(out, digits[b>>4], digits[b&15])
	}
	return out
}
