package payment

import (
	"errors"
	"strings"
	"testing"
	"time"

	paymentv1 "tenflix/proto/payment/v1"
)

var statuses = []string{
	paymentv1.StatusPending, paymentv1.StatusPaid, paymentv1.StatusCancelled,
	paymentv1.StatusRefunded, paymentv1.StatusRefundFailed,
}

// midtransCase is one confirmed transaction status (capture split by its
// fraud status, the only status where it matters).
type midtransCase struct{ status, fraud string }

func (m midtransCase) String() string {
	if m.fraud == "" {
		return m.status
	}
	return m.status + "+" + m.fraud
}

func midtransCases() []midtransCase {
	var cs []midtransCase
	for _, s := range MidtransStatuses {
		if s == MidtransCapture {
			cs = append(cs, midtransCase{s, FraudAccept}, midtransCase{s, FraudChallenge}, midtransCase{s, ""})
			continue
		}
		cs = append(cs, midtransCase{s, ""})
	}
	return append(cs, midtransCase{"settled-maybe", ""}) // not a Midtrans status
}

type want struct {
	action Action
	reason string
	alert  bool
	note   bool // a note explains why nothing happens
}

// TestDecideEveryStatusPair covers every Midtrans status against every
// payment status: only PENDING moves, final never moves, and what needs a
// person says so.
func TestDecideEveryStatusPair(t *testing.T) {
	nothing := want{}
	noted := want{note: true}
	alert := want{note: true, alert: true}
	table := map[string]map[string]want{
		paymentv1.StatusPending: {
			"authorize": nothing, "capture+accept": {action: MarkPaid},
			"capture+challenge": {action: CancelAtMidtrans, reason: ReasonFraudChallenge},
			"capture":           noted, "settlement": {action: MarkPaid}, "pending": nothing,
			"deny": {action: MarkCancelled, reason: "deny"}, "cancel": {action: MarkCancelled, reason: "cancel"},
			"expire": {action: MarkCancelled, reason: "expire"}, "failure": {action: MarkCancelled, reason: "failure"},
			"refund": alert, "partial_refund": alert, "chargeback": alert, "partial_chargeback": alert,
			"settled-maybe": noted,
		},
		paymentv1.StatusPaid: {
			"authorize": nothing, "capture+accept": nothing, "capture+challenge": noted, "capture": noted,
			"settlement": nothing, "pending": nothing,
			"deny": alert, "cancel": alert, "expire": alert, "failure": alert,
			"refund": noted, "partial_refund": noted, "chargeback": alert, "partial_chargeback": alert,
			"settled-maybe": noted,
		},
		paymentv1.StatusCancelled: {
			"capture+accept": alert, "settlement": alert,
		},
	}
	for _, current := range statuses {
		for _, m := range midtransCases() {
			w, ok := table[current][m.String()]
			if !ok {
				w = nothing // CANCELLED otherwise, REFUNDED, REFUND_FAILED: final, silent
			}
			got := Decide(current, Transaction{Status: m.status, FraudStatus: m.fraud})
			if got.Action != w.action || got.Reason != w.reason || got.Alert != w.alert || (got.Note != "") != w.note {
				t.Errorf("Decide(%s, %s) = %+v, want %+v", current, m, got, w)
			}
			if Final(current) && got.Action != Nothing {
				t.Errorf("final %s moved on %s", current, m)
			}
		}
	}
}

