package httpapi_test

import (
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	orderv1 "tenflix/proto/order/v1"
	"tenflix/services/order-aggregator/internal/sagatest"
)

func TestPlaceOrder(t *testing.T) {
	a := newAPI(t)
	a.seedPlan("monthly", 59000, 49000, true)

	r := a.do(http.MethodPost, "/api/v1/orders", a.user, `{"planId":"monthly"}`)
	if r.code != http.StatusCreated {
		t.Fatalf("POST /api/v1/orders = %d %s, want 201", r.code, r.body)
	}
	v := r.json(t)
	id, _ := path(v, "order", "id").(string)
	if u, err := uuid.Parse(id); err != nil || u.Version() != 4 {
		t.Fatalf("order id %q is not a UUID v4", id)
	}
	if got := r.header.Get("Location"); got != "/api/v1/orders/"+id {
		t.Errorf("Location = %q", got)
	}
	// Prices are JSON numbers in the REST shape; the discount price is charged.
	for _, f := range []struct {
		keys []string
		want any
	}{
		{[]string{"order", "status"}, "PENDING"},
		{[]string{"order", "price"}, float64(49000)},
		{[]string{"order", "plan", "id"}, "monthly"},
		{[]string{"order", "plan", "price"}, float64(59000)},
		{[]string{"order", "plan", "discountPrice"}, float64(49000)},
		{[]string{"order", "plan", "activePeriod"}, float64(30)},
		{[]string{"payment", "token"}, "snap-" + id},
	} {
		if got := path(v, f.keys...); got != f.want {
			t.Errorf("%v = %#v, want %#v", f.keys, got, f.want)
		}
	}
	if path(v, "order", "createdAt") == "" || path(v, "payment", "redirectUrl") == "" {
		t.Errorf("answer lacks createdAt or redirectUrl: %s", r.body)
	}

	// The order carries the customer from the verified token.
	a.svc.Lock()
	stored := a.svc.Orders[id]
	req := a.svc.PaymentRequests[0]
	a.svc.Unlock()
	if c := stored.GetCustomer(); stored.GetUserId() != "u1" || c.GetName() != "User u1" || c.GetEmail() != "u1@example.com" || stored.GetPrice() != 49000 {
		t.Errorf("stored order %v", stored)
	}
	// payment gets the plan as the only item at the charged price.
	want := map[string]any{"orderId": id, "userId": "u1", "amount": float64(49000),
		"item":     map[string]any{"id": "monthly", "name": "Plan monthly", "price": float64(49000)},
		"customer": map[string]any{"name": "User u1", "email": "u1@example.com"}}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("payment request %v, want %v", req, want)
	}
	// Each call went to the right app with the sidecar's token.
	for _, inv := range a.sidecar.Invoked() {
		if inv.Token != "dapr-token" {
			t.Errorf("%s %s without the Dapr API token", inv.AppID, inv.Method)
		}
	}
}

func TestPlaceOrderWithoutDiscountChargesThePrice(t *testing.T) {
	a := newAPI(t)
	a.seedPlan("yearly", 499000, 0, true)
	r := a.do(http.MethodPost, "/api/v1/orders", a.user, `{"planId":"yearly"}`)
	if r.code != http.StatusCreated || path(r.json(t), "order", "price") != float64(499000) {
		t.Fatalf("POST = %d %s, want 201 at 499000", r.code, r.body)
	}
}

