package httpapi_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
	"tenflix/services/order-aggregator/internal/sagatest"
)

// seedCompleted adds a completed order of user u1 with its payment and
// subscription.
func seedCompleted(t *testing.T, a *api) *orderv1.Order {
	t.Helper()
	o := a.svc.Order(t, "u1", orderv1.StatusCompleted, time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	a.svc.Lock()
	defer a.svc.Unlock()
	o.Timeline = append(o.Timeline, &orderv1.Step{Name: "paid", At: "2025-03-01T10:01:00Z"},
		&orderv1.Step{Name: "completed", At: "2025-03-01T10:01:02Z", Detail: "subscription " + o.GetId()})
	a.svc.Payments[o.GetId()] = &paymentv1.Payment{OrderId: o.GetId(), UserId: "u1", Amount: 49000, Status: paymentv1.StatusPaid,
		SnapToken: "snap-1", RedirectUrl: "https://pay/snap-1", TransactionId: "tx-1", PaymentType: "gopay",
		TransactionStatus: "settlement", FraudStatus: "accept", RefundKey: "secret-ish", UpdatedAt: "2025-03-01T10:01:00Z", Version: 4}
	a.svc.Subscriptions[o.GetId()] = &subscriptionv1.Subscription{Id: o.GetId(), UserId: "u1", OrderId: o.GetId(), PlanId: "monthly",
		PlanName: "Monthly", Status: subscriptionv1.StatusActive, StartAt: "2025-03-01T10:01:01Z", EndAt: "2025-03-31T10:01:01Z", Version: 1}
	return o
}

func TestOrderDetail(t *testing.T) {
	a := newAPI(t)
	o := seedCompleted(t, a)
	r := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET = %d %s", r.code, r.body)
	}
	v := r.json(t)
	want := map[string]any{
		"order": map[string]any{"id": o.GetId(), "userId": "u1", "status": "COMPLETED", "price": float64(49000),
			"plan":     map[string]any{"id": "monthly", "name": "Monthly", "price": float64(59000), "discountPrice": float64(49000), "activePeriod": float64(30)},
			"customer": map[string]any{"name": "User u1", "email": "u1@example.com"},
			"reason":   "", "refundRequested": false, "createdAt": "2025-03-01T10:00:00Z", "updatedAt": "2025-03-01T10:00:00Z"},
		"payment": map[string]any{"status": "PAID", "paymentType": "gopay", "transactionId": "tx-1", "transactionStatus": "settlement",
			"amount": float64(49000), "token": "snap-1", "redirectUrl": "https://pay/snap-1", "reason": "", "updatedAt": "2025-03-01T10:01:00Z"},
		"subscription": map[string]any{"id": o.GetId(), "planId": "monthly", "planName": "Monthly", "status": "ACTIVE",
			"startAt": "2025-03-01T10:01:01Z", "endAt": "2025-03-31T10:01:01Z"},
		"timeline": []any{
			map[string]any{"step": "created", "at": "2025-03-01T10:00:00Z", "detail": ""},
			map[string]any{"step": "payment-requested", "at": "2025-03-01T10:00:00Z", "detail": "snap u1"},
			map[string]any{"step": "paid", "at": "2025-03-01T10:01:00Z", "detail": ""},
			map[string]any{"step": "completed", "at": "2025-03-01T10:01:02Z", "detail": "subscription " + o.GetId()},
		},
	}
	for k := range want {
		if !reflect.DeepEqual(v[k], want[k]) {
			t.Errorf("%s =\n %v\nwant\n %v", k, v[k], want[k])
		}
	}
	if strings.Contains(string(r.body), "secret-ish") || strings.Contains(string(r.body), "version") {
		t.Errorf("internal fields leak: %s", r.body)
	}
}

