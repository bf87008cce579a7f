package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// NotificationService implements vigil.NotificationService.
type NotificationService struct{ db *DB }

// WorkerService implements vigil.WorkerService.
type WorkerService struct{ db *DB }

// emit queues an event in the transaction that made it happen (the
// outbox): it is fanned out only if that transaction commits, and never
// lost if it does. A keyed event is queued once. Exercises notify no one
// outside.
func (tx *Tx) emit(ev vigil.Event, key string) (bool, error) {
	ev.At = tx.now
	var k any
	if key != "" {
		k = key
	}
	res, err := tx.exec(`INSERT INTO jobs (kind, unique_key, payload, state, run_at, created_at) VALUES (?, ?, ?, 'available', ?, ?)
		ON CONFLICT (unique_key) DO NOTHING`, vigil.JobEvent, k, mustJSON(ev), tx.now, tx.now)
	if err != nil {
		return false, fmt.Errorf("queue event: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// emitIncidentCreated queues the events of a new incident.
func (tx *Tx) emitIncidentCreated(inc *vigil.Incident) error {
	if inc.Exercise {
		return nil
	}
	kind := vigil.EventIncidentCreated
	if inc.Source == vigil.SourceStaffReport {
		kind = vigil.EventReportReceived
	}
	if _, err := tx.emit(vigil.Event{Kind: kind, IncidentID: inc.ID}, ""); err != nil {
		return err
	}
	if inc.LeadID != nil {
		_, err := tx.emit(vigil.Event{Kind: vigil.EventAssigned, IncidentID: inc.ID, UserID: *inc.LeadID}, "")
		return err
	}
	return nil
}

// emitIncidentChanged queues the events of a change from the stored row's
// severity and lead to inc's.
func (tx *Tx) emitIncidentChanged(inc *vigil.Incident, oldSeverity int, oldLead *int64) error {
	if inc.Exercise {
		return nil
	}
	if inc.Severity.Rank() > oldSeverity {
		if _, err := tx.emit(vigil.Event{Kind: vigil.EventSeverityRaised, IncidentID: inc.ID}, ""); err != nil {
			return err
		}
	}
	if inc.LeadID != nil && (oldLead == nil || *oldLead != *inc.LeadID) {
		if _, err := tx.emit(vigil.Event{Kind: vigil.EventAssigned, IncidentID: inc.ID, UserID: *inc.LeadID}, ""); err != nil {
			return err
		}
	}
	return nil
}

// emitTaskAssigned queues "assigned" when a task gets a new assignee.
func (tx *Tx) emitTaskAssigned(t *vigil.Task, before *int64) error {
	if t.AssigneeID == nil || (before != nil && *before == *t.AssigneeID) {
		return nil
	}
	var exercise bool
	if err := tx.queryRow(`SELECT exercise FROM incidents WHERE id = ?`, t.IncidentID).Scan(&exercise); err != nil || exercise {
		return err
	}
	_, err := tx.emit(vigil.Event{Kind: vigil.EventAssigned, IncidentID: t.IncidentID, TaskID: t.ID, UserID: *t.AssigneeID}, "")
	return err
}

// --- channels and subscriptions ---

const channelColumns = `id, name, kind, url, smtp, secret, tlp, escalation, enabled, created_at, updated_at, version`

func scanChannel(r rowScanner) (*vigil.Channel, error) {
	var c vigil.Channel
	var smtp sql.NullString
	if err := r.Scan(&c.ID, &c.Name, &c.Kind, &c.URL, &smtp, &c.Secret, &c.TLP, &c.Escalation, &c.Enabled,
		scanTime(&c.CreatedAt), scanTime(&c.UpdatedAt), &c.Version); err != nil {
		return nil, err
	}
	if smtp.Valid && smtp.String != "" {
		c.SMTP = &vigil.SMTPConfig{}
		if err := json.Unmarshal([]byte(smtp.String), c.SMTP); err != nil {
			return nil, fmt.Errorf("channel %d smtp: %w", c.ID, err)
		}
	}
	return &c, nil
}

// public hides a channel's secrets.
func public(c *vigil.Channel) *vigil.Channel {
	out := *c
	out.Secret = ""
	if c.SMTP != nil {
		s := *c.SMTP
		s.Password = ""
		s.To = slices.Clone(s.To)
		out.SMTP = &s
	}
	return &out
}

// newWebhookSecret makes a Standard Webhooks secret: whsec_ and 32 random
// bytes in base64.
func newWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// CreateChannel adds a channel; a webhook channel gets its signing secret,
// returned this once.
func (s *NotificationService) CreateChannel(ctx context.Context, c *vigil.Channel) (err error) {
	defer s.db.op("channel.create")(&err)
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.CheckDestination(s.db.OutboundAllow); err != nil {
		return err
	}
	c.Secret = ""
	if c.Kind == vigil.ChannelWebhook {
		c.Secret = newWebhookSecret()
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt, c.Version = tx.now, tx.now, 1
		id, err := tx.insert(`INSERT INTO channels (name, kind, url, smtp, secret, tlp, escalation, enabled, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, c.Name, c.Kind, c.URL, tx.channelSMTP(c), tx.db.Secrets.seal(colChannelSecret, c.Secret), c.TLP, c.Escalation, c.Enabled,
			tx.now, tx.now)
		if err != nil {
			return err
		}
		c.ID = id
		tx.audit("channel.create", "channel", id, nil, public(c))
		return nil
	})
	if isConflict(err) {
		return vigil.Invalid("name", "A channel named %q exists already.", c.Name)
	}
	if c.SMTP != nil {
		c.SMTP.Password = ""
	}
	return err
}

func isConflict(err error) bool { return vigil.ErrorCode(err) == vigil.ECONFLICT }

// FindChannels lists the channels, without their secrets.
func (s *NotificationService) FindChannels(ctx context.Context) (out []*vigil.Channel, err error) {
	defer s.db.op("channel.list")(&err)
	out = []*vigil.Channel{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		out, err = queryAll(tx, scanChannel, `SELECT `+channelColumns+` FROM channels ORDER BY name`)
		for i, c := range out {
			c = public(c)
			if !tx.actor.Can(vigil.PermSettingsAdmin) {
				// Others see which channels exist, to subscribe, not where they lead.
				c.URL, c.SMTP = "", nil
			}
			out[i] = c
		}
		return err
	})
	return out, err
}

// findChannel loads a channel with its secrets opened.
func (tx *Tx) findChannel(id int64) (*vigil.Channel, error) {
	c, err := tx.findChannelSealed(id)
	if err != nil {
		return nil, err
	}
	return c, tx.openChannel(c)
}

// findChannelSealed loads a channel with its secrets as stored: enough to
// delete it, even when they no longer open (another key, a damaged value).
func (tx *Tx) findChannelSealed(id int64) (*vigil.Channel, error) {
	c, err := scanChannel(tx.queryRow(`SELECT `+channelColumns+` FROM channels WHERE id = ?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Channel not found.")
	}
	return c, err
}

// FindChannelByID returns one channel, without its secrets.
func (s *NotificationService) FindChannelByID(ctx context.Context, id int64) (c *vigil.Channel, err error) {
	defer s.db.op("channel.find")(&err)
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		c, err = tx.findChannelSealed(id) // its secrets are not shown
		return err
	})
	if c != nil {
		c = public(c)
	}
	return c, err
}

// UpdateChannel replaces a channel's settings under optimistic concurrency.
func (s *NotificationService) UpdateChannel(ctx context.Context, c *vigil.Channel, rotate bool) (err error) {
	defer s.db.op("channel.update")(&err)
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.CheckDestination(s.db.OutboundAllow); err != nil {
		return err
	}
	n, err := writeV(ctx, s.db, func(tx *Tx) (*vigil.Channel, error) {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return nil, err
		}
		old, err := tx.findChannel(c.ID)
		if err != nil {
			return nil, err
		}
		if c.Version != old.Version {
			return nil, staleVersion(old.Version)
		}
		if c.Kind != old.Kind {
			return nil, vigil.Invalid("kind", "A channel's kind cannot change; make a new channel.")
		}
		n := new(*c) // c stays as given, for a run again
		if c.SMTP != nil {
			n.SMTP = new(*c.SMTP)
		}
		if n.SMTP != nil && n.SMTP.Password == "" && old.SMTP != nil && old.SMTP.Password != "" {
			// The stored password goes only to the server it was given for.
			o, n := old.SMTP, n.SMTP
			if o.Host != n.Host || o.Port != n.Port || o.Security != n.Security || o.Username != n.Username {
				return nil, vigil.Invalid("smtp.password", "Enter the password again: the server or the username changed.")
			}
			n.Password = o.Password
		}
		n.Secret = old.Secret
		if rotate && n.Kind == vigil.ChannelWebhook {
			n.Secret = newWebhookSecret()
		}
		n.CreatedAt, n.UpdatedAt, n.Version = old.CreatedAt, tx.now, old.Version+1
		if _, err := tx.exec(`UPDATE channels SET name = ?, url = ?, smtp = ?, secret = ?, tlp = ?, escalation = ?, enabled = ?,
			updated_at = ?, version = version + 1 WHERE id = ?`, n.Name, n.URL, tx.channelSMTP(n), tx.db.Secrets.seal(colChannelSecret, n.Secret), n.TLP, n.Escalation, n.Enabled,
			tx.now, n.ID); err != nil {
			return nil, err
		}
		tx.audit("channel.update", "channel", n.ID, public(old), public(n))
		return n, nil
	})
	if isConflict(err) && !strings.Contains(err.Error(), "version") {
		return vigil.Invalid("name", "A channel named %q exists already.", c.Name)
	}
	if err != nil {
		return err
	}
	*c = *n
	if c.SMTP != nil {
		c.SMTP.Password = ""
	}
	if !rotate {
		c.Secret = ""
	}
	return nil
}

// DeleteChannel removes a channel with its subscriptions and log.
func (s *NotificationService) DeleteChannel(ctx context.Context, id int64) (err error) {
	defer s.db.op("channel.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return err
		}
		old, err := tx.findChannelSealed(id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM channels WHERE id = ?`, id); err != nil {
			return err
		}
		tx.audit("channel.delete", "channel", id, public(old), nil)
		return nil
	})
}

// TestChannel queues a test notification on one channel.
func (s *NotificationService) TestChannel(ctx context.Context, id int64) (d *vigil.Delivery, err error) {
	defer s.db.op("channel.test")(&err)
	d, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Delivery, error) {
		var d *vigil.Delivery
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return d, err
		}
		c, err := tx.findChannel(id)
		if err != nil {
			return d, err
		}
		ev := vigil.Event{Kind: vigil.EventTest, ChannelID: id, At: tx.now}
		var to []string
		if c.SMTP != nil {
			to = c.SMTP.To
			if len(to) == 0 {
				var email string
				tx.queryRow(`SELECT email FROM users WHERE id = ?`, tx.actor.UserID).Scan(&email)
				if email != "" {
					to = []string{email}
				}
			}
			if len(to) == 0 {
				return d, vigil.Invalid("smtp.to", "The channel names no recipients and you have no e-mail address: add one to test it.")
			}
		}
		key := deliveryKey(fmt.Sprintf("test/%d/%d", id, tx.now.UnixNano()))
		d, err = tx.queueDelivery(key, c, &ev, nil, to, vigil.Compose(vigil.About{Event: &ev}, c.TLP, time.UTC))
		if err != nil {
			return d, err
		}
		tx.audit("channel.test", "channel", id, nil, d)
		return d, nil
	})
	return d, err
}

const subscriptionColumns = `s.id, s.channel_id, s.user_id, s.events, s.min_severity, s.types, s.mine, s.recipients, s.created_at, c.name`

func scanSubscription(r rowScanner) (*vigil.Subscription, error) {
	var s vigil.Subscription
	var sev int
	if err := r.Scan(&s.ID, &s.ChannelID, &s.UserID, scanJSON(&s.Events), &sev, scanJSON(&s.Types), &s.Mine, scanJSON(&s.To),
		scanTime(&s.CreatedAt), &s.ChannelName); err != nil {
		return nil, err
	}
	s.MinSeverity = vigil.SeverityFromRank(sev)
	return &s, nil
}

// CreateSubscription subscribes. Anyone who reads incidents may subscribe
// themselves on an e-mail channel, to their own address; administrators
// may subscribe any channel and any addresses.
func (s *NotificationService) CreateSubscription(ctx context.Context, sub *vigil.Subscription) (err error) {
	defer s.db.op("subscription.create")(&err)
	if err := sub.Validate(); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		c, err := tx.findChannel(sub.ChannelID)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return vigil.Invalid("channel_id", "No channel with ID %d.", sub.ChannelID)
		} else if err != nil {
			return err
		}
		sub.UserID = tx.actor.UserID
		sub.ChannelName = c.Name
		if !tx.actor.Can(vigil.PermSettingsAdmin) {
			var email string
			if err := tx.queryRow(`SELECT email FROM users WHERE id = ?`, sub.UserID).Scan(&email); err != nil || email == "" {
				return vigil.Invalid("to", "Add an e-mail address to your account first.")
			}
			if c.Kind != vigil.ChannelEmail {
				return vigil.Invalid("channel_id", "Only an administrator subscribes chat and webhook channels; choose an e-mail channel.")
			}
			sub.To = []string{email}
		}
		if c.Kind != vigil.ChannelEmail && len(sub.To) > 0 {
			return vigil.Invalid("to", "Recipients are for e-mail channels.")
		}
		if sub.To == nil {
			sub.To = []string{}
		}
		if sub.Types == nil {
			sub.Types = []vigil.IncidentType{}
		}
		sub.CreatedAt = tx.now
		id, err := tx.insert(`INSERT INTO subscriptions (channel_id, user_id, events, min_severity, types, mine, recipients, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sub.ChannelID, sub.UserID, mustJSON(sub.Events), sub.MinSeverity.Rank(),
			mustJSON(sub.Types), sub.Mine, mustJSON(sub.To), tx.now)
		if err != nil {
			return err
		}
		sub.ID = id
		tx.audit("subscription.create", "subscription", id, nil, sub)
		return nil
	})
}

