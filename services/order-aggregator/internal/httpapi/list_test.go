package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	orderv1 "tenflix/proto/order/v1"
	"tenflix/services/order-aggregator/internal/sagatest"
)

func TestOrderHistory(t *testing.T) {
	a := newAPI(t)
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var mine []string
	for i := range 3 {
		mine = append(mine, a.svc.Order(t, "u1", orderv1.StatusCancelled, base.Add(time.Duration(i)*time.Hour)).GetId())
	}
	a.svc.Order(t, "u2", orderv1.StatusPending, base)

	r := a.do(http.MethodGet, "/api/v1/orders?page=1&size=2&userId=u2", a.user, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET = %d %s", r.code, r.body)
	}
	v := r.json(t)
	items, _ := v["items"].([]any)
	if len(items) != 2 || v["page"] != float64(1) || v["size"] != float64(2) || v["total"] != float64(3) {
		t.Fatalf("page = %s, want 2 of 3 items", r.body)
	}
	// Newest first, the caller's own only: ?userId is not the caller's to choose.
	if path(items[0], "id") != mine[2] || path(items[1], "id") != mine[1] || path(items[0], "price") != float64(49000) {
		t.Errorf("items = %v", items)
	}
	q, _ := url.ParseQuery(a.invoked("order", "GET", "internal/orders")[0].Query)
	if q.Get("userId") != "u1" || q.Get("page") != "1" || q.Get("size") != "2" {
		t.Errorf("query sent to order = %v", q)
	}

	v = a.do(http.MethodGet, "/api/v1/orders?page=2&size=2", a.user, "").json(t)
	if items, _ := v["items"].([]any); len(items) != 1 || path(items[0], "id") != mine[0] {
		t.Errorf("page 2 = %v", v)
	}
	// Defaults: page 1, size 20.
	v = a.do(http.MethodGet, "/api/v1/orders", a.user, "").json(t)
	if items, _ := v["items"].([]any); len(items) != 3 || v["page"] != float64(1) || v["size"] != float64(20) {
		t.Errorf("default page = %v", v)
	}
	// No orders: an empty list, not null.
	if r := a.do(http.MethodGet, "/api/v1/orders", a.admin, ""); string(r.body) != `{"items":[],"page":1,"size":20,"total":0}` {
		t.Errorf("no orders = %s", r.body)
	}
}

func TestOrderHistoryBounds(t *testing.T) {
	a := newAPI(t)
	for _, q := range []string{"page=0", "page=-1", "size=0", "size=101", "page=x", "size=1.5", "page=1000001",
		"page=99999999999999999999", "size=%00"} {
		r := a.do(http.MethodGet, "/api/v1/orders?"+q, a.user, "")
		if r.code != http.StatusBadRequest || r.errorCode(t) != "invalid" {
			t.Errorf("?%s = %d %s, want 400 invalid", q, r.code, r.body)
		}
	}
	for _, q := range []string{"page=1&size=1", "size=100", "page=1000000"} {
		if r := a.do(http.MethodGet, "/api/v1/orders?"+q, a.user, ""); r.code != http.StatusOK {
			t.Errorf("?%s = %d %s, want 200", q, r.code, r.body)
		}
	}
	if n := len(a.invoked("order", "GET", "internal/orders")); n != 3 {
		t.Errorf("%d calls to order, want 3 (none for bad bounds)", n)
	}
}

func TestOrderHistoryUnavailable(t *testing.T) {
	a := newAPI(t)
	a.svc.Fail(sagatest.OrderList, 500, "internal")
	r := a.do(http.MethodGet, "/api/v1/orders", a.user, "")
	if r.code != http.StatusServiceUnavailable || r.errorCode(t) != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("GET = %d %v %s, want 503 with Retry-After", r.code, r.header, r.body)
	}
}
