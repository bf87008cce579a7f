package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

type notificationsData struct {
	Channels      []*vigil.Channel
	EmailChannels []*vigil.Channel
	Subscriptions []*vigil.Subscription
	Deliveries    []*vigil.Delivery
	Events        []vigil.EventKind
	EventLabels   map[vigil.EventKind]string
	Severities    []vigil.Severity
	TLPs          []vigil.TLP
	Kinds         []vigil.ChannelKind
	Admin         bool
	Channel       *vigil.Channel // the add-channel form
	Sub           *vigil.Subscription
	Created       *vigil.Channel // a webhook channel just made, with its secret
	Errors        map[string]string
}

var eventLabels = map[vigil.EventKind]string{
	vigil.EventIncidentCreated: "Incident created",
	vigil.EventSeverityRaised:  "Severity raised",
	vigil.EventAssigned:        "Assigned (lead or task)",
	vigil.EventTaskDue:         "Task due",
	vigil.EventPlanReviewDue:   "Response plan due for review",
	vigil.EventIntelHit:        "Threat intelligence match",
	vigil.EventDutyDueSoon:     "Reporting duty due in 12 h and in 1 h",
	vigil.EventDutyOverdue:     "Reporting duty overdue",
	vigil.EventReportReceived:  "Suspected incident reported by staff",
	vigil.EventTest:            "Test",
}

func (h *Handler) notifications(w http.ResponseWriter, r *http.Request) error {
	return h.renderNotifications(w, r, http.StatusOK, &notificationsData{})
}

func (h *Handler) renderNotifications(w http.ResponseWriter, r *http.Request, status int, d *notificationsData) error {
	if err := requirePerm(r, vigil.PermIncidentRead); err != nil {
		return err
	}
	ctx := r.Context()
	var err error
	if d.Channels, err = h.Services.Notify.FindChannels(ctx); err == nil {
		d.Subscriptions, err = h.Services.Notify.FindSubscriptions(ctx)
	}
	if err == nil {
		d.Deliveries, err = h.Services.Notify.FindDeliveries(ctx, vigil.DeliveryFilter{Limit: 50})
	}
	if err != nil {
		return err
	}
	for _, c := range d.Channels {
		if c.Kind == vigil.ChannelEmail && c.Enabled {
			d.EmailChannels = append(d.EmailChannels, c)
		}
	}
	d.Admin = vigil.ActorFromContext(ctx).Can(vigil.PermSettingsAdmin)
	d.Events, d.EventLabels, d.Severities, d.TLPs, d.Kinds = vigil.EventKinds, eventLabels, vigil.Severities, vigil.TLPs, vigil.ChannelKinds
	if d.Channel == nil {
		d.Channel = &vigil.Channel{Kind: vigil.ChannelEmail, SMTP: &vigil.SMTPConfig{}}
	}
	if d.Channel.SMTP == nil {
		d.Channel.SMTP = &vigil.SMTPConfig{}
	}
	if d.Sub == nil {
		d.Sub = &vigil.Subscription{Mine: true}
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "notifications.html", h.newPage(r, "Notifications", "notifications", d))
}

func (h *Handler) channelCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	c := &vigil.Channel{Name: f.Get("name"), Kind: vigil.ChannelKind(f.Get("kind")), URL: strings.TrimSpace(f.Get("url")),
		TLP: vigil.TLP(f.Get("tlp")), Escalation: f.Get("escalation") == "on", Enabled: true}
	if c.Kind == vigil.ChannelEmail {
		port, _ := strconv.Atoi(f.Get("smtp_port"))
		c.SMTP = &vigil.SMTPConfig{Host: f.Get("smtp_host"), Port: port, Security: f.Get("smtp_security"), Username: f.Get("smtp_username"),
			Password: f.Get("smtp_password"), From: f.Get("smtp_from"), To: splitList(f.Get("smtp_to"))}
	}
	if err := h.Services.Notify.CreateChannel(r.Context(), c); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			if c.SMTP != nil {
				c.SMTP.Password = ""
			}
			return h.renderNotifications(w, r, statusInvalid, &notificationsData{Channel: c, Errors: fieldErrors(err)})
		}
		return err
	}
	if c.Kind == vigil.ChannelWebhook {
		// The signing secret is shown on this answer only.
		return h.renderNotifications(w, r, http.StatusCreated, &notificationsData{Created: c})
	}
	h.redirect(w, r, "/notifications", "Channel "+c.Name+" added. Send it a test to check it works.")
	return nil
}

func (h *Handler) channelAction(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("cid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	flash := ""
	switch r.PathValue("action") {
	case "test":
		_, err = h.Services.Notify.TestChannel(r.Context(), id)
		flash = "Test queued: see the delivery log below."
	case "delete":
		err = h.Services.Notify.DeleteChannel(r.Context(), id)
		flash = "Channel removed."
	default:
		err = vigil.Errorf(vigil.ENOTFOUND, "Not found.")
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/notifications", flash)
	return nil
}

func (h *Handler) subscriptionCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	cid, _ := strconv.ParseInt(f.Get("channel_id"), 10, 64)
	sub := &vigil.Subscription{ChannelID: cid, MinSeverity: vigil.Severity(f.Get("min_severity")), Mine: f.Get("mine") == "on",
		To: splitList(f.Get("to"))}
	for _, e := range f["events"] {
		sub.Events = append(sub.Events, vigil.EventKind(e))
	}
	if err := h.Services.Notify.CreateSubscription(r.Context(), sub); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return h.renderNotifications(w, r, statusInvalid, &notificationsData{Sub: sub, Errors: fieldErrors(err)})
		}
		return err
	}
	h.redirect(w, r, "/notifications", "Subscribed.")
	return nil
}

func (h *Handler) subscriptionDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("sid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		err = h.Services.Notify.DeleteSubscription(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/notifications", "Unsubscribed.")
	return nil
}

func (h *Handler) deliveryRetry(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("did"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		_, err = h.Services.Notify.RetryDelivery(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/notifications", "Delivery queued again.")
	return nil
}
