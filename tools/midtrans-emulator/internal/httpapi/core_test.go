package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/midtrans/midtrans-go/coreapi"

	"tenflix/tools/midtrans-emulator/internal/txn"
)

func TestStatusBeforeAndAfterPayment(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	e.create(t, "order-status")
	core := e.core(t, serverKey)

	// Snap before the customer chose a payment type: no Core API transaction yet.
	_, err := core.CheckTransaction("order-status")
	status, body := apiError(t, err)
	if status != 404 || !strings.Contains(body, `"status_message":"Transaction doesn't exist."`) || !strings.Contains(body, `"id":"`) {
		t.Errorf("before payment: %d %s", status, body)
	}
	if _, err := core.CheckTransaction("no-such-order"); err == nil || err.StatusCode != 404 {
		t.Errorf("unknown order: %v", err)
	}

	e.simulate(t, "order-status", map[string]string{"transaction_status": "pending", "payment_type": "bank_transfer", "bank": "bni"})
	pending := rc.next(t)
	resp, err := core.CheckTransaction("order-status")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != "201" || resp.TransactionStatus != "pending" || resp.PaymentType != "bank_transfer" ||
		resp.GrossAmount != "100000.00" || resp.Currency != "IDR" || resp.FraudStatus != "accept" ||
		!uuidPattern.MatchString(resp.TransactionID) || resp.TransactionID != pending["transaction_id"] ||
		len(resp.VaNumbers) != 1 || resp.VaNumbers[0].Bank != "bni" || len(resp.VaNumbers[0].VANumber) != 16 ||
		resp.StatusMessage != "Success, transaction is found" || resp.ExpiryTime == "" || resp.SettlementTime != "" {
		t.Errorf("pending status %+v", resp)
	}
	if resp.SignatureKey != txn.Signature("order-status", "201", "100000.00", serverKey) {
		t.Error("status signature does not verify")
	}
	if _, err := time.ParseInLocation(time.DateTime, resp.TransactionTime, txn.WIB); err != nil {
		t.Errorf("transaction_time %q", resp.TransactionTime)
	}

	e.simulate(t, "order-status", map[string]string{"transaction_status": "settlement"})
	settled := rc.next(t)
	byID, err := core.CheckTransaction(resp.TransactionID) // the transaction id works as well
	if err != nil {
		t.Fatal(err)
	}
	if byID.StatusCode != "200" || byID.TransactionStatus != "settlement" || byID.SettlementTime == "" ||
		byID.TransactionID != resp.TransactionID || byID.OrderID != "order-status" ||
		len(byID.PaymentAmounts) != 1 || byID.PaymentAmounts[0].Amount != "100000.00" {
		t.Errorf("settled status %+v", byID)
	}
	if settled["status_message"] != "midtrans payment notification" || settled["settlement_time"] != byID.SettlementTime {
		t.Errorf("settlement notification %v", settled)
	}
}

func TestCoreBadAuth(t *testing.T) {
	e := startEmulator(t, "", newReceiver(t).URL, newClock())
	e.create(t, "order-auth")
	e.simulate(t, "order-auth", map[string]string{"transaction_status": "pending", "payment_type": "gopay"})
	wrong := e.core(t, "SB-Mid-server-wrong")
	_, err := wrong.CheckTransaction("order-auth")
	if status, body := apiError(t, err); status != 401 || !strings.Contains(body, "Transaction cannot be authorized with the current client/server key.") {
		t.Errorf("status: %d %s", status, body)
	}
	if _, err := wrong.CancelTransaction("order-auth"); err == nil || err.StatusCode != 401 {
		t.Errorf("cancel: %v", err)
	}
	if _, err := wrong.RefundTransaction("order-auth", &coreapi.RefundReq{Amount: 1}); err == nil || err.StatusCode != 401 {
		t.Errorf("refund: %v", err)
	}
	if tx := e.record(t, "order-auth"); tx.Status != txn.Pending {
		t.Errorf("an unauthorized call changed the transaction: %s", tx.Status)
	}
}

