package midtrans

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tenflix/platform/logtest"
	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/midtrans/midtranstest"
	"tenflix/services/payment/internal/payment"
)

const serverKey = "SB-Mid-server-TEST-k3y_0nly"

func newClient(t *testing.T, fake *midtranstest.Server, logs *logtest.Buffer, change func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		ServerKey: serverKey, Env: "sandbox", APIURL: fake.URL, Timeout: 2 * time.Second,
		NotificationURL: "https://tenflix.example/api/v1/orders/notifications",
		Log:             slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if change != nil {
		change(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkout(orderID string) app.Checkout {
	return app.Checkout{
		Request: payment.Request{OrderID: orderID, UserID: "u-1", Amount: 49000,
			Item:     payment.Item{ID: "plan-monthly", Name: "Monthly plan with a name far longer than fifty characters", Price: 49000},
			Customer: payment.Customer{Name: "Ana", Email: "ana@example.com"}},
		Start:  time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC),
		Expiry: 30 * time.Minute,
	}
}

func TestCreateTransactionReachesTheAPIURLAsSnapExpectsIt(t *testing.T) {
	fake := midtranstest.New(t, serverKey)
	c := newClient(t, fake, &logtest.Buffer{}, nil)
	snap, err := c.CreateTransaction(context.Background(), checkout("o-1"))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Token == "" || !strings.Contains(snap.RedirectURL, snap.Token) {
		t.Fatalf("snap %+v", snap)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/snap/v1/transactions" || !reqs[0].Authorized {
		t.Fatalf("requests %+v", reqs)
	}
	tx, _ := fake.Transaction("o-1")
	if tx.Notification != "https://tenflix.example/api/v1/orders/notifications" {
		t.Errorf("X-Override-Notification = %q", tx.Notification)
	}
	var sent struct {
		TransactionDetails map[string]any   `json:"transaction_details"`
		Items              []map[string]any `json:"item_details"`
		Customer           map[string]any   `json:"customer_details"`
		Expiry             map[string]any   `json:"expiry"`
	}
	if err := json.Unmarshal(tx.Request, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.TransactionDetails["order_id"] != "o-1" || sent.TransactionDetails["gross_amount"] != 49000.0 {
		t.Errorf("transaction_details %v", sent.TransactionDetails)
	}
	if len(sent.Items) != 1 || sent.Items[0]["id"] != "plan-monthly" || sent.Items[0]["price"] != 49000.0 ||
		sent.Items[0]["quantity"] != 1.0 || len(sent.Items[0]["name"].(string)) != 50 {
		t.Errorf("item_details %v", sent.Items)
	}
	if sent.Customer["first_name"] != "Ana" || sent.Customer["email"] != "ana@example.com" {
		t.Errorf("customer_details %v", sent.Customer)
	}
	if sent.Expiry["unit"] != "minute" || sent.Expiry["duration"] != 30.0 || sent.Expiry["start_time"] != "2025-05-01 10:00:00 +0000" {
		t.Errorf("expiry %v", sent.Expiry)
	}

	// The same order id again: Snap refuses it (taken), a refusal.
	_, err = c.CreateTransaction(context.Background(), checkout("o-1"))
	var refused *app.RefusedError
	if !errors.As(err, &refused) || refused.StatusCode != 400 || !strings.Contains(refused.Message, "already been taken") {
		t.Fatalf("second create: %v", err)
	}
}

func TestCoreAPICallsAndTheirVerdicts(t *testing.T) {
	ctx := context.Background()
	fake := midtranstest.New(t, serverKey)
	c := newClient(t, fake, &logtest.Buffer{}, nil)
	for _, id := range []string{"card", "va"} {
		if _, err := c.CreateTransaction(ctx, checkout(id)); err != nil {
			t.Fatal(err)
		}
	}
	// No payment method chosen yet: Midtrans knows no transaction.
	if _, err := c.Status(ctx, "card"); !errors.Is(err, app.ErrUnknownTransaction) {
		t.Fatalf("status before payment: %v", err)
	}
	if _, err := c.Cancel(ctx, "card"); !errors.Is(err, app.ErrUnknownTransaction) {
		t.Fatalf("cancel before payment: %v", err)
	}

	fake.Pay(t, "card", "credit_card", "capture", "accept")
	tx, err := c.Status(ctx, "card")
	if err != nil { // literally nil: no typed nil *midtrans.Error slipped into the interface
		t.Fatal(err)
	}
	want := payment.Transaction{OrderID: "card", TransactionID: "tx-card", Status: "capture", FraudStatus: "accept",
		PaymentType: "credit_card", GrossAmount: "49000.00"}
	if tx != want {
		t.Fatalf("status %+v, want %+v", tx, want)
	}

	fake.Pay(t, "va", "bank_transfer", "settlement", "")
	_, err = c.Cancel(ctx, "va")
	var refused *app.RefusedError
	if !errors.As(err, &refused) || refused.StatusCode != 412 {
		t.Fatalf("cancel of a settled transaction: %v", err)
	}
	_, err = c.Refund(ctx, "va", app.RefundRequest{Key: "refund-va", Amount: 49000, Reason: "r"})
	if !errors.As(err, &refused) || refused.StatusCode != 412 || !strings.Contains(refused.Message, "bank_transfer") {
		t.Fatalf("refund of a bank transfer: %v", err)
	}

	for range 2 { // the same key twice: one refund
		tx, err = c.Refund(ctx, "card", app.RefundRequest{Key: "refund-card", Amount: 49000, Reason: "r"})
		if err != nil || tx.Status != "refund" {
			t.Fatalf("refund: %+v, %v", tx, err)
		}
	}
	if got, _ := fake.Transaction("card"); len(got.Refunds) != 1 {
		t.Fatalf("refunds %v", got.Refunds)
	}

	// A failure that is neither: plain, and so retried by the use cases.
	fake.FailNext("status", 1)
	_, err = c.Status(ctx, "card")
	if err == nil || errors.Is(err, app.ErrUnknownTransaction) || errors.As(err, &refused) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("status on a 500: %v", err)
	}
}

func TestAWrongServerKeyIsAFailureNotAVerdict(t *testing.T) {
	fake := midtranstest.New(t, "the-real-key")
	c := newClient(t, fake, &logtest.Buffer{}, nil)
	_, err := c.Status(context.Background(), "o-1")
	var refused *app.RefusedError
	if err == nil || errors.Is(err, app.ErrUnknownTransaction) || errors.As(err, &refused) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("status with a wrong key: %v", err)
	}
	if r := fake.Requests(); len(r) != 1 || r[0].Authorized {
		t.Fatalf("requests %+v", r)
	}
}

func TestEveryCallIsBoundedInTime(t *testing.T) {
	fake := midtranstest.New(t, serverKey)
	fake.Delay(5 * time.Second)
	c := newClient(t, fake, &logtest.Buffer{}, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
	start := time.Now()
	_, err := c.Status(context.Background(), "o-1")
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("status against a hung Midtrans: %v after %s", err, time.Since(start))
	}

	// The caller's context bounds it too.
	c = newClient(t, fake, &logtest.Buffer{}, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := c.Cancel(ctx, "o-1"); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("cancel with a short context: %v after %s", err, time.Since(start))
	}
}

// TestTheServerKeyIsNeverLogged runs calls that succeed and fail with the
// SDK logging everything it logs (debug), and finds the key nowhere.
func TestTheServerKeyIsNeverLogged(t *testing.T) {
	ctx := context.Background()
	fake := midtranstest.New(t, serverKey)
	logs := &logtest.Buffer{}
	c := newClient(t, fake, logs, nil)
	if _, err := c.CreateTransaction(ctx, checkout("o-1")); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Status(ctx, "o-1")
	fake.Pay(t, "o-1", "gopay", "settlement", "")
	_, _ = c.Status(ctx, "o-1")
	_, _ = c.Refund(ctx, "o-1", app.RefundRequest{Key: "refund-o-1", Amount: 49000})
	fake.FailNext("cancel", 1)
	_, _ = c.Cancel(ctx, "o-1")
	unreachable := newClient(t, fake, logs, func(cfg *Config) { cfg.APIURL = "http://127.0.0.1:1" })
	_, _ = unreachable.Status(ctx, "o-1")

	out := logs.String()
	if !strings.Contains(out, "authorization") || !strings.Contains(out, redacted) {
		t.Fatalf("the SDK's header lines are not in the log, so this test proves nothing:\n%s", out)
	}
	for _, secret := range []string{serverKey, base64.StdEncoding.EncodeToString([]byte(serverKey + ":"))} {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, secret) {
				t.Fatalf("a log line holds the server key: %s", line)
			}
		}
	}
}

