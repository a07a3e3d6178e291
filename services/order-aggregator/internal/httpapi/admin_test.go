package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	orderv1 "tenflix/proto/order/v1"
	"tenflix/services/order-aggregator/internal/sagatest"
)

func TestStuckOrders(t *testing.T) {
	a := newAPI(t)
	now := time.Now().UTC().Truncate(time.Second)
	old := a.svc.Order(t, "u1", orderv1.StatusPending, now.Add(-2*time.Hour))
	paid := a.svc.Order(t, "u2", orderv1.StatusPaid, now.Add(-30*time.Minute))
	a.svc.Order(t, "u3", orderv1.StatusPending, now.Add(-time.Minute))   // too recent
	a.svc.Order(t, "u4", orderv1.StatusCompleted, now.Add(-3*time.Hour)) // final
	a.svc.Lock()
	paid.Timeline = append(paid.Timeline, &orderv1.Step{Name: "paid", At: now.Add(-25 * time.Minute).Format(time.RFC3339)})
	a.svc.Unlock()

	r := a.do(http.MethodGet, "/api/v1/orders/admin/stuck?olderThan=10m", a.admin, "")
	if r.code != http.StatusOK {
		t.Fatalf("GET = %d %s", r.code, r.body)
	}
	items, _ := r.json(t)["items"].([]any)
	if len(items) != 2 || path(items[0], "id") != old.GetId() || path(items[1], "id") != paid.GetId() {
		t.Fatalf("items = %s, want the two stuck orders, oldest first", r.body)
	}
	first, second := items[0], items[1]
	if path(first, "lastStep") != "payment-requested" || path(first, "status") != "PENDING" || path(first, "price") != float64(49000) {
		t.Errorf("first = %v", first)
	}
	if age, _ := path(first, "ageSeconds").(float64); age < 7200 || age > 7260 || path(first, "age") == "" {
		t.Errorf("first age = %v (%v), want about 2h", path(first, "age"), age)
	}
	if path(second, "lastStep") != "paid" || path(second, "lastStepAt") != now.Add(-25*time.Minute).Format(time.RFC3339) {
		t.Errorf("second = %v", second)
	}
	q, _ := url.ParseQuery(a.invoked("order", "GET", "internal/orders/stuck")[0].Query)
	if d, err := time.ParseDuration(q.Get("olderThan")); err != nil || d != 10*time.Minute {
		t.Errorf("olderThan sent = %q", q.Get("olderThan"))
	}

	// Absent: 10 minutes.
	if r := a.do(http.MethodGet, "/api/v1/orders/admin/stuck", a.admin, ""); r.code != http.StatusOK {
		t.Errorf("without olderThan = %d %s", r.code, r.body)
	}
	for _, bad := range []string{"30s", "721h", "abc", "10", "-5m"} {
		if r := a.do(http.MethodGet, "/api/v1/orders/admin/stuck?olderThan="+bad, a.admin, ""); r.code != http.StatusBadRequest || r.errorCode(t) != "invalid" {
			t.Errorf("olderThan=%s = %d %s, want 400 invalid", bad, r.code, r.body)
		}
	}
	for _, good := range []string{"1m", "720h", "1h30m"} {
		if r := a.do(http.MethodGet, "/api/v1/orders/admin/stuck?olderThan="+good, a.admin, ""); r.code != http.StatusOK {
			t.Errorf("olderThan=%s = %d %s, want 200", good, r.code, r.body)
		}
	}
	a.svc.Fail(sagatest.OrderStuck, 500, "internal")
	if r := a.do(http.MethodGet, "/api/v1/orders/admin/stuck", a.admin, ""); r.code != http.StatusServiceUnavailable {
		t.Errorf("order down = %d %s, want 503", r.code, r.body)
	}
}

func TestMarkRefunded(t *testing.T) {
	a := newAPI(t)
	failed := a.svc.Order(t, "u1", orderv1.StatusRefundFailed, time.Now())
	r := a.do(http.MethodPost, "/api/v1/orders/"+failed.GetId()+"/mark-refunded", a.admin, `{"note":"refunded by bank transfer, ref 42"}`)
	if r.code != http.StatusOK || r.json(t)["status"] != "REFUNDED" || r.json(t)["id"] != failed.GetId() {
		t.Fatalf("POST = %d %s, want 200 REFUNDED", r.code, r.body)
	}
	a.svc.Lock()
	got := a.svc.MarkRefunds[failed.GetId()]
	a.svc.Unlock()
	if got["note"] != "refunded by bank transfer, ref 42" || got["by"] != "root" {
		t.Errorf("mark-refunded body = %v, want the note and the admin's user id", got)
	}

	pending := a.svc.Order(t, "u2", orderv1.StatusPending, time.Now())
	for name, tc := range map[string]struct {
		id, body string
		code     int
		errCode  string
	}{
		"not REFUND_FAILED: order's 409 passes through": {pending.GetId(), `{"note":"x"}`, 409, "conflict"},
		"already refunded":        {failed.GetId(), `{"note":"again"}`, 409, "conflict"},
		"unknown order":           {"0b6c7a3e-3f1e-4d5a-9a43-4c1f0e2d9b11", `{"note":"x"}`, 404, "not_found"},
		"not an order id":         {"nope", `{"note":"x"}`, 404, "not_found"},
		"no note":                 {pending.GetId(), `{}`, 400, "invalid"},
		"blank note":              {pending.GetId(), `{"note":"   "}`, 400, "invalid"},
		"NUL in the note":         {pending.GetId(), `{"note":"a\u0000"}`, 400, "invalid"},
		"a body that is not JSON": {pending.GetId(), `note`, 400, "invalid"},
	} {
		r := a.do(http.MethodPost, "/api/v1/orders/"+tc.id+"/mark-refunded", a.admin, tc.body)
		if r.code != tc.code || r.errorCode(t) != tc.errCode {
			t.Errorf("%s: POST = %d %s, want %d %s", name, r.code, r.body, tc.code, tc.errCode)
		}
	}
	a.svc.Fail(sagatest.OrderMarkRefund, 503, "unavailable")
	if r := a.do(http.MethodPost, "/api/v1/orders/"+pending.GetId()+"/mark-refunded", a.admin, `{"note":"x"}`); r.code != http.StatusServiceUnavailable {
		t.Errorf("order down = %d %s, want 503", r.code, r.body)
	}
}
