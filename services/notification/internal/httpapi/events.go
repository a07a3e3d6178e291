package httpapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/subscriber"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"

	catalogv1 "tenflix/proto/catalog/v1"
	identityv1 "tenflix/proto/identity/v1"
	orderv1 "tenflix/proto/order/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
)

// deliveryTimeout bounds one event's work, within the sidecar's delivery
// timeout (dapr/resiliency: 30 s): a hung database makes a retry, not a
// partition held. No handler does more than a few statements: a movie's
// fan-out is a job, run after the event is acknowledged.
const deliveryTimeout = 20 * time.Second

// userRegistered keeps the new user as a recipient.
func (h *handlers) userRegistered(ctx context.Context, ev subscriber.Event) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	if ev.Type != identityv1.EventUserRegistered {
		return subscriber.Drop("unexpected event type %q", ev.Type)
	}
	var u identityv1.UserRegistered
	if err := decode(ev, &u); err != nil {
		return err
	}
	if u.Id == "" {
		return subscriber.Drop("event %s: no user id", ev.Type)
	}
	at, _ := time.Parse(time.RFC3339Nano, u.RegisteredAt)
	return h.d.App.RecordUser(ctx, app.User{ID: u.Id, Email: u.Email, Name: u.Name, RegisteredAt: at})
}

// catalogEvent applies movie and video changes (the subscription routes
// only those types here); whichever makes a flagged movie playable
// announces it.
func (h *handlers) catalogEvent(ctx context.Context, ev subscriber.Event) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	aggregate, action, ok := catalogv1.ParseEventType(ev.Type)
	if !ok || !oneOf(action, catalogv1.ActionCreated, catalogv1.ActionUpdated, catalogv1.ActionDeleted) {
		return subscriber.Drop("unexpected event type %q", ev.Type)
	}
	deleted := action == catalogv1.ActionDeleted
	var announced bool
	var err error
	switch aggregate {
	case catalogv1.AggregateMovie:
		var m catalogv1.Movie
		if err := decode(ev, &m); err != nil {
			return err
		}
		if m.Id == "" || m.Version <= 0 {
			return subscriber.Drop("event %s: movie without id or version", ev.Type)
		}
		announced, err = h.d.App.ApplyMovie(ctx, app.Movie{ID: m.Id, Version: m.Version, Name: m.Name,
			Synopsis: m.Synopsis, Notify: m.Notify, Deleted: deleted || m.Deleted})
	case catalogv1.AggregateVideo:
		var v catalogv1.Video
		if err := decode(ev, &v); err != nil {
			return err
		}
		if v.Id == "" || v.MovieId == "" || v.Version <= 0 {
			return subscriber.Drop("event %s: video without id, movieId or version", ev.Type)
		}
		announced, err = h.d.App.ApplyVideo(ctx, app.Video{ID: v.Id, MovieID: v.MovieId, Version: v.Version,
			Status: v.Status, Deleted: deleted || v.Deleted})
	default:
		return subscriber.Drop("unexpected event type %q", ev.Type)
	}
	if err != nil {
		return err
	}
	if announced {
		h.log.InfoContext(ctx, "movie announced: fan-out queued", "event_type", ev.Type)
	}
	return nil
}

// subscriptionGranted tells the buyer their plan is active.
func (h *handlers) subscriptionGranted(ctx context.Context, ev subscriber.Event) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	if ev.Type != subscriptionv1.EventGranted {
		return subscriber.Drop("unexpected event type %q", ev.Type)
	}
	var s subscriptionv1.Subscription
	if err := decode(ev, &s); err != nil {
		return err
	}
	if s.UserId == "" || s.OrderId == "" {
		return subscriber.Drop("event %s: subscription without userId or orderId", ev.Type)
	}
	end, _ := time.Parse(time.RFC3339Nano, s.EndAt)
	_, err := h.d.App.NotifyUser(ctx, s.UserId, inbox.SubscriptionGranted(s.OrderId, s.PlanName, end))
	return err
}

// orderOutcome tells the buyer how an order ended badly: cancelled,
// refunded, or a refund that needs a person.
func (h *handlers) orderOutcome(ctx context.Context, ev subscriber.Event) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	var o orderv1.Order
	if err := decode(ev, &o); err != nil {
		return err
	}
	if o.Id == "" || o.UserId == "" {
		return subscriber.Drop("event %s: order without id or userId", ev.Type)
	}
	plan := o.GetPlan().GetName()
	var n inbox.Notice
	switch ev.Type {
	case orderv1.EventCancelled:
		n = inbox.OrderCancelled(o.Id, plan, o.Reason)
	case orderv1.EventRefunded:
		n = inbox.OrderRefunded(o.Id, plan, o.Reason)
	case orderv1.EventRefundFailed:
		n = inbox.OrderRefundFailed(o.Id, plan, o.Reason)
	default:
		return subscriber.Drop("unexpected event type %q", ev.Type)
	}
	_, err := h.d.App.NotifyUser(ctx, o.UserId, n)
	return err
}

var unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

// decode reads the event's data into msg; what can never decode is dropped.
func decode(ev subscriber.Event, msg proto.Message) error {
	data, err := ev.Payload()
	if err != nil {
		return subscriber.Drop("event %s: %v", ev.Type, err)
	}
	if err := unmarshal.Unmarshal(data, msg); err != nil {
		return subscriber.Drop("event %s: undecodable data: %v", ev.Type, err)
	}
	return nil
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}