// FindSubscriptions lists the actor's subscriptions, or all for an admin.
func (s *NotificationService) FindSubscriptions(ctx context.Context) (out []*vigil.Subscription, err error) {
	defer s.db.op("subscription.list")(&err)
	out = []*vigil.Subscription{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		where, args := "1=1", []any{}
		if !tx.actor.Can(vigil.PermSettingsAdmin) {
			where, args = "s.user_id = ?", []any{tx.actor.UserID}
		}
		out, err = queryAll(tx, scanSubscription, `SELECT `+subscriptionColumns+` FROM subscriptions s JOIN channels c ON c.id = s.channel_id WHERE `+
			where+` ORDER BY s.id`, args...)
		return err
	})
	return out, err
}

// DeleteSubscription unsubscribes: one's own, or any for an admin.
func (s *NotificationService) DeleteSubscription(ctx context.Context, id int64) (err error) {
	defer s.db.op("subscription.delete")(&err)
	return s.db.write(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		sub, err := scanSubscription(tx.queryRow(`SELECT `+subscriptionColumns+` FROM subscriptions s JOIN channels c ON c.id = s.channel_id
			WHERE s.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && sub.UserID != tx.actor.UserID && !tx.actor.Can(vigil.PermSettingsAdmin)) {
			return vigil.Errorf(vigil.ENOTFOUND, "Subscription not found.")
		} else if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM subscriptions WHERE id = ?`, id); err != nil {
			return err
		}
		tx.audit("subscription.delete", "subscription", id, sub, nil)
		return nil
	})
}

