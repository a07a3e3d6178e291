package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
			return drop("unexpected event type %q", ev.Type)
		}
		data, err := eventData(ev)
		if err != nil {
			return drop("%v", err)
		}
		var order orderv1.Order
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &order); err != nil {
			return drop("undecodable order: %v", err)
		}
		if order.GetId() == "" || !order.GetRefundRequested() {
			return drop("order %q does not ask for a refund", order.GetId())
		}
		_, err = p.Refund(ctx, order.GetId(), order.GetReason())
		if errors.Is(err, app.ErrNotFound) || errors.Is(err, app.ErrNotRefundable) || errors.Is(err, app.ErrAmountMismatch) {
			return fmt.Errorf("%w: %w", subscriber.ErrDrop, err)
		}
		return err
	}
}

// eventData extracts the JSON payload of a CloudEvent: `data` as a JSON
// object, `data` as a JSON string holding JSON, or base64 in `data_base64`.
func eventData(ev subscriber.Event) ([]byte, error) {
	if ev.DataBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(ev.DataBase64)
		if err != nil {
			return nil, fmt.Errorf("data_base64 is not base64: %w", err)
		}
		return b, nil
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, errors.New("no data")
	}
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("data is not a JSON string: %w", err)
		}
		return []byte(s), nil
	}
	return data, nil
}

func drop(format string, args ...any) error {
	return fmt.Errorf("%w: %s", subscriber.ErrDrop, fmt.Sprintf(format, args...))
}
