// Package order calls the order service's internal API through Dapr service
// invocation (docs/saga.md, "Internal APIs"): create, cancel and read orders,
// a user's history, the orders not yet final, and an admin's manual refund.
package order

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/sidecar"
	orderv1 "tenflix/proto/order/v1"
	"tenflix/services/order-aggregator/internal/remote"
)

// DefaultAppID is the order service's Dapr app id.
const DefaultAppID = "order"

// Documents may gain fields before this client knows them.
var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// Client invokes the order service through the sidecar.
type Client struct {
	dapr  *sidecar.Client
	appID string
}

// New returns a client of app appID (DefaultAppID when empty).
func New(dapr *sidecar.Client, appID string) *Client {
	if appID == "" {
		appID = DefaultAppID
	}
	return &Client{dapr: dapr, appID: appID}
}

// Create stores a new PENDING order and returns it as stored. A user's second
// open order is refused with code order_pending.
func (c *Client) Create(ctx context.Context, o *orderv1.Order) (*orderv1.Order, error) {
	body, err := protojson.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode order: %w", err)
	}
	return c.orderCall(ctx, http.MethodPost, "/internal/orders", body)
}

// Cancel cancels a PENDING order (409 otherwise).
func (c *Client) Cancel(ctx context.Context, id, reason string) error {
	body, err := json.Marshal(map[string]string{"reason": reason})
	if err != nil {
		return err
	}
	_, err = c.orderCall(ctx, http.MethodPost, "/internal/orders/"+url.PathEscape(id)+"/cancel", body)
	return err
}

// Get reads an order; a missing one is a 404 *remote.Refusal.
func (c *Client) Get(ctx context.Context, id string) (*orderv1.Order, error) {
	return c.orderCall(ctx, http.MethodGet, "/internal/orders/"+url.PathEscape(id), nil)
}

// MarkRefunded records an admin's refund by hand of a REFUND_FAILED order
// (409 otherwise); by is the admin's user id.
func (c *Client) MarkRefunded(ctx context.Context, id, note, by string) (*orderv1.Order, error) {
	body, err := json.Marshal(map[string]string{"note": note, "by": by})
	if err != nil {
		return nil, err
	}
	return c.orderCall(ctx, http.MethodPost, "/internal/orders/"+url.PathEscape(id)+"/mark-refunded", body)
}

// List is one page of a user's orders, newest first, and how many there are.
func (c *Client) List(ctx context.Context, userID string, page, size int) ([]*orderv1.Order, int, error) {
	q := url.Values{"userId": {userID}, "page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	b, err := c.dapr.Invoke(ctx, http.MethodGet, c.appID, "/internal/orders?"+q.Encode(), "", nil)
	if err != nil {
		return nil, 0, remote.Classify(c.appID, err)
	}
	var answer struct {
		Items []json.RawMessage `json:"items"`
		Total flexInt           `json:"total"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, 0, remote.BadAnswer(c.appID, err)
	}
	items, err := c.decodeAll(answer.Items)
	if err != nil {
		return nil, 0, err
	}
	return items, int(answer.Total), nil
}

// Stuck lists the orders not final whose last step is older than olderThan,
// oldest first.
func (c *Client) Stuck(ctx context.Context, olderThan time.Duration) ([]*orderv1.Order, error) {
	q := url.Values{"olderThan": {olderThan.String()}}
	b, err := c.dapr.Invoke(ctx, http.MethodGet, c.appID, "/internal/orders/stuck?"+q.Encode(), "", nil)
	if err != nil {
		return nil, remote.Classify(c.appID, err)
	}
	var answer struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, remote.BadAnswer(c.appID, err)
	}
	return c.decodeAll(answer.Items)
}

// orderCall invokes a route that answers one Order (body nil: none sent).
func (c *Client) orderCall(ctx context.Context, verb, path string, body []byte) (*orderv1.Order, error) {
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	b, err := c.dapr.Invoke(ctx, verb, c.appID, path, contentType, body)
	if err != nil {
		return nil, remote.Classify(c.appID, err)
	}
	o := &orderv1.Order{}
	if err := decode.Unmarshal(b, o); err != nil {
		return nil, remote.BadAnswer(c.appID, err)
	}
	return o, nil
}

func (c *Client) decodeAll(raw []json.RawMessage) ([]*orderv1.Order, error) {
	items := make([]*orderv1.Order, 0, len(raw))
	for _, r := range raw {
		o := &orderv1.Order{}
		if err := decode.Unmarshal(r, o); err != nil {
			return nil, remote.BadAnswer(c.appID, err)
		}
		items = append(items, o)
	}
	return items, nil
}

// flexInt reads a count written as a JSON number or, protojson's way for
// int64, as a string of digits: the page's envelope is plain JSON by the
// contract, but a writer that reuses protojson habits must not break it.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("count %s: %w", b, err)
	}
	*n = flexInt(v)
	return nil
}