func TestPaymentFlows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []map[string]string
		want  []string // transaction_status:status_code of each notification
	}{
		{"bank transfer", []map[string]string{
			{"transaction_status": "pending", "payment_type": "bank_transfer"}, {"transaction_status": "settlement"}},
			[]string{"pending:201", "settlement:200"}},
		{"permata", []map[string]string{{"transaction_status": "pending", "payment_type": "bank_transfer", "bank": "permata"}},
			[]string{"pending:201"}},
		{"gopay", []map[string]string{{"transaction_status": "settlement", "payment_type": "gopay"}}, []string{"settlement:200"}},
		{"card", []map[string]string{{"transaction_status": "capture", "payment_type": "credit_card"}, {"transaction_status": "settlement"}},
			[]string{"capture:200", "settlement:200"}},
		{"card challenge approved", []map[string]string{
			{"transaction_status": "capture", "payment_type": "credit_card", "fraud_status": "challenge"},
			{"transaction_status": "capture", "fraud_status": "accept"}},
			[]string{"capture:201", "capture:200"}},
		{"card denied", []map[string]string{{"transaction_status": "deny", "payment_type": "credit_card", "fraud_status": "deny"}},
			[]string{"deny:202"}},
		{"expired va", []map[string]string{{"transaction_status": "pending", "payment_type": "echannel"}, {"transaction_status": "expire"}},
			[]string{"pending:201", "expire:407"}},
		{"indomaret failure", []map[string]string{{"transaction_status": "failure", "payment_type": "cstore"}}, []string{"failure:202"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			e := startEmulator(t, "", rc.URL, newClock())
			e.create(t, "order-flow")
			for i, step := range tc.steps {
				out := e.simulate(t, "order-flow", step)
				n := rc.next(t)
				status, code, _ := strings.Cut(tc.want[i], ":")
				if n["transaction_status"] != status || n["status_code"] != code || n["order_id"] != "order-flow" ||
					n["gross_amount"] != "100000.00" || n["merchant_id"] != txn.MerchantID {
					t.Errorf("step %d notification %v, want %s", i, n, tc.want[i])
				}
				if sent := out["transaction"].(map[string]any); sent["signature_key"] != n["signature_key"] {
					t.Errorf("step %d: the answer's transaction is not what was sent", i)
				}
				if rep := out["notification"].(map[string]any); rep["status"] != float64(200) || rep["url"] != rc.URL {
					t.Errorf("step %d: reported %v", i, rep)
				}
				switch n["payment_type"] {
				case "credit_card":
					if n["masked_card"] == nil || n["bank"] != "bni" || n["card_type"] != "credit" {
						t.Errorf("card fields %v", n)
					}
				case "echannel":
					if n["bill_key"] == nil || n["biller_code"] == nil {
						t.Errorf("echannel fields %v", n)
					}
				case "cstore":
					if n["store"] != "indomaret" || n["payment_code"] == nil {
						t.Errorf("cstore fields %v", n)
					}
				}
			}
			tx := e.record(t, "order-flow")
			if len(tx.History) != len(tc.steps) || len(tx.Notifications) != len(tc.steps) {
				t.Errorf("history %v, notifications %v", tx.History, tx.Notifications)
			}
		})
	}
}

func TestImpossibleSimulations(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	e.create(t, "order-imp")
	for _, tc := range []struct {
		req  map[string]string
		want int
	}{
		{map[string]string{"transaction_status": "settlement"}, 400},                                // no payment type
		{map[string]string{"transaction_status": "paid", "payment_type": "gopay"}, 400},             // no such status
		{map[string]string{"transaction_status": "settlement", "payment_type": "credit_card"}, 412}, // a card is captured first
		{map[string]string{"transaction_status": "cancel", "payment_type": "gopay"}, 412},           // nothing to cancel
		{map[string]string{"transaction_status": "capture", "payment_type": "gopay"}, 400},          // capture is card only
	} {
		if code, out := e.post(t, "/simulate/order-imp", tc.req); code != tc.want || out["status_message"] == nil {
			t.Errorf("%v: %d %v, want %d", tc.req, code, out, tc.want)
		}
	}
	if code, _ := e.post(t, "/simulate/no-such-order", map[string]string{"transaction_status": "settlement", "payment_type": "gopay"}); code != 404 {
		t.Errorf("unknown order: %d", code)
	}
	e.simulate(t, "order-imp", map[string]string{"transaction_status": "pending", "payment_type": "gopay"})
	rc.next(t)
	if _, err := e.core(t, serverKey).CancelTransaction("order-imp"); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	code, out := e.post(t, "/simulate/order-imp", map[string]string{"transaction_status": "settlement"})
	if code != http.StatusPreconditionFailed || out["status_code"] != "412" {
		t.Errorf("paying a cancelled transaction: %d %v", code, out)
	}
	rc.none(t)
}