// --- the delivery log ---

const deliveryColumns = `d.id, d.key, d.channel_id, c.name, c.kind, d.event, d.incident_id, d.recipients, d.message, d.status,
	d.attempts, d.last_error, d.next_at, d.sent_at, d.created_at`

func scanDelivery(r rowScanner) (*vigil.Delivery, error) {
	var d vigil.Delivery
	if err := r.Scan(&d.ID, &d.Key, &d.ChannelID, &d.ChannelName, &d.ChannelKind, &d.Event, scanNullInt(&d.IncidentID),
		scanJSON(&d.Recipients), scanJSON(&d.Message), &d.Status, &d.Attempts, &d.LastError, scanNullTime(&d.NextAt),
		scanNullTime(&d.SentAt), scanTime(&d.CreatedAt)); err != nil {
		return nil, err
	}
	return &d, nil
}

// FindDeliveries lists the delivery log, newest first. Administrators see
// all of it; others see deliveries on incidents they can see.
func (s *NotificationService) FindDeliveries(ctx context.Context, f vigil.DeliveryFilter) (out []*vigil.Delivery, err error) {
	defer s.db.op("delivery.list")(&err)
	if f.Limit <= 0 || f.Limit > vigil.MaxPageSize {
		f.Limit = 50
	}
	out = []*vigil.Delivery{}
	err = s.db.read(ctx, func(tx *Tx) error {
		if err := tx.require(vigil.PermIncidentRead); err != nil {
			return err
		}
		vis, args := tx.deliveryVisible()
		where := []string{vis}
		if f.ChannelID != 0 {
			where, args = append(where, "d.channel_id = ?"), append(args, f.ChannelID)
		}
		if f.IncidentID != 0 {
			where, args = append(where, "d.incident_id = ?"), append(args, f.IncidentID)
		}
		if f.Status != "" {
			where, args = append(where, "d.status = ?"), append(args, f.Status)
		}
		if f.BeforeID != 0 {
			where, args = append(where, "d.id < ?"), append(args, f.BeforeID)
		}
		out, err = queryAll(tx, scanDelivery, `SELECT `+deliveryColumns+` FROM deliveries d JOIN channels c ON c.id = d.channel_id WHERE `+
			strings.Join(where, " AND ")+` ORDER BY d.id DESC LIMIT ?`, append(args, f.Limit)...)
		return err
	})
	return out, err
}

