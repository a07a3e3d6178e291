package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/midtrans/midtrans-go/coreapi"
	"github.com/midtrans/midtrans-go/snap"

	"tenflix/tools/midtrans-emulator/internal/txn"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	rc := newReceiver(t)
	dir, c := t.TempDir(), newClock()
	first := startEmulator(t, dir, rc.URL, c)
	token := first.create(t, "order-persist").Token
	first.simulate(t, "order-persist", map[string]string{"transaction_status": "settlement", "payment_type": "shopeepay"})
	rc.next(t)
	before, err := first.core(t, serverKey).CheckTransaction("order-persist")
	if err != nil {
		t.Fatal(err)
	}
	first.stop()

	second := startEmulator(t, dir, rc.URL, c)
	after, err := second.core(t, serverKey).CheckTransaction("order-persist")
	if err != nil {
		t.Fatal(err)
	}
	if after.TransactionID != before.TransactionID || after.TransactionStatus != "settlement" || after.SettlementTime != before.SettlementTime {
		t.Errorf("after restart %+v, before %+v", after, before)
	}
	if tx := second.record(t, "order-persist"); tx.Token != token || len(tx.Notifications) != 1 || tx.Notifications[0].HTTPStatus != 200 {
		t.Errorf("record after restart %+v", tx)
	}
	sc := second.snap(t, serverKey)
	if _, err := sc.CreateTransaction(&snap.Request{TransactionDetails: txnDetails("order-persist")}); err == nil || err.StatusCode != 400 {
		t.Errorf("the order id was forgotten: %v", err)
	}
	// Shopeepay refunds only in full.
	if _, err := second.core(t, serverKey).RefundTransaction("order-persist", &coreapi.RefundReq{RefundKey: "r1", Amount: 100000}); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	second.stop()
	third := startEmulator(t, dir, rc.URL, c)
	if tx := third.record(t, "order-persist"); tx.Status != txn.Refund || len(tx.Refunds) != 1 || tx.Refunds[0].Key != "r1" {
		t.Errorf("refund lost in a restart: %+v", tx)
	}
}

func TestPaymentExpiry(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	e.create(t, "order-expiry", func(r *snap.Request) { r.Expiry = &snap.ExpiryDetails{Unit: "minutes", Duration: 15} })
	e.clock.Advance(5 * time.Minute) // the payment expiry counts from the choice of a payment type
	e.simulate(t, "order-expiry", map[string]string{"transaction_status": "pending", "payment_type": "bank_transfer"})
	rc.next(t)

	e.clock.Advance(14 * time.Minute)
	e.srv.Sweep()
	rc.none(t)
	e.clock.Advance(time.Minute)
	e.srv.Sweep()
	n := rc.next(t)
	if n["transaction_status"] != "expire" || n["status_code"] != "407" {
		t.Fatalf("expiry notification %v", n)
	}
	e.srv.Sweep()
	rc.none(t) // expired once

	// 407 is not an error for midtrans-go: the status answers.
	status, err := e.core(t, serverKey).CheckTransaction("order-expiry")
	if err != nil || status.TransactionStatus != "expire" || status.StatusCode != "407" {
		t.Fatalf("status after expiry %+v %v", status, err)
	}
	if code, out := e.post(t, "/simulate/order-expiry", map[string]string{"transaction_status": "settlement"}); code != 412 {
		t.Errorf("paying an expired transaction: %d %v", code, out)
	}
	tx := e.record(t, "order-expiry")
	if last := tx.History[len(tx.History)-1]; last.Status != txn.Expire || last.By != "expiry" {
		t.Errorf("history %v", tx.History)
	}
}

func TestExpiryFoundByAStatusCall(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	e.create(t, "order-lazy", func(r *snap.Request) { r.Expiry = &snap.ExpiryDetails{Unit: "hour", Duration: 1} })
	e.simulate(t, "order-lazy", map[string]string{"transaction_status": "pending", "payment_type": "gopay"})
	rc.next(t)
	e.clock.Advance(time.Hour)
	status, err := e.core(t, serverKey).CheckTransaction("order-lazy")
	if err != nil || status.TransactionStatus != "expire" {
		t.Fatalf("status %+v %v", status, err)
	}
	if n := rc.next(t); n["transaction_status"] != "expire" {
		t.Errorf("notification %v", n)
	}
}