func TestStateMachine(t *testing.T) {
	allowed := map[[2]string]bool{
		{paymentv1.StatusPending, paymentv1.StatusPaid}:      true,
		{paymentv1.StatusPending, paymentv1.StatusCancelled}: true,
		{paymentv1.StatusPaid, paymentv1.StatusRefunded}:     true,
		{paymentv1.StatusPaid, paymentv1.StatusRefundFailed}: true,
	}
	now := time.Date(2025, 5, 1, 10, 0, 0, 0, time.FixedZone("WIB", 7*3600))
	for _, from := range statuses {
		for _, to := range statuses {
			p := &paymentv1.Payment{OrderId: "o-1", Status: from, Reason: "old", Version: 3}
			err := Move(p, to, "why", now)
			if allowed[[2]string{from, to}] {
				if err != nil || p.Status != to || p.Version != 4 || p.Reason != "why" || p.UpdatedAt != "2025-05-01T03:00:00Z" {
					t.Errorf("%s -> %s: %v, %+v", from, to, err, p)
				}
				continue
			}
			if err == nil || p.Status != from || p.Version != 3 {
				t.Errorf("%s -> %s allowed: %+v", from, to, p)
			}
			if Final(from) && !errors.Is(err, ErrFinal) {
				t.Errorf("%s -> %s: %v, want ErrFinal", from, to, err)
			}
		}
	}
	for s, final := range map[string]bool{
		paymentv1.StatusPending: false, paymentv1.StatusPaid: false, paymentv1.StatusCancelled: true,
		paymentv1.StatusRefunded: true, paymentv1.StatusRefundFailed: true, "SETTLED": false,
	} {
		if Final(s) != final {
			t.Errorf("Final(%s) = %v", s, !final)
		}
	}
}

func TestMoveKeepsTheReasonWhenNoneIsGiven(t *testing.T) {
	p := &paymentv1.Payment{Status: paymentv1.StatusPaid, Reason: "kept"}
	if err := Move(p, paymentv1.StatusRefunded, "", time.Now()); err != nil || p.Reason != "kept" {
		t.Fatalf("%v %+v", err, p)
	}
}

func TestEventTypeOfEveryStatus(t *testing.T) {
	want := map[string]string{
		paymentv1.StatusPending: paymentv1.EventRequested, paymentv1.StatusPaid: paymentv1.EventPaid,
		paymentv1.StatusCancelled: paymentv1.EventCancelled, paymentv1.StatusRefunded: paymentv1.EventRefunded,
		paymentv1.StatusRefundFailed: paymentv1.EventRefundFailed,
	}
	for s, e := range want {
		if got, err := EventType(s); err != nil || got != e {
			t.Errorf("EventType(%s) = %q, %v", s, got, err)
		}
	}
	if _, err := EventType("LOST"); err == nil {
		t.Error("an unknown status has an event type")
	}
}

func TestReannounceBumpsOnlyTheVersion(t *testing.T) {
	p := &paymentv1.Payment{OrderId: "o", Status: paymentv1.StatusRefunded, UpdatedAt: "2025-01-01T00:00:00Z", Version: 7}
	Reannounce(p)
	if p.Version != 8 || p.Status != paymentv1.StatusRefunded || p.UpdatedAt != "2025-01-01T00:00:00Z" {
		t.Fatalf("%+v", p)
	}
}

func TestRecordKeepsWhatMidtransLeftOut(t *testing.T) {
	p := &paymentv1.Payment{TransactionId: "tx-1", PaymentType: "gopay"}
	Record(p, Transaction{Status: "settlement", FraudStatus: "accept"})
	if p.TransactionId != "tx-1" || p.PaymentType != "gopay" || p.TransactionStatus != "settlement" || p.FraudStatus != "accept" {
		t.Fatalf("%+v", p)
	}
}

func TestExpired(t *testing.T) {
	now := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	for created, want := range map[string]bool{
		"2025-05-01T09:31:00Z": false, "2025-05-01T09:29:59Z": true, "yesterday": true, "": true,
	} {
		if got := Expired(&paymentv1.Payment{CreatedAt: created}, now, 30*time.Minute); got != want {
			t.Errorf("Expired(created %q) = %v", created, got)
		}
	}
}

