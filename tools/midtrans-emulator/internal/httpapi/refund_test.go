package httpapi

import (
	"strings"
	"testing"

	"github.com/midtrans/midtrans-go/coreapi"
)

func TestCancelRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []map[string]string
		want  int // 0: cancelled, else the SDK error's status code
	}{
		{"no payment yet", nil, 404},
		{"pending va", []map[string]string{{"transaction_status": "pending", "payment_type": "bank_transfer"}}, 0},
		{"card challenge", []map[string]string{{"transaction_status": "capture", "payment_type": "credit_card", "fraud_status": "challenge"}}, 0},
		{"card capture", []map[string]string{{"transaction_status": "capture", "payment_type": "credit_card"}}, 0},
		{"settled", []map[string]string{{"transaction_status": "settlement", "payment_type": "gopay"}}, 412},
		{"expired", []map[string]string{{"transaction_status": "expire", "payment_type": "gopay"}}, 412},
		{"denied", []map[string]string{{"transaction_status": "deny", "payment_type": "credit_card", "fraud_status": "deny"}}, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			e := startEmulator(t, "", rc.URL, newClock())
			e.create(t, "order-cancel")
			for _, s := range tc.steps {
				e.simulate(t, "order-cancel", s)
				rc.next(t)
			}
			core := e.core(t, serverKey)
			resp, err := core.CancelTransaction("order-cancel")
			if tc.want != 0 {
				status, body := apiError(t, err)
				if status != tc.want {
					t.Fatalf("%d %s, want %d", status, body, tc.want)
				}
				if tc.want == 412 && !strings.Contains(body, `"status_message":"Merchant cannot modify the status of the transaction"`) {
					t.Errorf("412 body %s", body)
				}
				rc.none(t)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != "200" || resp.StatusMessage != "Success, transaction is canceled" || resp.TransactionStatus != "cancel" ||
				resp.OrderID != "order-cancel" || resp.GrossAmount != "100000.00" {
				t.Errorf("cancel answer %+v", resp)
			}
			n := rc.next(t) // Midtrans notifies the cancel too
			if n["transaction_status"] != "cancel" || n["status_code"] != "202" {
				t.Errorf("cancel notification %v", n)
			}
			if _, err := core.CancelTransaction("order-cancel"); err == nil || err.StatusCode != 412 {
				t.Errorf("cancelling twice: %v", err)
			}
		})
	}
}

func TestRefundByPaymentType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []map[string]string
		want  int
	}{
		{"gopay", []map[string]string{{"transaction_status": "settlement", "payment_type": "gopay"}}, 0},
		{"qris", []map[string]string{{"transaction_status": "settlement", "payment_type": "qris"}}, 0},
		{"card settled", []map[string]string{{"transaction_status": "capture", "payment_type": "credit_card"}, {"transaction_status": "settlement"}}, 0},
		{"card captured: cancel it instead", []map[string]string{{"transaction_status": "capture", "payment_type": "credit_card"}}, 412},
		{"bca va", []map[string]string{{"transaction_status": "pending", "payment_type": "bank_transfer"}, {"transaction_status": "settlement"}}, 412},
		{"mandiri bill", []map[string]string{{"transaction_status": "settlement", "payment_type": "echannel"}}, 412},
		{"alfamart", []map[string]string{{"transaction_status": "settlement", "payment_type": "cstore", "store": "alfamart"}}, 412},
		{"pending", []map[string]string{{"transaction_status": "pending", "payment_type": "gopay"}}, 412},
		{"no payment", nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			e := startEmulator(t, "", rc.URL, newClock())
			e.create(t, "order-refund")
			for _, s := range tc.steps {
				e.simulate(t, "order-refund", s)
				rc.next(t)
			}
			resp, err := e.core(t, serverKey).RefundTransaction("order-refund",
				&coreapi.RefundReq{RefundKey: "refund-order-refund", Amount: 100000, Reason: "subscription refused"})
			if tc.want != 0 {
				if status, body := apiError(t, err); status != tc.want {
					t.Fatalf("%d %s, want %d", status, body, tc.want)
				}
				if tx := e.record(t, "order-refund"); len(tx.Refunds) != 0 {
					t.Errorf("refused refund recorded: %v", tx.Refunds)
				}
				rc.none(t)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != "200" || resp.StatusMessage != "Success, refund request is approved" ||
				resp.TransactionStatus != "refund" || resp.RefundAmount != "100000.00" || resp.RefundKey != "refund-order-refund" ||
				resp.RefundChargebackID != 1 || resp.GrossAmount != "100000.00" {
				t.Errorf("refund answer %+v", resp)
			}
			n := rc.next(t)
			if n["transaction_status"] != "refund" || n["status_code"] != "200" || n["refund_amount"] != "100000.00" {
				t.Errorf("refund notification %v", n)
			}
		})
	}
}

