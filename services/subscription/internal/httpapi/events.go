package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/httpserver"
	"tenflix/platform/subscriber"
	"tenflix/services/subscription/internal/subscription"

	orderv1 "tenflix/proto/order/v1"
)

// deliveryTimeout bounds the work of one event: a hung store turns into a
// retry after this long, within the sidecar's own delivery timeout, instead
// of holding the delivery (and its partition) indefinitely.
const deliveryTimeout = 20 * time.Second

// orderPaid grants (or refuses) the paid order of an order.paid event.
// Events that can never apply (another type, undecodable data, an order that
// is not PAID or lacks its ids) are dropped, to the dead-letter topic; any
// other failure is redelivered.
func (h *handlers) orderPaid(ctx context.Context, ev subscriber.Event) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	if ev.Type != orderv1.EventPaid {
		return drop("unexpected event type %q", ev.Type)
	}
	data, err := eventData(ev)
	if err != nil {
		return drop("event %s: %v", ev.Type, err)
	}
	var order orderv1.Order
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &order); err != nil {
		return drop("event %s: undecodable order: %v", ev.Type, err)
	}
	if order.Status != orderv1.StatusPaid {
		return drop("event %s: order %s is %s, not PAID", ev.Type, order.Id, order.Status)
	}
	d, err := h.app.GrantOrder(ctx, &order)
	if errors.Is(err, subscription.ErrMalformedOrder) {
		return drop("event %s: %v", ev.Type, err)
	}
	if err != nil {
		return fmt.Errorf("order %s: %w", order.Id, err)
	}
	h.log.InfoContext(ctx, "paid order handled", "order_id", order.Id, "user_id", order.UserId,
		"action", d.Action.String(), "reason", d.Reason)
	return nil
}

// eventData extracts the JSON payload of a CloudEvent: `data` as a JSON
// object, `data` as a JSON string holding JSON (some publishers send it so),
// or base64 in `data_base64`.
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

// expire is the cron binding's run: one batch of ended subscriptions marked
// EXPIRED. Failures of single subscriptions are counted in the report and
// left for the next run.
func (h *handlers) expire(c *gin.Context) {
	rep, err := h.app.ExpireDue(c)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
