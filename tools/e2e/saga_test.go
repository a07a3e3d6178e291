package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flow 1: paid -> PAID -> subscription granted -> COMPLETED, for both ways
// Midtrans says "paid" (settlement; card capture with fraud accept).
func TestPaidOrderCompletesAndGrantsOneSubscription(t *testing.T) {
	p := createPlan(t, 120000, 99000, 30)
	for _, c := range []struct{ status, fraud, paymentType string }{
		{"settlement", "accept", "bank_transfer"},
		{"capture", "accept", "credit_card"},
	} {
		t.Run(c.status, func(t *testing.T) {
			v := newViewer(t)
			o := placeOrder(t, v, p.ID)
			if o.Order.Status != "PENDING" || o.Order.Price != 99000 || o.Payment.Token == "" || o.Payment.RedirectURL == "" {
				t.Fatalf("created %+v: want PENDING at the discount price with a Snap token", o)
			}
			pay(t, o.Order.ID, c.status, c.fraud, c.paymentType)
			d := waitStatus(t, v, o.Order.ID, "COMPLETED")
			for _, s := range []string{"created", "payment-requested", "paid", "subscription-granted", "completed"} {
				if !slices.Contains(d.steps(), s) {
					t.Errorf("timeline %v lacks %s", d.steps(), s)
				}
			}
			for _, st := range d.Timeline {
				if _, err := time.Parse(time.RFC3339Nano, st.At); err != nil {
					t.Errorf("step %s at %q: %v", st.Step, st.At, err)
				}
			}
			var pv struct{ Status, PaymentType string }
			if json.Unmarshal(d.Payment, &pv) != nil || pv.Status != "PAID" || pv.PaymentType != c.paymentType {
				t.Errorf("payment part %s", d.Payment)
			}
			sub, status := mySubscription(t, v)
			if status != http.StatusOK || sub.Status != "ACTIVE" || sub.OrderID != o.Order.ID {
				t.Fatalf("subscription/me = %d %+v", status, sub)
			}
			end, err := time.Parse(time.RFC3339Nano, sub.EndAt)
			if err != nil || end.Sub(time.Now()) < 29*24*time.Hour || end.Sub(time.Now()) > 31*24*time.Hour {
				t.Errorf("endAt %s: want about 30 days from now", sub.EndAt)
			}
			// Subscribed: another order is refused before anything is charged.
			r := v.do(t, http.MethodPost, "/api/v1/orders", map[string]string{"planId": p.ID})
			mustRefuse(t, r, http.StatusConflict, "subscription_active")
		})
	}
}

