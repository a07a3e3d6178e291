package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The demo viewer: a user whose subscription was bought through the saga
// (order -> payment -> Midtrans emulator -> subscription), so that a
// newcomer can sign in and watch. Local demo credentials, printed at the end.
const (
	demoEmail    = "demo@tenflix.local"
	demoPassword = "tenflix-demo-password"
	demoPlan     = "Standard"
	// Four outbox hops of about a second each, on a busy machine.
	sagaWait = 2 * time.Minute
)

// seedDemoViewer registers the viewer and buys a subscription unless it has
// an active one; an order already in flight is paid rather than duplicated.
func seedDemoViewer(ctx context.Context, c *client, midtrans string, stdout io.Writer) error {
	err := c.do(ctx, http.MethodPost, "/api/v1/auth/register",
		map[string]string{"email": demoEmail, "password": demoPassword, "name": "Demo Viewer"}, http.StatusCreated, nil)
	if err != nil && !strings.Contains(err.Error(), "status 409") {
		return fmt.Errorf("register the demo viewer: %w", err)
	}
	v := &client{base: c.base, http: c.http}
	if err := v.signIn(ctx, demoEmail, demoPassword); err != nil {
		return fmt.Errorf("%w (the demo viewer's password was changed?)", err)
	}
	var sub struct{ Status, PlanName, EndAt string }
	err = v.do(ctx, http.MethodGet, "/api/v1/subscription/me", nil, http.StatusOK, &sub)
	if err == nil && sub.Status == "ACTIVE" {
		fmt.Fprintf(stdout, "demo viewer already subscribed (%s until %s)\n", sub.PlanName, sub.EndAt)
		return nil
	}
	if err != nil && !strings.Contains(err.Error(), "status 404") {
		return err
	}
	orderID, err := demoOrder(ctx, v)
	if err != nil {
		return err
	}
	if err := settle(ctx, midtrans, orderID); err != nil {
		return err
	}
	status, err := waitOrder(ctx, v, orderID)
	if err != nil {
		return err
	}
	if status != "COMPLETED" {
		return fmt.Errorf("the demo viewer's order %s ended %s", orderID, status)
	}
	fmt.Fprintf(stdout, "demo viewer subscribed to %s (order %s paid on the Midtrans emulator)\n", demoPlan, orderID)
	return nil
}

// demoOrder is the viewer's order in flight, or a new one for demoPlan.
func demoOrder(ctx context.Context, v *client) (string, error) {
	var orders struct{ Items []struct{ ID, Status string } }
	if err := v.do(ctx, http.MethodGet, "/api/v1/orders?size=20", nil, http.StatusOK, &orders); err != nil {
		return "", err
	}
	for _, o := range orders.Items {
		if o.Status == "PENDING" || o.Status == "PAID" {
			return o.ID, nil
		}
	}
	var plans struct{ Items []struct{ ID, Name string } }
	if err := v.do(ctx, http.MethodGet, "/api/v1/subscription/plans", nil, http.StatusOK, &plans); err != nil {
		return "", err
	}
	i := slices.IndexFunc(plans.Items, func(p struct{ ID, Name string }) bool { return p.Name == demoPlan })
	if i < 0 {
		return "", fmt.Errorf("no active plan named %q for the demo viewer", demoPlan)
	}
	var created struct{ Order struct{ ID string } }
	if err := v.do(ctx, http.MethodPost, "/api/v1/orders", map[string]string{"planId": plans.Items[i].ID}, http.StatusCreated, &created); err != nil {
		return "", err
	}
	return created.Order.ID, nil
}

// settle plays the customer paying on the emulator's Snap page (GoPay,
// settled): the emulator sends its signed notification to the webhook.
func settle(ctx context.Context, midtrans, orderID string) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Get(midtrans + "/emulator/healthz")
	if err != nil {
		return fmt.Errorf("the demo subscription is paid on the Midtrans emulator, not reachable at %s (with Midtrans' sandbox, sign in as %s and pay order %s on its page): %w", midtrans, demoEmail, orderID, err)
	}
	resp.Body.Close()
	body, _ := json.Marshal(map[string]string{"transaction_status": "settlement", "payment_type": "gopay"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, midtrans+"/simulate/"+url.PathEscape(orderID), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		return fmt.Errorf("pay order %s on the emulator: %w", orderID, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	// 412: already settled by an earlier run; the saga goes on from there.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPreconditionFailed {
		return fmt.Errorf("pay order %s on the emulator: %d %s", orderID, resp.StatusCode, b)
	}
	return nil
}

func waitOrder(ctx context.Context, v *client, orderID string) (string, error) {
	deadline := time.Now().Add(sagaWait)
	for {
		var d struct {
			Order struct{ Status, Reason string }
		}
		if err := v.do(ctx, http.MethodGet, "/api/v1/orders/"+orderID, nil, http.StatusOK, &d); err != nil {
			return "", err
		}
		switch d.Order.Status {
		case "COMPLETED", "CANCELLED", "REFUNDED", "REFUND_FAILED":
			if d.Order.Reason != "" {
				return d.Order.Status + " (" + d.Order.Reason + ")", nil
			}
			return d.Order.Status, nil
		}
		if time.Now().After(deadline) {
			return "", errors.New("the demo viewer's order " + orderID + " is still " + d.Order.Status + " after " + sagaWait.String())
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
