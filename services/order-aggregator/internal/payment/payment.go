// Package payment calls the payment service's internal API through Dapr
// service invocation (docs/saga.md, "Internal APIs"): start an order's
// Midtrans Snap transaction, read its payment, and hand it Midtrans'
// notifications.
package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/sidecar"
	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	"tenflix/services/order-aggregator/internal/remote"
)

// DefaultAppID is the payment service's Dapr app id.
const DefaultAppID = "payment"

// Documents may gain fields before this client knows them.
var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// Client invokes the payment service through the sidecar.
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

// request is the body of POST /internal/payments (plain JSON: amounts are
// numbers here).
type request struct {
	OrderID  string   `json:"orderId"`
	UserID   string   `json:"userId"`
	Amount   int64    `json:"amount"`
	Item     item     `json:"item"`
	Customer customer `json:"customer"`
}

type item struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

type customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Create starts the Snap transaction of an order: the plan is its one item,
// at the order's price, so that the items add up to the amount as Midtrans
// requires. Asking again for the same order answers the same payment.
func (c *Client) Create(ctx context.Context, o *orderv1.Order) (*paymentv1.Payment, error) {
	body, err := json.Marshal(request{
		OrderID:  o.GetId(),
		UserID:   o.GetUserId(),
		Amount:   o.GetPrice(),
		Item:     item{ID: o.GetPlan().GetId(), Name: o.GetPlan().GetName(), Price: o.GetPrice()},
		Customer: customer{Name: o.GetCustomer().GetName(), Email: o.GetCustomer().GetEmail()},
	})
	if err != nil {
		return nil, fmt.Errorf("encode payment request: %w", err)
	}
	return c.paymentCall(ctx, http.MethodPost, "/internal/payments", body)
}

// Get reads the payment of an order; none yet is a 404 *remote.Refusal.
func (c *Client) Get(ctx context.Context, orderID string) (*paymentv1.Payment, error) {
	return c.paymentCall(ctx, http.MethodGet, "/internal/payments/"+url.PathEscape(orderID), nil)
}

// Notify hands a Midtrans notification, exactly as received, to the payment
// service, which verifies its signature and confirms it with Midtrans.
func (c *Client) Notify(ctx context.Context, notification []byte) error {
	_, err := c.dapr.Invoke(ctx, http.MethodPost, c.appID, "/internal/notifications", "application/json", notification)
	return remote.Classify(c.appID, err)
}

func (c *Client) paymentCall(ctx context.Context, verb, path string, body []byte) (*paymentv1.Payment, error) {
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	b, err := c.dapr.Invoke(ctx, verb, c.appID, path, contentType, body)
	if err != nil {
		return nil, remote.Classify(c.appID, err)
	}
	p := &paymentv1.Payment{}
	if err := decode.Unmarshal(b, p); err != nil {
		return nil, remote.BadAnswer(c.appID, err)
	}
	return p, nil
}
