package e2e

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// Addresses of the saga's parts (dapr/dapr.yaml, tools/midtrans-emulator).
const (
	midtrans   = "http://127.0.0.1:8090"
	orderApp   = "http://127.0.0.1:7105"
	paymentApp = "http://127.0.0.1:7106"
	subApp     = "http://127.0.0.1:7107"
	// A saga is about four outbox hops of >= 1 s each.
	sagaTimeout = 60 * time.Second
)

type viewer struct {
	ID, Email, Token string
}

// newViewer registers a fresh account: each test its own user, so that one
// user's open order or subscription never leaks into another test.
func newViewer(t testing.TB) viewer {
	t.Helper()
	email := "buyer-" + randomHex(5) + "@tenflix.test"
	const password = "buyer-password-0123"
	r := call(t, http.MethodPost, gateway+"/api/v1/auth/register",
		map[string]string{"email": email, "password": password, "name": "Buyer " + email[6:11]})
	mustStatus(t, r, http.StatusCreated)
	tok, err := passwordGrant(email, password)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		ID string `json:"id"`
	}
	call(t, http.MethodGet, gateway+"/api/v1/auth/me", nil, "Authorization", "Bearer "+tok).json(t, &me)
	return viewer{ID: me.ID, Email: email, Token: tok}
}

func (v viewer) do(t testing.TB, method, path string, body any) response {
	t.Helper()
	return call(t, method, gateway+path, body, "Authorization", "Bearer "+v.Token)
}

func asAdmin(t testing.TB, method, path string, body any) response {
	t.Helper()
	return call(t, method, gateway+path, body, "Authorization", "Bearer "+stack.adminToken)
}

type plan struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Price         int64  `json:"price"`
	DiscountPrice *int64 `json:"discountPrice"`
	ActivePeriod  int    `json:"activePeriod"`
	Active        bool   `json:"active"`
}

func createPlan(t testing.TB, price, discount int64, days int) plan {
	t.Helper()
	in := map[string]any{"name": "Plan " + randomHex(4), "price": price, "description": "e2e", "activePeriod": days}
	if discount > 0 {
		in["discountPrice"] = discount
	}
	r := asAdmin(t, http.MethodPost, "/api/v1/subscription/plans", in)
	mustStatus(t, r, http.StatusCreated)
	var p plan
	r.json(t, &p)
	return p
}

type orderView struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	Price           int64  `json:"price"`
	Reason          string `json:"reason"`
	RefundRequested bool   `json:"refundRequested"`
	Plan            struct {
		ID string `json:"id"`
	} `json:"plan"`
}

type orderCreated struct {
	Order   orderView `json:"order"`
	Payment struct {
		Token       string `json:"token"`
		RedirectURL string `json:"redirectUrl"`
	} `json:"payment"`
}

type step struct {
	Step   string `json:"step"`
	At     string `json:"at"`
	Detail string `json:"detail"`
}

type orderDetail struct {
	Order        orderView       `json:"order"`
	Payment      json.RawMessage `json:"payment"`
	Subscription json.RawMessage `json:"subscription"`
	Timeline     []step          `json:"timeline"`
}

func (d orderDetail) steps() []string {
	var s []string
	for _, st := range d.Timeline {
		s = append(s, st.Step)
	}
	return s
}

func placeOrder(t testing.TB, v viewer, planID string) orderCreated {
	t.Helper()
	r := v.do(t, http.MethodPost, "/api/v1/orders", map[string]string{"planId": planID})
	mustStatus(t, r, http.StatusCreated)
	var o orderCreated
	r.json(t, &o)
	return o
}

func readOrder(t testing.TB, v viewer, id string) (orderDetail, response) {
	t.Helper()
	r := v.do(t, http.MethodGet, "/api/v1/orders/"+id, nil)
	var d orderDetail
	if r.Status == http.StatusOK {
		r.json(t, &d)
	}
	return d, r
}

// waitStatus waits until the order is in status; it fails at once when the
// order reaches another final status.
func waitStatus(t testing.TB, v viewer, id, status string) orderDetail {
	t.Helper()
	var d orderDetail
	eventually(t, sagaTimeout, "order "+id+" "+status, func() bool {
		d, _ = readOrder(t, v, id)
		if d.Order.Status != status && final(d.Order.Status) {
			t.Fatalf("order %s ended %s (want %s): %+v", id, d.Order.Status, status, d)
		}
		return d.Order.Status == status
	})
	return d
}

func final(status string) bool {
	return slices.Contains([]string{"COMPLETED", "CANCELLED", "REFUNDED", "REFUND_FAILED"}, status)
}

// pay tells the Midtrans emulator that the customer paid (or did not): it
// records the status and sends its signed notification to the webhook.
func pay(t testing.TB, orderID, status, fraud, paymentType string) response {
	t.Helper()
	r := call(t, http.MethodPost, midtrans+"/simulate/"+orderID,
		map[string]string{"transaction_status": status, "fraud_status": fraud, "payment_type": paymentType})
	mustStatus(t, r, http.StatusOK)
	return r
}

type emulatedTransaction struct {
	Refunds []struct {
		RefundKey string `json:"refund_key"`
		Amount    any    `json:"amount"`
	} `json:"refunds"`
}

func midtransRecord(t testing.TB, orderID string) emulatedTransaction {
	t.Helper()
	r := call(t, http.MethodGet, midtrans+"/emulator/transactions/"+orderID, nil)
	mustStatus(t, r, http.StatusOK)
	var tx emulatedTransaction
	r.json(t, &tx)
	return tx
}

func serverKey(t testing.TB) string {
	t.Helper()
	return stackSecret(t, "midtrans-server-key")
}

// notification is a Midtrans notification as the test crafts it, signed
// with key (the server key, or not).
func notification(orderID, statusCode, transactionStatus, grossAmount, key string) map[string]string {
	sum := sha512.Sum512([]byte(orderID + statusCode + grossAmount + key))
	return map[string]string{
		"order_id": orderID, "status_code": statusCode, "gross_amount": grossAmount,
		"transaction_status": transactionStatus, "fraud_status": "accept", "payment_type": "gopay",
		"transaction_id": "forged-" + orderID, "signature_key": hex.EncodeToString(sum[:]),
		"transaction_time": time.Now().UTC().Format("2006-01-02 15:04:05"), "currency": "IDR",
	}
}

func webhook(t testing.TB, body any) response {
	t.Helper()
	return call(t, http.MethodPost, gateway+"/api/v1/orders/notificationMidtrans", body)
}

// internal calls an app's own port as its sidecar would (the app token):
// tests use it to read the services' documents and to nudge the sweep.
func internal(t testing.TB, method, url, app string, body any) response {
	t.Helper()
	return call(t, method, url, body, "dapr-api-token", appToken(app))
}

func mySubscription(t testing.TB, v viewer) (struct {
	ID, OrderID, Status, EndAt string
}, int) {
	t.Helper()
	var s struct{ ID, OrderID, Status, EndAt string }
	r := v.do(t, http.MethodGet, "/api/v1/subscription/me", nil)
	if r.Status == http.StatusOK {
		r.json(t, &s)
	}
	return s, r.Status
}
