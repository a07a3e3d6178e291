package txn

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func snapSession() *Transaction {
	return &Transaction{OrderID: "order-1", GrossAmount: 100000, CreatedAt: t0, PageExpiresAt: t0.Add(DefaultPageExpiry)}
}

// paid returns a session moved through the given simulations.
func paid(t *testing.T, steps ...Simulation) *Transaction {
	t.Helper()
	tx := snapSession()
	for _, s := range steps {
		if err := tx.Simulate(t0.Add(time.Minute), s); err != nil {
			t.Fatalf("simulate %+v: %v", s, err)
		}
	}
	return tx
}

func code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestSimulateTransitions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []Simulation
		try   Simulation
		want  int // 0: allowed, else the refusal's code
	}{
		{"va pending", nil, Simulation{Status: Pending, PaymentType: BankTransfer}, 0},
		{"va settles", []Simulation{{Status: Pending, PaymentType: BankTransfer}}, Simulation{Status: Settlement}, 0},
		{"gopay settles at once", nil, Simulation{Status: Settlement, PaymentType: Gopay}, 0},
		{"card captured", nil, Simulation{Status: Capture, PaymentType: CreditCard}, 0},
		{"card challenge", nil, Simulation{Status: Capture, Fraud: FraudChallenge, PaymentType: CreditCard}, 0},
		{"challenge approved", []Simulation{{Status: Capture, Fraud: FraudChallenge, PaymentType: CreditCard}}, Simulation{Status: Capture}, 0},
		{"challenge denied", []Simulation{{Status: Capture, Fraud: FraudChallenge, PaymentType: CreditCard}}, Simulation{Status: Deny, Fraud: FraudDeny}, 0},
		{"challenge not settled", []Simulation{{Status: Capture, Fraud: FraudChallenge, PaymentType: CreditCard}}, Simulation{Status: Settlement}, 412},
		{"capture settles", []Simulation{{Status: Capture, PaymentType: CreditCard}}, Simulation{Status: Settlement}, 0},
		{"card never settles from nothing", nil, Simulation{Status: Settlement, PaymentType: CreditCard}, 412},
		{"va is not captured", nil, Simulation{Status: Capture, PaymentType: BankTransfer}, 400},
		{"challenge is card only", nil, Simulation{Status: Settlement, Fraud: FraudChallenge, PaymentType: Gopay}, 400},
		{"first payment needs a type", nil, Simulation{Status: Settlement}, 400},
		{"unknown type", nil, Simulation{Status: Settlement, PaymentType: "cash"}, 400},
		{"type does not change", []Simulation{{Status: Pending, PaymentType: BankTransfer}}, Simulation{Status: Settlement, PaymentType: Gopay}, 412},
		{"paying a cancelled one", []Simulation{{Status: Pending, PaymentType: Gopay}, {Status: Cancel}}, Simulation{Status: Settlement}, 412},
		{"paying an expired one", []Simulation{{Status: Expire, PaymentType: BankTransfer}}, Simulation{Status: Settlement}, 412},
		{"paying a denied one", []Simulation{{Status: Deny, PaymentType: CreditCard}}, Simulation{Status: Capture}, 412},
		{"settled twice", []Simulation{{Status: Settlement, PaymentType: Gopay}}, Simulation{Status: Settlement}, 412},
		{"settled then expired", []Simulation{{Status: Settlement, PaymentType: Gopay}}, Simulation{Status: Expire}, 412},
		{"refund is an API call", []Simulation{{Status: Settlement, PaymentType: Gopay}}, Simulation{Status: Refund}, 400},
		{"no cancel before payment", nil, Simulation{Status: Cancel, PaymentType: Gopay}, 412},
		{"unknown status", nil, Simulation{Status: "paid", PaymentType: Gopay}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := paid(t, tc.steps...)
			before := tx.Clone()
			err := tx.Simulate(t0.Add(2*time.Minute), tc.try)
			if got := code(err); got != tc.want {
				t.Fatalf("code %d (%v), want %d", got, err, tc.want)
			}
			if err != nil && (tx.Status != before.Status || len(tx.History) != len(before.History)) {
				t.Errorf("a refusal changed the transaction: %s -> %s", before.Status, tx.Status)
			}
		})
	}
}

