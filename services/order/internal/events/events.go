// Package events turns the saga events the order service subscribes to
// (topic "payments": Payment documents; topic "subscriptions": Subscription
// and Refusal documents) into changes of the order they name. It decides
// what an event means and whether it can ever apply; the app's update
// routine and the rules of internal/orders make applying it safe.
//
// An event is dropped (subscriber.ErrDrop: the subscription's dead-letter
// topic keeps it for a look) only when it can never apply:
//   - its type is not the one of its route, or its data does not decode or
//     names no order id;
//   - the order does not exist. This is not a race with the order's
//     creation: order-aggregator creates the payment only after the order's
//     201 (docs/saga.md: the order is committed before payment, and so
//     subscription, can know of it), so an event about an unknown order
//     will stay one. Dapr cannot retry an event a bounded number of times
//     per event without holding its partition meanwhile (the Kafka
//     component redelivers in place), so a retry would only delay every
//     event behind it;
//   - the order's state contradicts it (orders.ErrWrongState: a grant of a
//     refused order, a refund nobody asked for).
//
// Everything else that fails (the sidecar, the database, a write that kept
// losing its race) is returned as is: the event is redelivered.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/subscriber"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
)

// DeliveryTimeout bounds the work of one event, within the sidecar's own
// delivery timeout: a hung store turns into a retry instead of holding the
// partition.
const DeliveryTimeout = 20 * time.Second

// Orders applies a change to an order (app.App).
type Orders interface {
	Apply(ctx context.Context, id string, c orders.Change) (*orderv1.Order, orders.Result, error)
}

// Handlers are the subscription routes' handlers, one per event type.
type Handlers struct {
	orders Orders
	log    *slog.Logger
}

// New returns the handlers applying events to o.
func New(o Orders, log *slog.Logger) *Handlers { return &Handlers{orders: o, log: log} }

// PaymentRequested: payment created the Snap transaction.
func (h *Handlers) PaymentRequested(ctx context.Context, ev subscriber.Event) error {
	return h.payment(ctx, ev, paymentv1.EventRequested, func(*paymentv1.Payment) orders.Change {
		return orders.Change{Kind: orders.PaymentRequested}
	})
}

// PaymentPaid: Midtrans confirmed the money.
func (h *Handlers) PaymentPaid(ctx context.Context, ev subscriber.Event) error {
	return h.payment(ctx, ev, paymentv1.EventPaid, func(*paymentv1.Payment) orders.Change {
		return orders.Change{Kind: orders.Paid}
	})
}

// PaymentCancelled: the payment was cancelled, expired, denied or failed.
func (h *Handlers) PaymentCancelled(ctx context.Context, ev subscriber.Event) error {
	return h.payment(ctx, ev, paymentv1.EventCancelled, func(p *paymentv1.Payment) orders.Change {
		reason := p.GetReason()
		switch {
		case reason == "" && p.GetTransactionStatus() != "":
			reason = "payment-" + p.GetTransactionStatus() // expire, deny, cancel...
		case reason == "":
			reason = "payment-cancelled"
		}
		return orders.Change{Kind: orders.Cancelled, Reason: reason}
	})
}

// PaymentRefunded: the money went back.
func (h *Handlers) PaymentRefunded(ctx context.Context, ev subscriber.Event) error {
	return h.payment(ctx, ev, paymentv1.EventRefunded, func(*paymentv1.Payment) orders.Change {
		return orders.Change{Kind: orders.Refunded}
	})
}

// PaymentRefundFailed: Midtrans cannot refund it.
func (h *Handlers) PaymentRefundFailed(ctx context.Context, ev subscriber.Event) error {
	return h.payment(ctx, ev, paymentv1.EventRefundFailed, func(p *paymentv1.Payment) orders.Change {
		return orders.Change{Kind: orders.RefundFailed, Reason: p.GetReason()}
	})
}

// SubscriptionGranted: the paid order granted its subscription.
func (h *Handlers) SubscriptionGranted(ctx context.Context, ev subscriber.Event) error {
	s := &subscriptionv1.Subscription{}
	if err := decodeEvent(ev, subscriptionv1.EventGranted, s); err != nil {
		return err
	}
	id := s.GetOrderId()
	if id == "" {
		id = s.GetId() // a subscription's id is the order id that granted it
	}
	return h.apply(ctx, id, orders.Change{Kind: orders.Granted})
}

// SubscriptionRefused: the paid order cannot be granted; it is refunded.
func (h *Handlers) SubscriptionRefused(ctx context.Context, ev subscriber.Event) error {
	r := &subscriptionv1.Refusal{}
	if err := decodeEvent(ev, subscriptionv1.EventRefused, r); err != nil {
		return err
	}
	return h.apply(ctx, r.GetOrderId(), orders.Change{Kind: orders.Refused, Reason: r.GetReason()})
}

func (h *Handlers) payment(ctx context.Context, ev subscriber.Event, eventType string, change func(*paymentv1.Payment) orders.Change) error {
	p := &paymentv1.Payment{}
	if err := decodeEvent(ev, eventType, p); err != nil {
		return err
	}
	return h.apply(ctx, p.GetOrderId(), change(p))
}

func (h *Handlers) apply(ctx context.Context, orderID string, c orders.Change) error {
	if !orders.IsID(orderID) {
		return subscriber.Drop("order id %q is not an order id", orderID)
	}
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	o, res, err := h.orders.Apply(ctx, orderID, c)
	switch {
	case errors.Is(err, orders.ErrNotFound):
		return subscriber.Drop("order %s does not exist (it is created before its payment: it never will)", orderID)
	case errors.Is(err, orders.ErrWrongState):
		return fmt.Errorf("%w: %w", subscriber.ErrDrop, err)
	case err != nil:
		return err
	}
	h.log.InfoContext(ctx, "order event applied", "order_id", orderID, "change", string(c.Kind),
		"outcome", res.Outcome.String(), "published", res.EventType, "status", o.GetStatus(), "version", o.GetVersion())
	return nil
}

var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// decodeEvent checks that ev is of the route's type and decodes its data
// (protojson, ignoring fields newer producers add) into m.
func decodeEvent(ev subscriber.Event, eventType string, m proto.Message) error {
	if ev.Type != eventType {
		return subscriber.Drop("event type %q on the route of %q", ev.Type, eventType)
	}
	data, err := ev.Payload()
	if err != nil {
		return subscriber.Drop("event %s: %v", ev.Type, err)
	}
	if err := decode.Unmarshal(data, m); err != nil {
		return subscriber.Drop("event %s: undecodable data: %v", ev.Type, err)
	}
	return nil
}