// Flow 2: paid, but the plan was deactivated meanwhile: compensation refunds
// it through Midtrans' refund API, once, with refund_key refund-<orderId>.
// A bank transfer cannot be refunded by API: REFUND_FAILED, with the reason,
// until an admin records a refund made by hand.
func TestPaidOrderThatCannotBeGrantedIsRefunded(t *testing.T) {
	p := createPlan(t, 75000, 0, 7)
	refundable, manual := newViewer(t), newViewer(t)
	o1 := placeOrder(t, refundable, p.ID)
	o2 := placeOrder(t, manual, p.ID)
	mustStatus(t, asAdmin(t, http.MethodDelete, "/api/v1/subscription/plans/"+p.ID, nil), http.StatusNoContent)
	// New orders cannot use a deactivated plan.
	mustRefuse(t, newViewer(t).do(t, http.MethodPost, "/api/v1/orders", map[string]string{"planId": p.ID}),
		http.StatusConflict, "plan_inactive")

	pay(t, o1.Order.ID, "settlement", "accept", "gopay")
	pay(t, o2.Order.ID, "settlement", "accept", "bank_transfer")

	d := waitStatus(t, refundable, o1.Order.ID, "REFUNDED")
	for _, s := range []string{"paid", "subscription-refused", "refund-requested", "refunded"} {
		if !slices.Contains(d.steps(), s) {
			t.Errorf("timeline %v lacks %s", d.steps(), s)
		}
	}
	if tx := midtransRecord(t, o1.Order.ID); len(tx.Refunds) != 1 || tx.Refunds[0].RefundKey != "refund-"+o1.Order.ID {
		t.Errorf("Midtrans refunds of %s: %+v, want one with key refund-<orderId>", o1.Order.ID, tx.Refunds)
	}
	if _, status := mySubscription(t, refundable); status != http.StatusNotFound {
		t.Errorf("refunded buyer has a subscription: %d", status)
	}

	d2 := waitStatus(t, manual, o2.Order.ID, "REFUND_FAILED")
	if d2.Order.Reason == "" {
		t.Errorf("REFUND_FAILED without a reason: %+v", d2.Order)
	}
	if tx := midtransRecord(t, o2.Order.ID); len(tx.Refunds) != 0 {
		t.Errorf("a bank transfer was refunded by API: %+v", tx.Refunds)
	}
	// Only an admin marks it refunded, and only from REFUND_FAILED.
	mustRefuse(t, manual.do(t, http.MethodPost, "/api/v1/orders/"+o2.Order.ID+"/mark-refunded", map[string]string{"note": "x"}),
		http.StatusForbidden, "forbidden")
	r := asAdmin(t, http.MethodPost, "/api/v1/orders/"+o2.Order.ID+"/mark-refunded", map[string]string{"note": "BCA transfer back, ticket 42"})
	mustStatus(t, r, http.StatusOK)
	waitStatus(t, manual, o2.Order.ID, "REFUNDED")
	mustRefuse(t, asAdmin(t, http.MethodPost, "/api/v1/orders/"+o1.Order.ID+"/mark-refunded", map[string]string{"note": "again"}),
		http.StatusConflict, "conflict")
}

// Flow 3: the payment does not happen (cancel, expire, deny, failure) or is
// challenged for fraud (payment cancels it at Midtrans): CANCELLED, and the
// user may order again.
func TestUnpaidOrderIsCancelledAndTheUserCanOrderAgain(t *testing.T) {
	p := createPlan(t, 50000, 0, 30)
	for _, c := range []struct{ status, fraud, paymentType string }{
		{"deny", "deny", "credit_card"},
		{"expire", "", "bank_transfer"},
		{"cancel", "", "gopay"},
		{"capture", "challenge", "credit_card"},
	} {
		t.Run(c.status+"-"+c.fraud, func(t *testing.T) {
			v := newViewer(t)
			o := placeOrder(t, v, p.ID)
			if c.status == "cancel" { // only a transaction with a payment type can be cancelled
				pay(t, o.Order.ID, "pending", "", c.paymentType)
			}
			pay(t, o.Order.ID, c.status, c.fraud, c.paymentType)
			d := waitStatus(t, v, o.Order.ID, "CANCELLED")
			if !slices.Contains(d.steps(), "cancelled") {
				t.Errorf("timeline %v lacks cancelled", d.steps())
			}
			if _, status := mySubscription(t, v); status != http.StatusNotFound {
				t.Errorf("a cancelled order granted a subscription: %d", status)
			}
			placeOrder(t, v, p.ID)
		})
	}
}

