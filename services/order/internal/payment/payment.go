// Package payment calls the payment service through Dapr service invocation
// on the order service's own sidecar.
package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/sidecar"
	"tenflix/services/order/internal/app"

	paymentv1 "tenflix/proto/payment/v1"
)

// AppID is the payment service's Dapr app id.
const AppID = "payment"

// Client invokes payment through the sidecar (app.Payments).
type Client struct {
	dapr *sidecar.Client
}

// New returns a client that invokes payment through dapr.
func New(dapr *sidecar.Client) *Client { return &Client{dapr: dapr} }

var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// Sync makes payment ask Midtrans about the order's transaction
// (POST /internal/payments/{orderId}/sync) and returns the payment as
// payment recorded it. payment's 404 (not_found: it holds no payment for the
// order) is app.ErrNoPayment.
func (c *Client) Sync(ctx context.Context, orderID string) (*paymentv1.Payment, error) {
	var raw json.RawMessage // a protojson Payment: int64 fields are strings
	err := c.dapr.InvokeJSON(ctx, http.MethodPost, AppID, "/internal/payments/"+url.PathEscape(orderID)+"/sync", nil, &raw)
	var apiErr *sidecar.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && apiErr.Code() == "not_found" {
		return nil, fmt.Errorf("payment of order %s: %w", orderID, app.ErrNoPayment)
	}
	if err != nil {
		return nil, fmt.Errorf("sync payment of order %s: %w", orderID, err)
	}
	p := &paymentv1.Payment{}
	if err := decode.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("sync payment of order %s: decode answer: %w", orderID, err)
	}
	return p, nil
}