func TestRefundKeyIdempotency(t *testing.T) {
	rc := newReceiver(t)
	e := startEmulator(t, "", rc.URL, newClock())
	e.create(t, "order-key")
	e.simulate(t, "order-key", map[string]string{"transaction_status": "settlement", "payment_type": "dana"})
	rc.next(t)
	core := e.core(t, serverKey)

	first, err := core.RefundTransaction("order-key", &coreapi.RefundReq{RefundKey: "refund-order-key", Amount: 30000, Reason: "partial"})
	if err != nil {
		t.Fatal(err)
	}
	if first.TransactionStatus != "partial_refund" || first.RefundAmount != "30000.00" {
		t.Errorf("first %+v", first)
	}
	if n := rc.next(t); n["transaction_status"] != "partial_refund" || n["refund_amount"] != "30000.00" {
		t.Errorf("first notification %v", n)
	}
	again, err := core.RefundTransaction("order-key", &coreapi.RefundReq{RefundKey: "refund-order-key", Amount: 30000, Reason: "retry"})
	if err != nil {
		t.Fatal(err)
	}
	if again.RefundChargebackID != first.RefundChargebackID || again.RefundChargebackUUID != first.RefundChargebackUUID || again.RefundAmount != "30000.00" {
		t.Errorf("retry is another refund: %+v vs %+v", again, first)
	}
	rc.none(t) // the retry moved no money and notifies nothing

	_, err = core.RefundTransaction("order-key", &coreapi.RefundReq{RefundKey: "refund-order-key", Amount: 50000})
	if status, body := apiError(t, err); status != 406 || !strings.Contains(body, "Duplicate refund ID") {
		t.Errorf("same key, other amount: %d %s", status, body)
	}
	_, err = core.RefundTransaction("order-key", &coreapi.RefundReq{RefundKey: "second", Amount: 70001})
	if status, body := apiError(t, err); status != 414 || !strings.Contains(body, "Refund request is rejected due to invalid amount") {
		t.Errorf("beyond what is left: %d %s", status, body)
	}
	_, err = core.RefundTransaction("order-key", &coreapi.RefundReq{RefundKey: "bad key!", Amount: 1})
	if status, body := apiError(t, err); status != 400 || !strings.Contains(body, "One or more parameters in the payload is invalid.") {
		t.Errorf("invalid key: %d %s", status, body)
	}
	rest, err := core.RefundTransaction("order-key", &coreapi.RefundReq{RefundKey: "second", Amount: 70000})
	if err != nil || rest.TransactionStatus != "refund" || rest.RefundChargebackID != 2 {
		t.Fatalf("rest: %+v %v", rest, err)
	}
	rc.next(t)

	status, err := core.CheckTransaction("order-key")
	if err != nil {
		t.Fatal(err)
	}
	if status.TransactionStatus != "refund" || status.RefundAmount != "100000.00" || len(status.Refunds) != 2 ||
		status.Refunds[0].RefundKey != "refund-order-key" || status.Refunds[0].RefundAmount != "30000.00" ||
		status.Refunds[1].RefundChargebackID != 2 || status.Refunds[0].Reason != "partial" {
		t.Errorf("status after refunds %+v", status)
	}
	tx := e.record(t, "order-key")
	if len(tx.Refunds) != 2 || tx.Refunded() != 100000 || tx.Refunds[0].Key != "refund-order-key" {
		t.Errorf("record refunds %+v", tx.Refunds)
	}
}