// deliveryVisible limits deliveries (alias d) to those about incidents
// the actor may see; administrators see the others too (channel tests,
// plan reminders).
func (tx *Tx) deliveryVisible() (string, []any) {
	vis, args := tx.visible()
	where := `d.incident_id IN (SELECT i.id FROM incidents i WHERE ` + vis + `)`
	if tx.actor.Can(vigil.PermSettingsAdmin) {
		where = `(d.incident_id IS NULL OR ` + where + `)`
	}
	return where, args
}

func (tx *Tx) findDelivery(id int64) (*vigil.Delivery, error) {
	vis, args := tx.deliveryVisible()
	d, err := scanDelivery(tx.queryRow(`SELECT `+deliveryColumns+` FROM deliveries d JOIN channels c ON c.id = d.channel_id WHERE d.id = ? AND `+vis,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "Delivery not found.")
	}
	return d, err
}

// RetryDelivery queues a failed delivery again, with a fresh set of attempts.
func (s *NotificationService) RetryDelivery(ctx context.Context, id int64) (d *vigil.Delivery, err error) {
	defer s.db.op("delivery.retry")(&err)
	d, err = writeV(ctx, s.db, func(tx *Tx) (*vigil.Delivery, error) {
		var err error // its own: the caller may have stopped waiting (a deadline)
		var d *vigil.Delivery
		if err := tx.require(vigil.PermSettingsAdmin); err != nil {
			return d, err
		}
		d, err = tx.findDelivery(id)
		if err != nil {
			return d, err
		}
		if d.IncidentID != nil {
			// Its message is about the incident: audited as such.
			if err := tx.writeOn(*d.IncidentID); err != nil {
				return d, err
			}
		}
		if d.Status != vigil.DeliveryFailed {
			return d, vigil.Errorf(vigil.ECONFLICT, "Only a failed delivery can be retried; this one is %s.", d.Status)
		}
		if _, err := tx.exec(`UPDATE jobs SET state = 'available', attempts = 0, run_at = ?, locked_by = NULL, locked_until = NULL,
			finished_at = NULL WHERE unique_key = ?`, tx.now, "deliver:"+d.Key); err != nil {
			return d, err
		}
		if _, err := tx.exec(`UPDATE deliveries SET status = 'pending', next_at = ? WHERE id = ?`, tx.now, id); err != nil {
			return d, err
		}
		d.Status, d.NextAt = vigil.DeliveryPending, &tx.now
		tx.audit("delivery.retry", "delivery", id, nil, d)
		return d, nil
	})
	return d, err
}

