package httpapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/subscriber"
	"tenflix/services/payment/internal/app"

	orderv1 "tenflix/proto/order/v1"
)

// deliveryTimeout bounds the work of one event (a Midtrans status check, a
// refund, and the state writes), within the sidecar's delivery timeout: a
// hung Midtrans turns into a redelivery instead of holding the partition.
const deliveryTimeout = 20 * time.Second

// refundRequested handles tenflix.order.refund-requested.v1 (data: the
// Order): refund the order's payment. What can never succeed (malformed,
// no payment, a cancelled payment, an amount Midtrans disagrees with) is
// dropped to the dead-letter topic; the rest (Midtrans down, not paid yet,
// a write conflict) is redelivered, which the refund key makes safe.
func refundRequested(p Payments) subscriber.Handler {
	return func(ctx context.Context, ev subscriber.Event) error {
		ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
		defer cancel()
		if ev.Type != orderv1.EventRefundRequested {
			return subscriber.Drop("unexpected event type %q", ev.Type)
		}
		data, err := ev.Payload()
		if err != nil {
			return subscriber.Drop("%v", err)
		}
		var order orderv1.Order
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &order); err != nil {
			return subscriber.Drop("undecodable order: %v", err)
		}
		if order.GetId() == "" || !order.GetRefundRequested() {
			return subscriber.Drop("order %q does not ask for a refund", order.GetId())
		}
		_, err = p.Refund(ctx, order.GetId(), order.GetReason())
		if errors.Is(err, app.ErrNotFound) || errors.Is(err, app.ErrNotRefundable) || errors.Is(err, app.ErrAmountMismatch) {
			return fmt.Errorf("%w: %w", subscriber.ErrDrop, err)
		}
		return err
	}
}
