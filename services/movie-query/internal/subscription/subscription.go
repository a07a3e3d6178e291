// Package subscription asks the subscription service whether a user may
// watch, through Dapr service invocation on the service's own sidecar
// (dapr/config/subscription.yaml lets movie-query GET /internal/entitlements/**).
package subscription

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"tenflix/services/movie-query/internal/watching"
)

// AppID is the subscription service's Dapr app id.
const AppID = "subscription"

// DefaultTimeout bounds one entitlement check: a viewer waits for it before
// playback starts, and an answer that slow is taken as none (503).
const DefaultTimeout = 3 * time.Second

// Invoker is service invocation (sidecar.Client).
type Invoker interface {
	InvokeJSON(ctx context.Context, httpMethod, appID, method string, in, out any) error
}

// Client checks entitlements.
type Client struct {
	dapr    Invoker
	timeout time.Duration
}

// New returns a client invoking through dapr, each call bounded by timeout
// (DefaultTimeout when 0).
func New(dapr Invoker, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{dapr: dapr, timeout: timeout}
}

// entitlementBody is subscription's answer to GET /internal/entitlements/{userId}.
type entitlementBody struct {
	UserID       string          `json:"userId"`
	Entitled     *bool           `json:"entitled"`
	Subscription json.RawMessage `json:"subscription"` // Subscription, or null
}

// Entitlement asks whether userID may watch now. It fails closed: an error
// answer, a timeout, or an answer that is not clearly about this user wraps
// watching.ErrUnavailable, never an entitlement.
func (c *Client) Entitlement(ctx context.Context, userID string) (watching.Entitlement, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body entitlementBody
	if err := c.dapr.InvokeJSON(ctx, http.MethodGet, AppID, "/internal/entitlements/"+url.PathEscape(userID), nil, &body); err != nil {
		return watching.Entitlement{}, fmt.Errorf("%w: %v", watching.ErrUnavailable, err)
	}
	if body.Entitled == nil || body.UserID != userID {
		return watching.Entitlement{}, fmt.Errorf("%w: subscription answered for user %q, entitled %v", watching.ErrUnavailable, body.UserID, body.Entitled)
	}
	// subscription (as of issue 9) names a subscription only when it
	// entitles; one named beside entitled=false is one that has ended.
	sub := bytes.TrimSpace(body.Subscription)
	named := len(sub) > 0 && !bytes.Equal(sub, []byte("null"))
	return watching.Entitlement{Entitled: *body.Entitled, Lapsed: !*body.Entitled && named}, nil
}