// deliveryKey is a delivery's idempotency key, from what makes it unique.
func deliveryKey(s string) string {
	h := sha256.Sum256([]byte(s))
	return "vgd_" + hex.EncodeToString(h[:16])
}

// queueDelivery records a delivery and queues the job that sends it; a
// delivery already queued under key is left alone (nil, nil).
func (tx *Tx) queueDelivery(key string, c *vigil.Channel, ev *vigil.Event, incidentID *int64, to []string, m vigil.Message) (*vigil.Delivery, error) {
	if to == nil {
		to = []string{}
	}
	var id int64
	err := tx.queryRow(`INSERT INTO deliveries (key, channel_id, event, incident_id, recipients, message, status, next_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id`, key, c.ID, ev.Kind, incidentID,
		mustJSON(to), mustJSON(m), tx.now, tx.now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("queue delivery: %w", err)
	}
	if _, err := tx.exec(`INSERT INTO jobs (kind, unique_key, payload, state, max_attempts, run_at, created_at) VALUES (?, ?, ?, 'available', ?, ?, ?)`,
		vigil.JobDeliver, "deliver:"+key, mustJSON(map[string]int64{"delivery_id": id}), MaxDeliveryAttempts, tx.now, tx.now); err != nil {
		return nil, fmt.Errorf("queue delivery job: %w", err)
	}
	return &vigil.Delivery{ID: id, Key: key, ChannelID: c.ID, ChannelName: c.Name, ChannelKind: c.Kind, Event: ev.Kind,
		IncidentID: incidentID, Recipients: to, Message: m, Status: vigil.DeliveryPending, NextAt: &tx.now, CreatedAt: tx.now}, nil
}

// MaxDeliveryAttempts is how often a delivery is tried before it is
// marked failed (about a day with the worker's backoff).
const MaxDeliveryAttempts = 12