func TestPageExpiry(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	resp := e.create(t, "order-page", func(r *snap.Request) { r.Expiry = &snap.ExpiryDetails{Unit: "minute", Duration: 30} })
	e.clock.Advance(30 * time.Minute)
	code, out := e.post(t, "/simulate/order-page", map[string]string{"transaction_status": "pending", "payment_type": "gopay"})
	if code != 412 || out["status_code"] != "407" {
		t.Errorf("paying on an expired page: %d %v", code, out)
	}
	page, err := http.Get(resp.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "This payment page has expired.") || strings.Contains(string(body), `id="pay"`) {
		t.Errorf("expired page:\n%s", body)
	}
	// Snap sends no notification when only the page expires, and the Core
	// API never saw the transaction.
	e.srv.Sweep()
	rc.none(t)
	if _, err := e.core(t, serverKey).CheckTransaction("order-page"); err == nil || err.StatusCode != 404 {
		t.Errorf("status: %v", err)
	}
}

func TestResendAndFailingWebhook(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	e.create(t, "order-resend")
	if code, _ := e.post(t, "/simulate/order-resend/notify", nil); code != 404 {
		t.Errorf("resend before payment: %d", code)
	}
	rc.answer(http.StatusServiceUnavailable)
	out := e.simulate(t, "order-resend", map[string]string{"transaction_status": "settlement", "payment_type": "ovo"})
	first := rc.next(t)
	if rep := out["notification"].(map[string]any); rep["status"] != float64(503) {
		t.Errorf("reported %v", rep)
	}
	rc.answer(http.StatusOK)
	code, out := e.post(t, "/simulate/order-resend/notify", nil)
	dup := rc.next(t)
	if code != 200 || out["notification"].(map[string]any)["status"] != float64(200) {
		t.Errorf("resend: %d %v", code, out)
	}
	if dup["transaction_id"] != first["transaction_id"] || dup["signature_key"] != first["signature_key"] {
		t.Errorf("the duplicate differs: %v vs %v", dup, first)
	}
	tx := e.record(t, "order-resend")
	if len(tx.Notifications) != 2 || tx.Notifications[0].HTTPStatus != 503 || tx.Notifications[0].Resent ||
		!tx.Notifications[1].Resent || tx.Notifications[1].HTTPStatus != 200 {
		t.Errorf("deliveries %+v", tx.Notifications)
	}

	// An endpoint that does not answer is reported with status 0 and the error.
	dead := startEmulator(t, "", "http://127.0.0.1:1/notify", newClock())
	dead.create(t, "order-dead")
	out = dead.simulate(t, "order-dead", map[string]string{"transaction_status": "settlement", "payment_type": "gopay"})
	if rep := out["notification"].(map[string]any); rep["status"] != float64(0) || rep["error"] == nil {
		t.Errorf("dead endpoint reported %v", rep)
	}
}

func TestHealthAndRecords(t *testing.T) {
	e := startEmulator(t, "", newReceiver(t).URL, newClock())
	e.create(t, "order-b")
	e.clock.Advance(time.Second)
	e.create(t, "order-a")
	resp, err := http.Get(e.url + "/emulator/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	resp, err = http.Get(e.url + "/emulator/transactions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all struct{ Transactions []txn.Transaction }
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	if len(all.Transactions) != 2 || all.Transactions[0].OrderID != "order-b" {
		t.Errorf("records %+v", all.Transactions)
	}
	if missing, _ := http.Get(e.url + "/emulator/transactions/nope"); missing.StatusCode != 404 {
		t.Errorf("unknown record: %d", missing.StatusCode)
	}
}

func TestSimulationWantsJSON(t *testing.T) {
	e := startEmulator(t, "", newReceiver(t).URL, newClock())
	e.create(t, "order-form")
	resp, err := http.Post(e.url+"/simulate/order-form", "text/plain", strings.NewReader(`{"transaction_status":"settlement","payment_type":"gopay"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("text/plain simulation: %d", resp.StatusCode)
	}
	if tx := e.record(t, "order-form"); tx.Status != txn.None {
		t.Errorf("status %s", tx.Status)
	}
}
