package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/logtest"
	"tenflix/platform/sidecar"
	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/midtrans"
	"tenflix/services/payment/internal/midtrans/midtranstest"
	"tenflix/services/payment/internal/payment"
	"tenflix/services/payment/internal/statestore"
	"tenflix/services/payment/internal/statestore/statestoretest"

	paymentv1 "tenflix/proto/payment/v1"
)

// The use cases run against the real Midtrans client (midtrans-go) talking
// to a fake Midtrans over HTTP, and the real statetx writing to a stand-in
// of daprd's state API that records what the outbox would publish.

const serverKey = "SB-Mid-server-app-test"

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	t        *testing.T
	ctx      context.Context
	app      *app.App
	midtrans *midtranstest.Server
	state    *statestoretest.Store
	logs     *logtest.Buffer
	clock    *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), midtrans: midtranstest.New(t, serverKey), state: statestoretest.New(t),
		logs: &logtest.Buffer{}, clock: &clock{now: time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)}}
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gateway, err := midtrans.New(midtrans.Config{ServerKey: serverKey, Env: "sandbox", APIURL: f.midtrans.URL,
		Timeout: 2 * time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	f.app, err = app.New(app.Options{
		State: statestore.New(sidecar.New(f.state.Port, ""), "payment-state"), Midtrans: gateway, ServerKey: serverKey,
		Expiry: 30 * time.Minute, NotificationBudget: time.Second, Log: log, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func request(orderID string) payment.Request {
	return payment.Request{OrderID: orderID, UserID: "user-1", Amount: 49000,
		Item:     payment.Item{ID: "plan-monthly", Name: "Monthly", Price: 49000},
		Customer: payment.Customer{Name: "Ana", Email: "ana@example.com"}}
}

// create opens the order's payment.
func (f *fixture) create(orderID string) *paymentv1.Payment {
	f.t.Helper()
	p, created, err := f.app.Create(f.ctx, request(orderID))
	if err != nil || !created {
		f.t.Fatalf("create %s: %v (created %v)", orderID, err, created)
	}
	return p
}

// notify delivers the signed notification Midtrans sends about the order now.
func (f *fixture) notify(orderID string) error {
	f.t.Helper()
	var n struct {
		OrderID           string `json:"order_id"`
		StatusCode        string `json:"status_code"`
		GrossAmount       string `json:"gross_amount"`
		SignatureKey      string `json:"signature_key"`
		TransactionStatus string `json:"transaction_status"`
		FraudStatus       string `json:"fraud_status"`
	}
	if err := json.Unmarshal(f.midtrans.Notification(f.t, orderID), &n); err != nil {
		f.t.Fatal(err)
	}
	return f.app.Notify(f.ctx, app.Notification{OrderID: n.OrderID, StatusCode: n.StatusCode, GrossAmount: n.GrossAmount,
		SignatureKey: n.SignatureKey, TransactionStatus: n.TransactionStatus, FraudStatus: n.FraudStatus})
}

// signed is a notification with the given fields, correctly signed.
func signed(orderID, statusCode, grossAmount, status string) app.Notification {
	return app.Notification{OrderID: orderID, StatusCode: statusCode, GrossAmount: grossAmount, TransactionStatus: status,
		SignatureKey: midtranstest.Sign(orderID, statusCode, grossAmount, serverKey)}
}

// stored is the order's payment as the state store holds it.
func (f *fixture) stored(orderID string) *paymentv1.Payment {
	f.t.Helper()
	raw := f.state.Value("payment:" + orderID)
	if raw == nil {
		return nil
	}
	p := &paymentv1.Payment{}
	if err := protojson.Unmarshal(raw, p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// events are the types of the events published for the order, in order.
func (f *fixture) events(orderID string) []string {
	var types []string
	for _, e := range f.state.Events() {
		if e.Key == "payment:"+orderID {
			types = append(types, e.Type)
		}
	}
	return types
}

func (f *fixture) wantEvents(orderID string, want ...string) {
	f.t.Helper()
	if got := f.events(orderID); strings.Join(got, " ") != strings.Join(want, " ") {
		f.t.Fatalf("events of %s: %v, want %v", orderID, got, want)
	}
}

func (f *fixture) wantStatus(orderID, status, reason string, version int64) *paymentv1.Payment {
	f.t.Helper()
	p := f.stored(orderID)
	if p == nil || p.Status != status || p.Reason != reason || p.Version != version {
		f.t.Fatalf("payment %s = %v, want %s (reason %q) version %d", orderID, p, status, reason, version)
	}
	return p
}

func TestCreateOpensSnapOnceAndRetriesGetTheSamePayment(t *testing.T) {
	f := newFixture(t)
	p := f.create("o-1")
	if p.Status != paymentv1.StatusPending || p.SnapToken == "" || p.RedirectUrl == "" || p.Version != 1 ||
		p.Amount != 49000 || p.UserId != "user-1" || p.CreatedAt != "2025-05-01T10:00:00Z" {
		t.Fatalf("created %+v", p)
	}
	f.wantEvents("o-1", paymentv1.EventRequested)

	again, created, err := f.app.Create(f.ctx, request("o-1"))
	if err != nil || created || again.SnapToken != p.SnapToken {
		t.Fatalf("retry: %+v %v %v", again, created, err)
	}
	if n := f.midtrans.Count("POST /snap/v1/transactions"); n != 1 {
		t.Fatalf("snap asked %d times", n)
	}
	f.wantEvents("o-1", paymentv1.EventRequested)

	other := request("o-1")
	other.Amount, other.Item.Price = 99000, 99000
	if _, _, err := f.app.Create(f.ctx, other); !errors.Is(err, app.ErrConflict) {
		t.Fatalf("another payment for the same order: %v", err)
	}
}

func TestCreateWritesNothingWhenSnapFails(t *testing.T) {
	f := newFixture(t)
	f.midtrans.FailNext("snap", 1)
	if _, _, err := f.app.Create(f.ctx, request("o-1")); !errors.Is(err, app.ErrUpstream) {
		t.Fatalf("create with Snap down: %v", err)
	}
	if f.stored("o-1") != nil || f.state.Commits() != 0 {
		t.Fatal("a payment was written")
	}

	// Snap opened but the write was lost: Snap then refuses the order id
	// (taken), which is a Midtrans failure too, and still nothing is written.
	f.state.FailNext("error while executing state transaction: connection reset")
	if _, _, err := f.app.Create(f.ctx, request("o-3")); err == nil {
		t.Fatal("a lost write went unnoticed")
	}
	var refused *app.RefusedError
	if _, _, err := f.app.Create(f.ctx, request("o-3")); !errors.Is(err, app.ErrUpstream) || !errors.As(err, &refused) {
		t.Fatalf("create after a lost write: %v", err)
	}
	if f.stored("o-3") != nil {
		t.Fatal("a payment was written")
	}

	bad := request("o-2")
	bad.Item.Price = 1
	var ve *payment.ValidationError
	if _, _, err := f.app.Create(f.ctx, bad); !errors.As(err, &ve) {
		t.Fatalf("invalid request: %v", err)
	}
	if n := f.midtrans.Count("POST /snap/v1/transactions"); n != 3 {
		t.Fatalf("an invalid request reached Snap (%d calls)", n)
	}
}

func TestPaidNotificationIsRecordedOnce(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "bank_transfer", "settlement", "")
	if err := f.notify("o-1"); err != nil {
		t.Fatal(err)
	}
	p := f.wantStatus("o-1", paymentv1.StatusPaid, "", 2)
	if p.TransactionId != "tx-o-1" || p.PaymentType != "bank_transfer" || p.TransactionStatus != "settlement" {
		t.Fatalf("paid %+v", p)
	}
	// A duplicate, and a late pending notification (settlement before pending).
	if err := f.notify("o-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.app.Notify(f.ctx, signed("o-1", "201", "49000.00", "pending")); err != nil {
		t.Fatal(err)
	}
	f.wantStatus("o-1", paymentv1.StatusPaid, "", 2)
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventPaid)
}

func TestTheStatusAPIDecidesNotTheNotification(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "bank_transfer", "pending", "")
	// Signed, claims settlement; Midtrans' status API says pending.
	if err := f.app.Notify(f.ctx, signed("o-1", "200", "49000.00", "settlement")); err != nil {
		t.Fatal(err)
	}
	f.wantStatus("o-1", paymentv1.StatusPending, "", 1)
	f.wantEvents("o-1", paymentv1.EventRequested)
}

func TestBadSignaturesChangeNothingAndAskNothing(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "gopay", "settlement", "")
	before := len(f.midtrans.Requests())
	good := signed("o-1", "200", "49000.00", "settlement")
	for name, n := range map[string]app.Notification{
		"another key":      {OrderID: "o-1", StatusCode: "200", GrossAmount: "49000.00", SignatureKey: midtranstest.Sign("o-1", "200", "49000.00", "guess")},
		"amount rewritten": {OrderID: "o-1", StatusCode: "200", GrossAmount: "49000", SignatureKey: good.SignatureKey},
		"status tampered":  {OrderID: "o-1", StatusCode: "201", GrossAmount: "49000.00", SignatureKey: good.SignatureKey},
		"no signature":     {OrderID: "o-1", StatusCode: "200", GrossAmount: "49000.00"},
	} {
		if err := f.app.Notify(f.ctx, n); !errors.Is(err, app.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(f.midtrans.Requests()) != before {
		t.Fatal("a forged notification made a Midtrans call")
	}
	f.wantEvents("o-1", paymentv1.EventRequested)

	if err := f.app.Notify(f.ctx, signed("o-unknown", "200", "49000.00", "settlement")); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}

func TestAnAmountMidtransDisagreesWithChangesNothing(t *testing.T) {
	for _, written := range []string{"1.00", "49000.50", "490000.00", "4.9e4"} {
		f := newFixture(t)
		f.create("o-1")
		f.midtrans.Pay(t, "o-1", "gopay", "settlement", "")
		f.midtrans.WriteAmount("o-1", written)
		if err := f.notify("o-1"); !errors.Is(err, app.ErrAmountMismatch) {
			t.Fatalf("%s: %v", written, err)
		}
		f.wantStatus("o-1", paymentv1.StatusPending, "", 1)
		if !strings.Contains(f.logs.String(), `"alert":"payment_amount_mismatch"`) {
			t.Fatalf("%s: no alert logged", written)
		}
	}
}

func TestAChallengedCaptureIsCancelledAtMidtrans(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "credit_card", "capture", "challenge")
	if err := f.notify("o-1"); err != nil {
		t.Fatal(err)
	}
	if tx, _ := f.midtrans.Transaction("o-1"); tx.Status != "cancel" {
		t.Fatalf("at Midtrans the transaction is %s", tx.Status)
	}
	p := f.wantStatus("o-1", paymentv1.StatusCancelled, payment.ReasonFraudChallenge, 2)
	if p.TransactionStatus != "cancel" {
		t.Fatalf("%+v", p)
	}
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventCancelled)
	// Midtrans then notifies the cancellation: nothing more.
	if err := f.notify("o-1"); err != nil {
		t.Fatal(err)
	}
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventCancelled)
}

func TestFailedTransactionsCancelThePayment(t *testing.T) {
	for _, status := range []string{"deny", "cancel", "expire", "failure"} {
		f := newFixture(t)
		f.create("o-1")
		f.midtrans.Pay(t, "o-1", "credit_card", status, "")
		if err := f.notify("o-1"); err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		f.wantStatus("o-1", paymentv1.StatusCancelled, status, 2)
		f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventCancelled)
	}
}

