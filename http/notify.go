package http

import (
	"net/http"

	"github.com/vigil-ir/vigil"
)

// ChannelList is the notification channels.
type ChannelList struct {
	Channels []*vigil.Channel `json:"channels"`
}

// SubscriptionList is the actor's subscriptions (an admin's: all).
type SubscriptionList struct {
	Subscriptions []*vigil.Subscription `json:"subscriptions"`
	Events        []vigil.EventKind     `json:"events"` // what may be subscribed to
}

// DeliveryList is a page of the delivery log, newest first.
type DeliveryList struct {
	Deliveries []*vigil.Delivery `json:"deliveries"`
	// NextBefore is the before_id of the next (older) page; 0 at the end.
	NextBefore int64 `json:"next_before"`
}

// ChannelUpdate replaces a channel's settings.
type ChannelUpdate struct {
	vigil.Channel
	// RotateSecret makes a new webhook signing secret, returned once.
	RotateSecret bool `json:"rotate_secret"`
}

func (s *Server) handleChannelList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Notify.FindChannels(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, ChannelList{Channels: list})
	return nil
}

func (s *Server) handleChannelCreate(w http.ResponseWriter, r *http.Request) error {
	var c vigil.Channel
	if err := s.decode(w, r, &c); err != nil {
		return err
	}
	c.ID = 0
	if err := s.Services.Notify.CreateChannel(r.Context(), &c); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &c)
	return nil
}

func (s *Server) handleChannelView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := s.Services.Notify.FindChannelByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, c)
	return nil
}

func (s *Server) handleChannelUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var u ChannelUpdate
	if err := s.decode(w, r, &u); err != nil {
		return err
	}
	u.Channel.ID = id
	if err := s.Services.Notify.UpdateChannel(r.Context(), &u.Channel, u.RotateSecret); err != nil {
		return err
	}
	s.json(w, http.StatusOK, &u.Channel)
	return nil
}

func (s *Server) handleChannelDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Notify.DeleteChannel(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleChannelTest(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.Services.Notify.TestChannel(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusAccepted, d)
	return nil
}

func (s *Server) handleSubscriptionList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Notify.FindSubscriptions(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, SubscriptionList{Subscriptions: list, Events: vigil.EventKinds})
	return nil
}

func (s *Server) handleSubscriptionCreate(w http.ResponseWriter, r *http.Request) error {
	var sub vigil.Subscription
	if err := s.decode(w, r, &sub); err != nil {
		return err
	}
	sub.ID = 0
	if err := s.Services.Notify.CreateSubscription(r.Context(), &sub); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, &sub)
	return nil
}

func (s *Server) handleSubscriptionDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Notify.DeleteSubscription(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleDeliveryList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "channel_id", "incident_id", "status", "before_id", "limit")
	f := vigil.DeliveryFilter{
		ChannelID:  int64(q.int("channel_id", 0)),
		IncidentID: int64(q.int("incident_id", 0)),
		Status:     vigil.DeliveryStatus(q.str("status")),
		BeforeID:   int64(q.int("before_id", 0)),
		Limit:      q.int("limit", 50),
	}
	if f.Limit < 1 || f.Limit > vigil.MaxPageSize {
		q.p.Add("limit", "Between 1 and %d.", vigil.MaxPageSize)
	}
	switch f.Status {
	case "", vigil.DeliveryPending, vigil.DeliveryRetrying, vigil.DeliverySent, vigil.DeliveryFailed:
	default:
		q.p.Add("status", "One of pending, retrying, sent or failed.")
	}
	if err := q.err(); err != nil {
		return err
	}
	list, err := s.Services.Notify.FindDeliveries(r.Context(), f)
	if err != nil {
		return err
	}
	out := DeliveryList{Deliveries: list}
	if len(list) == f.Limit {
		out.NextBefore = list[len(list)-1].ID
	}
	s.json(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleDeliveryRetry(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.Services.Notify.RetryDelivery(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusAccepted, d)
	return nil
}