// recorder answers every request itself and keeps its URL.
type recorder struct{ urls []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: 404, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

func TestWithoutAnAPIURLTheEnvironmentPicksMidtransHosts(t *testing.T) {
	for env, want := range map[string][]string{
		"sandbox":    {"https://app.sandbox.midtrans.com/snap/v1/transactions", "https://api.sandbox.midtrans.com/v2/o-1/status"},
		"production": {"https://app.midtrans.com/snap/v1/transactions", "https://api.midtrans.com/v2/o-1/status"},
	} {
		rec := &recorder{}
		c := newClient(t, midtranstest.New(t, serverKey), &logtest.Buffer{}, func(cfg *Config) {
			cfg.Env, cfg.APIURL, cfg.Transport = env, "", rec
		})
		_, _ = c.CreateTransaction(context.Background(), checkout("o-1"))
		_, _ = c.Status(context.Background(), "o-1")
		if strings.Join(rec.urls, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %v, want %v", env, rec.urls, want)
		}
	}
}

func TestTheRewritingTransportSendsNothingElsewhere(t *testing.T) {
	rec := &recorder{}
	rt := &rewriteHosts{target: mustURL(t, "http://127.0.0.1:8090/prefix/"), next: rec}
	req, _ := http.NewRequest(http.MethodGet, "https://api.sandbox.midtrans.com/v2/o-1/status", nil)
	if _, err := rt.RoundTrip(req); err != nil || rec.urls[0] != "http://127.0.0.1:8090/prefix/v2/o-1/status" {
		t.Fatalf("%v %v", err, rec.urls)
	}
	req, _ = http.NewRequest(http.MethodGet, "https://evil.example/v2/o-1/status", nil)
	if _, err := rt.RoundTrip(req); err == nil || len(rec.urls) != 1 {
		t.Fatalf("a request for another host went out: %v %v", err, rec.urls)
	}
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	ok := Config{ServerKey: serverKey, Timeout: time.Second, Log: slog.New(slog.DiscardHandler)}
	for name, change := range map[string]func(*Config){
		"no key":         func(c *Config) { c.ServerKey = "" },
		"key with space": func(c *Config) { c.ServerKey = "a b" },
		"unknown env":    func(c *Config) { c.Env = "staging" },
		"api url":        func(c *Config) { c.APIURL = "127.0.0.1:8090" },
		"api url query":  func(c *Config) { c.APIURL = "http://127.0.0.1:8090/?x=1" },
		"no timeout":     func(c *Config) { c.Timeout = 0 },
	} {
		cfg := ok
		change(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
}

func TestOrderIDsThatAreNoOrderIDsStayOutOfURLs(t *testing.T) {
	fake := midtranstest.New(t, serverKey)
	c := newClient(t, fake, &logtest.Buffer{}, nil)
	for _, id := range []string{"../snap/v1/transactions", "a?b", ""} {
		if _, err := c.Status(context.Background(), id); err == nil {
			t.Errorf("status of %q went through", id)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d requests reached Midtrans", n)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