func TestPlaceOrderRefusals(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(a *api)
		body     string
		wantCode int
		wantErr  string
	}{
		{"plan not found", func(a *api) {}, `{"planId":"nope"}`, 404, "not_found"},
		{"plan inactive", func(a *api) { a.seedPlan("monthly", 59000, 0, false) }, "", 409, "plan_inactive"},
		{"plan without a price", func(a *api) { a.seedPlan("monthly", 0, 0, true) }, "", 409, "plan_inactive"},
		{"plan read fails", func(a *api) { a.svc.Fail(sagatest.PlanGet, 500, "internal") }, "", 503, "unavailable"},
		{"already entitled", func(a *api) {
			a.svc.Lock()
			a.svc.Entitled["u1"] = true
			a.svc.Unlock()
		}, "", 409, "subscription_active"},
		{"entitlement fails: fail closed", func(a *api) { a.svc.Fail(sagatest.EntitlementGet, 503, "unavailable") }, "", 503, "unavailable"},
		{"entitlement refused by daprd (no envelope)", func(a *api) { a.svc.Fail(sagatest.EntitlementGet, 403, "") }, "", 503, "unavailable"},
		{"entitlement slow: fail closed", func(a *api) { a.svc.Fail(sagatest.EntitlementGet, 504, "") }, "", 503, "unavailable"},
		{"order pending", func(a *api) { a.svc.Order(t, "u1", orderv1.StatusPending, time.Now()) }, "", 409, "order_pending"},
		{"order paid, not completed yet", func(a *api) { a.svc.Order(t, "u1", orderv1.StatusPaid, time.Now()) }, "", 409, "order_pending"},
		{"order service down", func(a *api) { a.svc.Fail(sagatest.OrderCreate, 500, "internal") }, "", 503, "unavailable"},
		{"order service refuses our request", func(a *api) { a.svc.Fail(sagatest.OrderCreate, 400, "invalid") }, "", 502, "bad_gateway"},
		{"planId missing", func(a *api) {}, `{}`, 400, "invalid"},
		{"planId with a slash", func(a *api) {}, `{"planId":"a/b"}`, 400, "invalid"},
		{"planId with a newline", func(a *api) {}, `{"planId":"a\nb"}`, 400, "invalid"},
		{"planId too long", func(a *api) {}, `{"planId":"` + strings.Repeat("p", 129) + `"}`, 400, "invalid"},
		{"unknown field", func(a *api) {}, `{"planId":"monthly","price":1}`, 400, "invalid"},
		{"not JSON", func(a *api) {}, `planId=monthly`, 400, "invalid"},
		{"NUL in planId", func(a *api) {}, `{"planId":"month\u0000ly"}`, 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t)
			if tt.name != "plan inactive" && tt.name != "plan without a price" {
				a.seedPlan("monthly", 59000, 49000, true)
			}
			tt.setup(a)
			body := tt.body
			if body == "" {
				body = `{"planId":"monthly"}`
			}
			r := a.do(http.MethodPost, "/api/v1/orders", a.user, body)
			if r.code != tt.wantCode || r.errorCode(t) != tt.wantErr {
				t.Fatalf("POST = %d %s, want %d %s", r.code, r.body, tt.wantCode, tt.wantErr)
			}
			if len(a.invoked("payment", "POST", "internal/payments")) != 0 {
				t.Error("a refused order reached payment")
			}
		})
	}
}

// Snap failing: the order is cancelled, so that the user may order again.
func TestPlaceOrderCancelsWhenPaymentFails(t *testing.T) {
	for _, status := range []int{500, 503, 400} {
		a := newAPI(t)
		a.seedPlan("monthly", 59000, 49000, true)
		a.svc.Fail(sagatest.PaymentCreate, status, "bad_gateway")
		r := a.do(http.MethodPost, "/api/v1/orders", a.user, `{"planId":"monthly"}`)
		if r.code != http.StatusBadGateway || r.errorCode(t) != "bad_gateway" {
			t.Fatalf("payment %d: POST = %d %s, want 502 bad_gateway", status, r.code, r.body)
		}
		cancels := a.invoked("order", "POST", "internal/orders/")
		if len(cancels) != 1 || string(cancels[0].Body) != `{"reason":"payment-unavailable"}` {
			t.Fatalf("payment %d: cancel calls %+v", status, cancels)
		}
		a.svc.Lock()
		for _, o := range a.svc.Orders {
			if o.GetStatus() != orderv1.StatusCancelled || o.GetReason() != "payment-unavailable" {
				t.Errorf("order after a failed payment: %v", o)
			}
		}
		a.svc.Unlock()

		a.svc.Heal(sagatest.PaymentCreate)
		if r := a.do(http.MethodPost, "/api/v1/orders", a.user, `{"planId":"monthly"}`); r.code != http.StatusCreated {
			t.Fatalf("ordering again after the cancel = %d %s, want 201", r.code, r.body)
		}
	}
}

// The store, not a check before it, refuses a second open order: of
// concurrent attempts by one user exactly one wins.
func TestConcurrentOrdersOfOneUser(t *testing.T) {
	a := newAPI(t)
	a.seedPlan("monthly", 59000, 49000, true)
	const n = 8
	codes := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = a.do(http.MethodPost, "/api/v1/orders", a.user, `{"planId":"monthly"}`) })
	}
	wg.Wait()
	created := 0
	for _, r := range codes {
		switch {
		case r.code == http.StatusCreated:
			created++
		case r.code == http.StatusConflict && r.errorCode(t) == "order_pending":
		default:
			t.Errorf("concurrent POST = %d %s", r.code, r.body)
		}
	}
	if created != 1 {
		t.Fatalf("%d orders created, want 1", created)
	}
}
