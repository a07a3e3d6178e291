package httpapi

import (
	"context"
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
		return subscriber.Drop("unexpected event type %q", ev.Type)
	}
	data, err := ev.Payload()
	if err != nil {
		return subscriber.Drop("event %s: %v", ev.Type, err)
	}
	var order orderv1.Order
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &order); err != nil {
		return subscriber.Drop("event %s: undecodable order: %v", ev.Type, err)
	}
	if order.Status != orderv1.StatusPaid {
		return subscriber.Drop("event %s: order %s is %s, not PAID", ev.Type, order.Id, order.Status)
	}
	d, err := h.app.GrantOrder(ctx, &order)
	if errors.Is(err, subscription.ErrMalformedOrder) {
		return subscriber.Drop("event %s: %v", ev.Type, err)
	}
	if err != nil {
		return fmt.Errorf("order %s: %w", order.Id, err)
	}
	h.log.InfoContext(ctx, "paid order handled", "order_id", order.Id, "user_id", order.UserId,
		"action", d.Action.String(), "reason", d.Reason)
	return nil
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