func TestFirstPaymentAssignsIDAndExpiry(t *testing.T) {
	tx := snapSession()
	tx.EnabledPayments = []string{"bni_va", "gopay"}
	if err := tx.Simulate(t0, Simulation{Status: Pending, PaymentType: BankTransfer}); code(err) != 402 {
		t.Fatalf("bca_va not enabled: %v", err)
	}
	if tx.TransactionID != "" || tx.PaymentType != "" {
		t.Fatal("a refused payment assigned a payment")
	}
	if err := tx.Simulate(t0, Simulation{Status: Pending, PaymentType: BankTransfer, Bank: "bni"}); err != nil {
		t.Fatal(err)
	}
	if len(tx.TransactionID) != 36 || tx.PaymentNumber == "" || len(tx.PaymentNumber) != 16 {
		t.Errorf("transaction id %q, va %q", tx.TransactionID, tx.PaymentNumber)
	}
	if !tx.ExpiresAt.Equal(t0.Add(DefaultPaymentExpiry)) || !tx.TransactionAt.Equal(t0) {
		t.Errorf("expires %v, transaction time %v", tx.ExpiresAt, tx.TransactionAt)
	}
	id := tx.TransactionID
	if err := tx.Simulate(t0.Add(time.Hour), Simulation{Status: Settlement}); err != nil {
		t.Fatal(err)
	}
	if tx.TransactionID != id || !tx.SettlementAt.Equal(t0.Add(time.Hour)) || tx.StatusCode() != "200" {
		t.Errorf("after settlement: id %s, settled %v, code %s", tx.TransactionID, tx.SettlementAt, tx.StatusCode())
	}
}

func TestPageAndPaymentExpiry(t *testing.T) {
	tx := snapSession()
	if err := tx.Simulate(t0.Add(DefaultPageExpiry), Simulation{Status: Pending, PaymentType: Gopay}); code(err) != 407 {
		t.Fatalf("paying on an expired page: %v", err)
	}
	tx = snapSession()
	tx.PaymentExpiry = 15 * time.Minute
	_ = tx.Simulate(t0, Simulation{Status: Pending, PaymentType: Gopay})
	if tx.Lapse(t0.Add(14 * time.Minute)) {
		t.Fatal("expired early")
	}
	if !tx.Lapse(t0.Add(15*time.Minute)) || tx.Status != Expire || tx.StatusCode() != "407" {
		t.Fatalf("not expired: %s", tx.Status)
	}
	if tx.Lapse(t0.Add(time.Hour)) {
		t.Error("expired twice")
	}
	// A start_time in the past counts from there, not from the choice.
	tx = snapSession()
	tx.PaymentExpiry, tx.ExpiryStart = 30*time.Minute, t0.Add(-time.Hour)
	_ = tx.Simulate(t0, Simulation{Status: Pending, PaymentType: QRIS})
	if !tx.Lapse(t0) {
		t.Error("expiry from start_time ignored")
	}
}

func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []Simulation
		want  int
	}{
		{"no payment yet", nil, 404},
		{"pending", []Simulation{{Status: Pending, PaymentType: BankTransfer}}, 0},
		{"challenge", []Simulation{{Status: Capture, Fraud: FraudChallenge, PaymentType: CreditCard}}, 0},
		{"capture", []Simulation{{Status: Capture, PaymentType: CreditCard}}, 0},
		{"settlement", []Simulation{{Status: Settlement, PaymentType: Gopay}}, 412},
		{"expired", []Simulation{{Status: Expire, PaymentType: Gopay}}, 412},
		{"denied", []Simulation{{Status: Deny, PaymentType: CreditCard}}, 412},
		{"cancelled", []Simulation{{Status: Pending, PaymentType: Gopay}, {Status: Cancel}}, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := paid(t, tc.steps...)
			err := tx.Cancel(t0.Add(time.Hour))
			if got := code(err); got != tc.want {
				t.Fatalf("code %d (%v), want %d", got, err, tc.want)
			}
			if err == nil && (tx.Status != Cancel || tx.StatusCode() != "202") {
				t.Errorf("status %s code %s", tx.Status, tx.StatusCode())
			}
		})
	}
}