// The webhook believes nothing it cannot check: a wrong signature is 403, an
// amount that is not the order's is 422, and neither changes anything;
// duplicates and notifications older than what Midtrans now says change
// nothing either.
func TestWebhookRefusesForgedAndIgnoresStaleNotifications(t *testing.T) {
	p := createPlan(t, 65000, 0, 30)
	v := newViewer(t)
	o := placeOrder(t, v, p.ID)
	key := serverKey(t)

	mustRefuse(t, webhook(t, notification(o.Order.ID, "200", "settlement", "65000.00", "not-the-key")), http.StatusForbidden, "forbidden")
	// Signed correctly, but not over the amount of the order.
	mustRefuse(t, webhook(t, notification(o.Order.ID, "200", "settlement", "1000.00", key)), http.StatusUnprocessableEntity, "unprocessable")
	// Signed and for the right amount, but Midtrans' status API knows no
	// payment yet: it, not the notification, decides (try again later).
	if r := webhook(t, notification(o.Order.ID, "200", "settlement", "65000.00", key)); r.Status/100 == 2 {
		t.Errorf("a notification the status API cannot confirm was accepted: %d %s", r.Status, r.Body)
	}
	mustRefuse(t, webhook(t, notification(newUUID(), "200", "settlement", "65000.00", key)), http.StatusNotFound, "not_found")
	mustRefuse(t, webhook(t, `{"order_id": `), http.StatusBadRequest, "invalid")
	time.Sleep(3 * time.Second) // long enough for an event to have gone out
	if d, _ := readOrder(t, v, o.Order.ID); d.Order.Status != "PENDING" {
		t.Fatalf("forged notifications moved the order to %s", d.Order.Status)
	}

	pay(t, o.Order.ID, "settlement", "accept", "gopay")
	waitStatus(t, v, o.Order.ID, "COMPLETED")
	for range 3 { // Midtrans resends
		mustStatus(t, call(t, http.MethodPost, midtrans+"/simulate/"+o.Order.ID+"/notify", map[string]string{}), http.StatusOK)
	}
	// An old "pending", signed, arriving late.
	mustStatus(t, webhook(t, notification(o.Order.ID, "201", "pending", "65000.00", key)), http.StatusOK)
	time.Sleep(3 * time.Second)
	d := waitStatus(t, v, o.Order.ID, "COMPLETED")
	if n := strings.Count(strings.Join(d.steps(), ","), "subscription-granted"); n != 1 {
		t.Errorf("granted %d times: %v", n, d.steps())
	}
}

// One user pressing "buy" many times at once gets one order; the store, not
// a check-then-insert, decides.
func TestConcurrentOrdersOfOneUserMakeOneOrder(t *testing.T) {
	p := createPlan(t, 40000, 0, 30)
	v := newViewer(t)
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			r := v.do(t, http.MethodPost, "/api/v1/orders", map[string]string{"planId": p.ID})
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
			if r.Status == http.StatusConflict && r.errorCode() != "order_pending" {
				t.Errorf("409 %s, want order_pending", r.Body)
			}
		})
	}
	wg.Wait()
	if codes[http.StatusCreated] != 1 || codes[http.StatusConflict] != 7 {
		t.Fatalf("answers %v: want one 201 and seven 409", codes)
	}
	var page struct {
		Items []orderView `json:"items"`
		Total int         `json:"total"`
	}
	v.do(t, http.MethodGet, "/api/v1/orders?page=1&size=10", nil).json(t, &page)
	if page.Total != 1 || len(page.Items) != 1 {
		t.Fatalf("history %+v: want one order", page)
	}
}

// Orders are private: another user's order is 404 (not even its existence
// leaks); an admin may read it; the history holds only one's own orders.
func TestOrdersAreReadableOnlyByTheirOwner(t *testing.T) {
	p := createPlan(t, 30000, 0, 30)
	owner, other := newViewer(t), newViewer(t)
	o := placeOrder(t, owner, p.ID)
	if _, r := readOrder(t, other, o.Order.ID); r.Status != http.StatusNotFound {
		t.Fatalf("another user reads the order: %d %s", r.Status, r.Body)
	}
	mustStatus(t, asAdmin(t, http.MethodGet, "/api/v1/orders/"+o.Order.ID, nil), http.StatusOK)
	var page struct {
		Total int `json:"total"`
	}
	other.do(t, http.MethodGet, "/api/v1/orders", nil).json(t, &page)
	if page.Total != 0 {
		t.Fatalf("another user's history holds %d orders", page.Total)
	}
	mustRefuse(t, owner.do(t, http.MethodGet, "/api/v1/orders/admin/stuck", nil), http.StatusForbidden, "forbidden")
}

