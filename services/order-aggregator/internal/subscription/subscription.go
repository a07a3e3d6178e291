// Package subscription calls the subscription service's internal API through
// Dapr service invocation (docs/saga.md, "Internal APIs"): the plan being
// ordered, whether a user is already entitled, and what became of a paid
// order (a subscription or a refusal).
package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/sidecar"
	subscriptionv1 "tenflix/proto/subscription/v1"
	"tenflix/services/order-aggregator/internal/remote"
)

// DefaultAppID is the subscription service's Dapr app id.
const DefaultAppID = "subscription"

// Documents may gain fields before this client knows them.
var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

// Client invokes the subscription service through the sidecar.
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

// Plan reads a plan; a missing one is a 404 *remote.Refusal.
func (c *Client) Plan(ctx context.Context, id string) (*subscriptionv1.Plan, error) {
	b, err := c.dapr.Invoke(ctx, http.MethodGet, c.appID, "/internal/plans/"+url.PathEscape(id), "", nil)
	if err != nil {
		return nil, remote.Classify(c.appID, err)
	}
	p := &subscriptionv1.Plan{}
	if err := decode.Unmarshal(b, p); err != nil {
		return nil, remote.BadAnswer(c.appID, err)
	}
	return p, nil
}

// Entitled reports whether the user holds a subscription that entitles them
// now. An answer without "entitled" is no answer: the caller fails closed.
func (c *Client) Entitled(ctx context.Context, userID string) (bool, error) {
	b, err := c.dapr.Invoke(ctx, http.MethodGet, c.appID, "/internal/entitlements/"+url.PathEscape(userID), "", nil)
	if err != nil {
		return false, remote.Classify(c.appID, err)
	}
	var answer struct {
		Entitled *bool `json:"entitled"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return false, remote.BadAnswer(c.appID, err)
	}
	if answer.Entitled == nil {
		return false, remote.BadAnswer(c.appID, errors.New(`no "entitled" in the answer`))
	}
	return *answer.Entitled, nil
}

// Outcome is what the subscription service made of a paid order: the
// subscription it granted or its refusal (exactly one is set). Neither yet
// is a 404 *remote.Refusal.
func (c *Client) Outcome(ctx context.Context, orderID string) (*subscriptionv1.Subscription, *subscriptionv1.Refusal, error) {
	b, err := c.dapr.Invoke(ctx, http.MethodGet, c.appID, "/internal/orders/"+url.PathEscape(orderID)+"/subscription", "", nil)
	if err != nil {
		return nil, nil, remote.Classify(c.appID, err)
	}
	var answer struct {
		Subscription json.RawMessage `json:"subscription"`
		Refusal      json.RawMessage `json:"refusal"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return nil, nil, remote.BadAnswer(c.appID, err)
	}
	switch {
	case present(answer.Subscription):
		s := &subscriptionv1.Subscription{}
		if err := decode.Unmarshal(answer.Subscription, s); err != nil {
			return nil, nil, remote.BadAnswer(c.appID, err)
		}
		return s, nil, nil
	case present(answer.Refusal):
		r := &subscriptionv1.Refusal{}
		if err := decode.Unmarshal(answer.Refusal, r); err != nil {
			return nil, nil, remote.BadAnswer(c.appID, err)
		}
		return nil, r, nil
	}
	return nil, nil, remote.BadAnswer(c.appID, errors.New("neither a subscription nor a refusal in the answer"))
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}