func TestRefundRules(t *testing.T) {
	settled := func(paymentType string) *Transaction {
		return paid(t, Simulation{Status: Settlement, PaymentType: paymentType})
	}
	for _, typ := range []string{CreditCard, Gopay, Shopeepay, Dana, OVO, QRIS, Kredivo, Akulaku} {
		var tx *Transaction
		if typ == CreditCard {
			tx = paid(t, Simulation{Status: Capture, PaymentType: CreditCard}, Simulation{Status: Settlement})
		} else {
			tx = settled(typ)
		}
		if _, _, err := tx.RefundTo(t0, "k", 0, ""); err != nil || tx.Status != Refund {
			t.Errorf("%s: %v, status %s", typ, err, tx.Status)
		}
	}
	for _, typ := range []string{BankTransfer, Echannel, Cstore} {
		if _, _, err := settled(typ).RefundTo(t0, "k", 0, ""); code(err) != 412 {
			t.Errorf("%s refunded by API: %v", typ, err)
		}
	}
	capture := paid(t, Simulation{Status: Capture, PaymentType: CreditCard})
	if _, _, err := capture.RefundTo(t0, "k", 0, ""); code(err) != 412 {
		t.Errorf("a capture is cancelled, not refunded: %v", err)
	}
	pending := paid(t, Simulation{Status: Pending, PaymentType: Gopay})
	if _, _, err := pending.RefundTo(t0, "k", 0, ""); code(err) != 412 {
		t.Errorf("pending refunded: %v", err)
	}
	if _, _, err := snapSession().RefundTo(t0, "k", 0, ""); code(err) != 404 {
		t.Errorf("no payment: %v", err)
	}
	if _, _, err := settled(Shopeepay).RefundTo(t0, "k", 100, ""); code(err) != 414 {
		t.Errorf("partial shopeepay refund: %v", err)
	}
}

func TestRefundKeyAndAmounts(t *testing.T) {
	tx := paid(t, Simulation{Status: Settlement, PaymentType: Gopay})
	first, replay, err := tx.RefundTo(t0, "refund-order-1", 40000, "plan gone")
	if err != nil || replay || tx.Status != PartialRefund || first.ID != 1 {
		t.Fatalf("first: %+v %v %v %s", first, replay, err, tx.Status)
	}
	again, replay, err := tx.RefundTo(t0.Add(time.Minute), "refund-order-1", 40000, "retry")
	if err != nil || !replay || again != first || tx.Refunded() != 40000 || len(tx.History) != 2 {
		t.Fatalf("replay: %+v %v %v refunded %d", again, replay, err, tx.Refunded())
	}
	if _, _, err := tx.RefundTo(t0, "refund-order-1", 1000, ""); !errors.Is(err, ErrRefundKey) {
		t.Errorf("same key, other amount: %v", err)
	}
	if _, _, err := tx.RefundTo(t0, "second", 60001, ""); !errors.Is(err, ErrRefundAmount) {
		t.Errorf("beyond what is left: %v", err)
	}
	if _, _, err := tx.RefundTo(t0, "second", -5, ""); !errors.Is(err, ErrRefundAmount) {
		t.Errorf("negative: %v", err)
	}
	rest, _, err := tx.RefundTo(t0, "", 0, "")
	if err != nil || rest.Amount != 60000 || tx.Status != Refund || rest.Key == "" || rest.ID != 2 {
		t.Fatalf("rest: %+v %v %s", rest, err, tx.Status)
	}
	if _, _, err := tx.RefundTo(t0, "third", 1, ""); !errors.Is(err, ErrCannotModify) {
		t.Errorf("refunding a refunded transaction: %v", err)
	}
	// The key of a refund is still answered once the transaction is refunded.
	if r, replay, err := tx.RefundTo(t0, "refund-order-1", 0, ""); err != nil || !replay || r != first {
		t.Errorf("replay after full refund: %+v %v %v", r, replay, err)
	}
}

func TestSignatureAndFields(t *testing.T) {
	// Midtrans' documented example: SHA512(order_id+status_code+gross_amount+ServerKey).
	got := Signature("Postman-1578568851", "200", "10000.00", "VT-server-HJMpl9HLr_ntOKt5mRONdmKj")
	if len(got) != 128 || strings.ToLower(got) != got {
		t.Fatalf("signature %q", got)
	}
	tx := paid(t, Simulation{Status: Pending, PaymentType: BankTransfer, Bank: "bca"}, Simulation{Status: Settlement})
	f := tx.Notification("key")
	if f["gross_amount"] != "100000.00" || f["status_code"] != "200" || f["currency"] != "IDR" ||
		f["status_message"] != "midtrans payment notification" || f["transaction_status"] != "settlement" {
		t.Errorf("notification %v", f)
	}
	if f["signature_key"] != Signature("order-1", "200", "100000.00", "key") {
		t.Error("notification signature")
	}
	va := f["va_numbers"].([]map[string]string)
	if len(va) != 1 || va[0]["bank"] != "bca" || va[0]["va_number"] != tx.PaymentNumber {
		t.Errorf("va_numbers %v", va)
	}
	if Time(t0) != "2026-03-01 17:00:00" {
		t.Errorf("time in WIB: %s", Time(t0))
	}
}