// Every event of a completed saga delivered again (as Kafka may after a
// crash) changes nothing: one subscription, one grant, still COMPLETED.
func TestRedeliveredSagaEventsHaveNoSecondEffect(t *testing.T) {
	p := createPlan(t, 45000, 0, 30)
	v := newViewer(t)
	o := placeOrder(t, v, p.ID)
	pay(t, o.Order.ID, "settlement", "accept", "qris")
	before := waitStatus(t, v, o.Order.ID, "COMPLETED")

	orderDoc := internal(t, http.MethodGet, orderApp+"/internal/orders/"+o.Order.ID, "order", nil)
	paymentDoc := internal(t, http.MethodGet, paymentApp+"/internal/payments/"+o.Order.ID, "payment", nil)
	subDoc := internal(t, http.MethodGet, subApp+"/internal/orders/"+o.Order.ID+"/subscription", "subscription", nil)
	for _, r := range []response{orderDoc, paymentDoc, subDoc} {
		mustStatus(t, r, http.StatusOK)
	}
	var granted struct {
		Subscription json.RawMessage `json:"subscription"`
	}
	subDoc.json(t, &granted)
	redeliver := func(topic, typ string, data json.RawMessage) {
		publishRaw(t, topic, map[string]any{
			"specversion": "1.0", "id": newUUID(), "source": "e2e-redelivery", "type": typ,
			"datacontenttype": "application/json", "data": data,
		})
	}
	// Each event as it was first published: the order was PAID then.
	var asPaid map[string]any
	orderDoc.json(t, &asPaid)
	asPaid["status"] = "PAID"
	paidOrder, _ := json.Marshal(asPaid)
	for range 2 {
		redeliver("payments", "tenflix.payment.requested.v1", paymentDoc.Body)
		redeliver("payments", "tenflix.payment.paid.v1", paymentDoc.Body)
		redeliver("orders", "tenflix.order.paid.v1", paidOrder)
		redeliver("subscriptions", "tenflix.subscription.granted.v1", granted.Subscription)
	}
	time.Sleep(6 * time.Second) // a few outbox hops
	after := waitStatus(t, v, o.Order.ID, "COMPLETED")
	if len(after.Timeline) != len(before.Timeline) {
		t.Errorf("timeline grew from %v to %v", before.steps(), after.steps())
	}
	sub, _ := mySubscription(t, v)
	if sub.OrderID != o.Order.ID {
		t.Errorf("subscription %+v", sub)
	}
	if tx := midtransRecord(t, o.Order.ID); len(tx.Refunds) != 0 {
		t.Errorf("a redelivery refunded a completed order: %+v", tx.Refunds)
	}
}

// Admins see the orders that are not final after a while, with their last
// step; a fresh order is not among them yet. (Expiry of unpaid orders, which
// takes PAYMENT_EXPIRY, is covered by order's and payment's own tests.)
func TestStuckOrdersAreListedForAdmins(t *testing.T) {
	p := createPlan(t, 25000, 0, 30)
	o := placeOrder(t, newViewer(t), p.ID)
	var stuck struct {
		Items []struct {
			ID       string `json:"id"`
			LastStep string `json:"lastStep"`
		} `json:"items"`
	}
	r := asAdmin(t, http.MethodGet, "/api/v1/orders/admin/stuck?olderThan=1m", nil)
	mustStatus(t, r, http.StatusOK)
	r.json(t, &stuck)
	for _, it := range stuck.Items {
		if it.ID == o.Order.ID {
			t.Errorf("a fresh order is listed as stuck: %+v", it)
		}
		if it.LastStep == "" {
			t.Errorf("stuck order %s without its last step", it.ID)
		}
	}
	mustRefuse(t, asAdmin(t, http.MethodGet, "/api/v1/orders/admin/stuck?olderThan=soon", nil), http.StatusBadRequest, "invalid")
}
