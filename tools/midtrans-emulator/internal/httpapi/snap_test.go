package httpapi

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/midtrans/midtrans-go"
	"github.com/midtrans/midtrans-go/snap"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateTransaction(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	resp := e.create(t, "order-create-1", func(r *snap.Request) {
		r.CustomerDetail.FName = `<script>alert("x")</script>`
	})
	if !uuidPattern.MatchString(resp.Token) {
		t.Errorf("token %q is not a UUID v4", resp.Token)
	}
	if resp.RedirectURL != e.url+"/snap/v4/redirection/"+resp.Token {
		t.Errorf("redirect_url %q", resp.RedirectURL)
	}
	tx := e.record(t, "order-create-1")
	if tx.GrossAmount != 100000 || len(tx.Items) != 1 || tx.Items[0].Name != "Monthly plan" ||
		tx.Customer == nil || tx.Customer.Email != "budi@example.com" || tx.Status != "" ||
		len(tx.NotificationURLs) != 1 || tx.NotificationURLs[0] != rc.URL {
		t.Errorf("record %+v", tx)
	}
	if !tx.PageExpiresAt.Equal(e.clock.Now().Add(24 * time.Hour)) {
		t.Errorf("page expires %v", tx.PageExpiresAt)
	}

	page, err := http.Get(resp.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	html := string(body)
	for _, want := range []string{"order-create-1", "Rp 100.000", "Monthly plan", `id="pay"`, `id="deny"`, `id="expire"`, "challenge", "BCA virtual account"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, `<script>alert`) {
		t.Error("customer name not escaped")
	}
	missing, _ := http.Get(e.url + "/snap/v4/redirection/no-such-token")
	missing.Body.Close()
	if missing.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: %d", missing.StatusCode)
	}
	rc.none(t) // creating a Snap transaction notifies nothing
}

func TestDuplicateOrderID(t *testing.T) {
	e := startEmulator(t, "", newReceiver(t).URL, newClock())
	e.create(t, "order-dup")
	c := e.snap(t, serverKey)
	req := &snap.Request{TransactionDetails: midtrans.TransactionDetails{OrderID: "order-dup", GrossAmt: 100000}}
	_, err := c.CreateTransaction(req)
	status, body := apiError(t, err)
	if status != 400 || body != `{"error_messages":["transaction_details.order_id sudah digunakan"]}`+"\n" {
		t.Errorf("duplicate: %d %s", status, body)
	}
	e.simulate(t, "order-dup", map[string]string{"transaction_status": "settlement", "payment_type": "gopay"})
	_, err = c.CreateTransaction(req)
	if status, body := apiError(t, err); status != 400 || !strings.Contains(body, "has been paid and utilized, please use another order ID") {
		t.Errorf("duplicate of a paid order: %d %s", status, body)
	}
}

func TestSnapBadAuth(t *testing.T) {
	e := startEmulator(t, "", newReceiver(t).URL, newClock())
	c := e.snap(t, "SB-Mid-server-wrong")
	_, err := c.CreateTransaction(&snap.Request{TransactionDetails: midtrans.TransactionDetails{OrderID: "o", GrossAmt: 1000}})
	status, body := apiError(t, err)
	if status != 401 || !strings.Contains(body, "Access denied due to unauthorized transaction, please check client or server key") ||
		!strings.Contains(body, "Visit https://snap-docs.midtrans.com/#request-headers for more details") {
		t.Errorf("wrong key: %d %s", status, body)
	}
	resp, err2 := http.Post(e.url+"/snap/v1/transactions", "application/json", strings.NewReader(`{}`))
	if err2 != nil {
		t.Fatal(err2)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no auth: %d", resp.StatusCode)
	}
	if _, ok := e.srv.store.Get("o"); ok {
		t.Error("an unauthorized request created a transaction")
	}
}

func TestSnapValidation(t *testing.T) {
	e := startEmulator(t, "", newReceiver(t).URL, newClock())
	c := e.snap(t, serverKey)
	for _, tc := range []struct {
		name string
		req  snap.RequestParamWithMap
		want string
	}{
		{"no order id", snap.RequestParamWithMap{"transaction_details": map[string]any{"gross_amount": 1000}},
			"transaction_details.order_id is required"},
		{"no amount", snap.RequestParamWithMap{"transaction_details": map[string]any{"order_id": "v-1"}},
			"transaction_details.gross_amount is required"},
		{"amount not a number", snap.RequestParamWithMap{"transaction_details": map[string]any{"order_id": "v-1", "gross_amount": "lots"}},
			"transaction_details.gross_amount is not a number"},
		{"zero amount", snap.RequestParamWithMap{"transaction_details": map[string]any{"order_id": "v-1", "gross_amount": 0}},
			"transaction_details.gross_amount must be greater than or equal to 0.01"},
		{"items do not add up", snap.RequestParamWithMap{
			"transaction_details": map[string]any{"order_id": "v-1", "gross_amount": 100000},
			"item_details":        []map[string]any{{"name": "Plan", "price": 60000, "quantity": 1}, {"name": "Tax", "price": 20000, "quantity": 1}}},
			"transaction_details.gross_amount is not equal to the sum of item_details"},
		{"bad order id", snap.RequestParamWithMap{"transaction_details": map[string]any{"order_id": "a/b", "gross_amount": 1000}},
			"transaction_details.order_id must be at most 50 characters"},
		{"bad expiry", snap.RequestParamWithMap{"transaction_details": map[string]any{"order_id": "v-1", "gross_amount": 1000},
			"expiry": map[string]any{"unit": "fortnight", "duration": 1}}, "expiry.unit must be one of day, hour, minute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateTransactionWithMap(&tc.req)
			status, body := apiError(t, err)
			if status != 400 || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want 400 with %q", status, body, tc.want)
			}
		})
	}
	// Items that add up, with a discount line, are fine.
	_, err := c.CreateTransactionWithMap(&snap.RequestParamWithMap{
		"transaction_details": map[string]any{"order_id": "v-ok", "gross_amount": 90000},
		"item_details":        []map[string]any{{"name": "Plan", "price": 50000, "quantity": 2}, {"name": "Discount", "price": -10000, "quantity": 1}},
	})
	if err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	if got := e.srv.store.OrderIDs(); len(got) != 1 || got[0] != "v-ok" {
		t.Errorf("stored %v", got)
	}
}

func TestOverrideNotificationURL(t *testing.T) {
	dashboard, override := newReceiver(t), newReceiver(t)
	e := startEmulator(t, "", dashboard.URL, newClock())
	c := e.snap(t, serverKey)
	c.Options.SetPaymentOverrideNotification(override.URL + "/hook")
	if _, err := c.CreateTransaction(&snap.Request{TransactionDetails: midtrans.TransactionDetails{OrderID: "order-override", GrossAmt: 5000}}); err != nil {
		t.Fatal(err)
	}
	out := e.simulate(t, "order-override", map[string]string{"transaction_status": "settlement", "payment_type": "qris"})
	n := override.next(t)
	if n["transaction_status"] != "settlement" || n["payment_type"] != "qris" || n["acquirer"] != "gopay" {
		t.Errorf("notification %v", n)
	}
	dashboard.none(t)
	if got := out["notification"].(map[string]any); got["url"] != override.URL+"/hook" || got["status"] != float64(200) {
		t.Errorf("reported %v", got)
	}
}