func TestSignature(t *testing.T) {
	const key = "SB-Mid-server-secret"
	good := Signature("order-1", "200", "100000.00", key)
	cases := []struct {
		name                     string
		order, code, amount, sig string
		want                     bool
	}{
		{"good", "order-1", "200", "100000.00", good, true},
		{"upper-case hex", "order-1", "200", "100000.00", strings.ToUpper(good), true},
		{"wrong", "order-1", "200", "100000.00", Signature("order-1", "200", "100000.00", "another-key"), false},
		{"gross amount written otherwise", "order-1", "200", "100000", good, false},
		{"tampered status code", "order-1", "201", "100000.00", good, false},
		{"other order", "order-2", "200", "100000.00", good, false},
		{"not hex", "order-1", "200", "100000.00", "zz" + good[2:], false},
		{"truncated", "order-1", "200", "100000.00", good[:64], false},
		{"empty", "order-1", "200", "100000.00", "", false},
	}
	for _, c := range cases {
		if got := SignatureValid(c.order, c.code, c.amount, key, c.sig); got != c.want {
			t.Errorf("%s: SignatureValid = %v", c.name, got)
		}
	}
	// The plain concatenation, as sha512sum computes it:
	// printf '%s' "Postman-157856885120010000.00VT-server-HJMpl9HLr_ntOKt5mRONdmKj" | sha512sum
	const independent = "e78e2223638cb60dbdbc88d23deb9b927ac41be7263ab38758605bac834dc25425705543707504bfef0802914cfa3f5f538fa308d1f9086211c420e7892ba2ba"
	if got := Signature("Postman-1578568851", "200", "10000.00", "VT-server-HJMpl9HLr_ntOKt5mRONdmKj"); got != independent {
		t.Errorf("signature of the plain concatenation: %s", got)
	}
}

func TestParseAmount(t *testing.T) {
	for s, want := range map[string]int64{
		"100000.00": 100000, "100000": 100000, "100000.0": 100000, "0.00": 0, "49000.000": 49000,
	} {
		if got, err := ParseAmount(s); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{
		"", ".00", "100000.", "100000.50", "100000.01", "-100000.00", "+100000", "1e5", " 100000", "100000 ",
		"100,000.00", "10000000000000000000", "0x10", "１００", "100000.00.00",
	} {
		if got, err := ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%q) = %d, want an error", s, got)
		}
	}
}

func TestValidOrderID(t *testing.T) {
	for id, want := range map[string]bool{
		"3f1c2b8e-5d4a-4c1e-9a7b-2e6f8d0c1a3b": true, "order_1.2~3": true, "A": true,
		"": false, ".": false, "..": false, "-x": false, "a/b": false, "a?b": false, "a b": false, "a%2F": false,
		strings.Repeat("a", 50): true, strings.Repeat("a", 51): false, "ä": false,
	} {
		if ValidOrderID(id) != want {
			t.Errorf("ValidOrderID(%q) = %v", id, !want)
		}
	}
}

func TestValidateRequest(t *testing.T) {
	good := Request{OrderID: "o-1", UserID: "u-1", Amount: 49000, Item: Item{ID: "plan-1", Name: "Monthly", Price: 49000},
		Customer: Customer{Name: "Ana", Email: "ana@example.com"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	noCustomer := good
	noCustomer.Customer = Customer{}
	if err := noCustomer.Validate(); err != nil {
		t.Fatalf("customer details are optional at Midtrans: %v", err)
	}
	for name, change := range map[string]func(*Request){
		"no order id":      func(r *Request) { r.OrderID = "" },
		"order id path":    func(r *Request) { r.OrderID = "../x" },
		"no user":          func(r *Request) { r.UserID = "" },
		"zero amount":      func(r *Request) { r.Amount, r.Item.Price = 0, 0 },
		"negative amount":  func(r *Request) { r.Amount, r.Item.Price = -5, -5 },
		"huge amount":      func(r *Request) { r.Amount, r.Item.Price = MaxAmount+1, MaxAmount+1 },
		"no item id":       func(r *Request) { r.Item.ID = "" },
		"long item id":     func(r *Request) { r.Item.ID = strings.Repeat("p", 51) },
		"no item name":     func(r *Request) { r.Item.Name = "" },
		"price not amount": func(r *Request) { r.Item.Price = 59000 },
		"long name":        func(r *Request) { r.Customer.Name = strings.Repeat("n", 256) },
		"bad email":        func(r *Request) { r.Customer.Email = "ana" },
		"named email":      func(r *Request) { r.Customer.Email = "Ana <ana@example.com>" },
	} {
		r := good
		change(&r)
		var ve *ValidationError
		if err := r.Validate(); !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a ValidationError", name, err)
		}
	}
}