func TestANotificationWhileMidtransIsDownIsRetriedLater(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "gopay", "settlement", "")
	f.midtrans.FailNext("status", 1)
	if err := f.notify("o-1"); !errors.Is(err, app.ErrUpstream) {
		t.Fatalf("Midtrans failing: %v", err)
	}
	f.midtrans.Delay(3 * time.Second) // longer than the notification budget
	start := time.Now()
	if err := f.notify("o-1"); !errors.Is(err, app.ErrUpstream) || time.Since(start) > 2*time.Second {
		t.Fatalf("Midtrans hanging: %v after %s", err, time.Since(start))
	}
	f.wantStatus("o-1", paymentv1.StatusPending, "", 1)
	f.midtrans.Delay(0)
	if err := f.notify("o-1"); err != nil {
		t.Fatal(err)
	}
	f.wantStatus("o-1", paymentv1.StatusPaid, "", 2)
}

func TestATransactionIDOfAnotherPaymentIsRefused(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "gopay", "settlement", "")
	// What daprd answers when the unique index of migration 001 refuses the
	// write.
	f.state.FailNext(`error while executing state transaction: failed to commit transaction: ERROR: duplicate key value violates unique constraint "payment_transaction_id_unique" (SQLSTATE 23505)`)
	if err := f.notify("o-1"); !errors.Is(err, payment.ErrTransactionTaken) {
		t.Fatalf("notify: %v", err)
	}
	f.wantStatus("o-1", paymentv1.StatusPending, "", 1)
}