func TestOrderDetailParts(t *testing.T) {
	t.Run("none yet: null", func(t *testing.T) {
		a := newAPI(t)
		o := a.svc.Order(t, "u1", orderv1.StatusPending, time.Now())
		v := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "").json(t)
		if v["payment"] != nil || v["subscription"] != nil {
			t.Fatalf("payment %v subscription %v, want null and null", v["payment"], v["subscription"])
		}
		if _, ok := v["payment"]; !ok {
			t.Fatal("payment key missing, want null")
		}
	})
	t.Run("refused", func(t *testing.T) {
		a := newAPI(t)
		o := a.svc.Order(t, "u1", orderv1.StatusPaid, time.Now())
		a.svc.Lock()
		a.svc.Refusals[o.GetId()] = &subscriptionv1.Refusal{OrderId: o.GetId(), UserId: "u1",
			Reason: subscriptionv1.RefusedActiveExists, At: "2025-03-01T10:02:00Z", Version: 1}
		a.svc.Unlock()
		v := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "").json(t)
		want := map[string]any{"refusal": map[string]any{"reason": "active-subscription-exists", "at": "2025-03-01T10:02:00Z"}}
		if !reflect.DeepEqual(v["subscription"], want) {
			t.Fatalf("subscription = %v, want %v", v["subscription"], want)
		}
	})
	t.Run("a failing part is reported, the rest answered", func(t *testing.T) {
		a := newAPI(t)
		o := seedCompleted(t, a)
		a.svc.Fail(sagatest.PaymentGet, 500, "internal")
		r := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "")
		v := r.json(t)
		if r.code != http.StatusOK || path(v, "payment", "error", "code") != "unavailable" || path(v, "payment", "error", "message") == nil {
			t.Fatalf("GET = %d %s, want 200 with payment.error.code unavailable", r.code, r.body)
		}
		if path(v, "subscription", "status") != "ACTIVE" || path(v, "order", "status") != "COMPLETED" {
			t.Fatalf("the other parts are missing: %s", r.body)
		}
	})
	t.Run("a refusal that is not a 404 is a failure, not nothing", func(t *testing.T) {
		a := newAPI(t)
		o := seedCompleted(t, a)
		a.svc.Fail(sagatest.OutcomeGet, 403, "") // daprd's accessControl
		v := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "").json(t)
		if path(v, "subscription", "error", "code") != "unavailable" {
			t.Fatalf("subscription = %v, want an error", v["subscription"])
		}
	})
	t.Run("a slow part times out alone", func(t *testing.T) {
		a := newAPI(t, func(o *options) { o.partTimeout = 200 * time.Millisecond })
		o := seedCompleted(t, a)
		a.svc.Delay(sagatest.OutcomeGet, 2*time.Second)
		start := time.Now()
		r := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "")
		v := r.json(t)
		if msg, _ := path(v, "subscription", "error", "message").(string); r.code != http.StatusOK || !strings.Contains(msg, "did not answer within 200ms") {
			t.Fatalf("GET = %d %s, want the subscription part timed out", r.code, r.body)
		}
		if path(v, "payment", "status") != "PAID" {
			t.Errorf("payment = %v", v["payment"])
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("GET took %s; the slow part should cost at most the part timeout", d)
		}
	})
	t.Run("the order part failing is 503", func(t *testing.T) {
		a := newAPI(t)
		o := seedCompleted(t, a)
		a.svc.Fail(sagatest.OrderGet, 503, "unavailable")
		r := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "")
		if r.code != http.StatusServiceUnavailable || r.errorCode(t) != "unavailable" {
			t.Fatalf("GET = %d %s, want 503", r.code, r.body)
		}
	})
}

// Each part sleeps 300 ms: read one after the other they would take 900.
func TestOrderDetailReadsThePartsConcurrently(t *testing.T) {
	a := newAPI(t)
	o := seedCompleted(t, a)
	for _, route := range []string{sagatest.OrderGet, sagatest.PaymentGet, sagatest.OutcomeGet} {
		a.svc.Delay(route, 300*time.Millisecond)
	}
	a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "") // warm up the connection and the key set
	start := time.Now()
	r := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.user, "")
	elapsed := time.Since(start)
	t.Logf("three 300 ms parts read in %s", elapsed)
	if r.code != http.StatusOK || path(r.json(t), "payment", "status") != "PAID" || path(r.json(t), "subscription", "status") != "ACTIVE" {
		t.Fatalf("GET = %d %s", r.code, r.body)
	}
	if elapsed >= 600*time.Millisecond {
		t.Fatalf("GET took %s with three 300 ms parts: they were not read concurrently", elapsed)
	}
}

func TestOrderDetailOwnership(t *testing.T) {
	a := newAPI(t)
	o := seedCompleted(t, a)
	missing := "0b6c7a3e-3f1e-4d5a-9a43-4c1f0e2d9b11"
	for name, tc := range map[string]struct {
		token, id string
		code      int
	}{
		"owner":                     {a.user, o.GetId(), 200},
		"admin":                     {a.admin, o.GetId(), 200},
		"another user":              {a.other, o.GetId(), 404},
		"unknown order":             {a.user, missing, 404},
		"unknown order, admin":      {a.admin, missing, 404},
		"not an order id":           {a.user, "order-1", 404},
		"an id with an escaped NUL": {a.user, "ab%00cd", 400},
	} {
		r := a.do(http.MethodGet, "/api/v1/orders/"+tc.id, tc.token, "")
		if r.code != tc.code {
			t.Errorf("%s: GET = %d %s, want %d", name, r.code, r.body, tc.code)
		}
	}
	// Another user's 404 is the same as an unknown order's: nothing to tell
	// that the order exists.
	theirs := a.do(http.MethodGet, "/api/v1/orders/"+o.GetId(), a.other, "")
	unknown := a.do(http.MethodGet, "/api/v1/orders/"+missing, a.other, "")
	if string(theirs.body) != string(unknown.body) {
		t.Errorf("another user's order %s, an unknown one %s: they differ", theirs.body, unknown.body)
	}
	if strings.Contains(string(theirs.body), "u1") || strings.Contains(string(theirs.body), "PAID") {
		t.Errorf("the 404 leaks the order: %s", theirs.body)
	}
}
