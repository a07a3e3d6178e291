package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"tenflix/platform/httpserver"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/app/apptest"
	"tenflix/services/order/internal/events"
	"tenflix/services/order/internal/httpapi"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
)

const (
	token = "app-token"
	id1   = "0b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"
	id2   = "1b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"
)

var now = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

type noPayment struct{}

func (noPayment) Sync(context.Context, string) (*paymentv1.Payment, error) {
	return nil, app.ErrNoPayment
}

func newServer(t *testing.T) (*gin.Engine, *apptest.Store) {
	t.Helper()
	s := apptest.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(app.Options{State: s, Reads: s, Payments: noPayment{}, Log: log, Now: func() time.Time { return now }})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: token})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Orders: a, Events: events.New(a, log)})
	return engine, s
}

type answer struct {
	status int
	body   string
}

func (a answer) code() string {
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(a.body), &env)
	return env.Error.Code
}

func do(t *testing.T, h http.Handler, method, target, body string, header ...string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	req.Header.Set("dapr-api-token", token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return answer{w.Code, w.Body.String()}
}

func orderBody(id, user string) string {
	return `{"id":"` + id + `","userId":"` + user + `","customer":{"userId":"` + user + `","name":"Ana","email":"ana@example.com"},
		"plan":{"id":"p1","name":"Monthly","price":"60000","discountPrice":"50000","activePeriod":30},"price":"50000"}`
}

func TestCreateGetAndList(t *testing.T) {
	h, _ := newServer(t)
	a := do(t, h, http.MethodPost, "/internal/orders", orderBody(id1, "u1"))
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var o map[string]any
	if err := json.Unmarshal([]byte(a.body), &o); err != nil {
		t.Fatal(err)
	}
	// protojson: lowerCamelCase, int64 as strings, every field present.
	if o["id"] != id1 || o["status"] != orderv1.StatusPending || o["price"] != "50000" || o["version"] != "1" ||
		o["refundRequested"] != false || o["reason"] != "" {
		t.Fatalf("order %s", a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders", orderBody(id2, "u1")); a.status != http.StatusConflict || a.code() != "order_pending" {
		t.Fatalf("second open order: %d %s", a.status, a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders", orderBody(id1, "u1")); a.status != http.StatusCreated {
		t.Fatalf("retried create: %d %s", a.status, a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders", orderBody(id1, "u2")); a.status != http.StatusConflict || a.code() != "conflict" {
		t.Fatalf("id of another user's order: %d %s", a.status, a.body)
	}

	if a := do(t, h, http.MethodGet, "/internal/orders/"+id1, ""); a.status != http.StatusOK || !strings.Contains(a.body, `"status":"PENDING"`) {
		t.Fatalf("get: %d %s", a.status, a.body)
	}
	for _, id := range []string{id2, "stuck-ish", strings.ToUpper(id1)} {
		if a := do(t, h, http.MethodGet, "/internal/orders/"+id, ""); a.status != http.StatusNotFound || a.code() != "not_found" {
			t.Fatalf("get %s: %d %s", id, a.status, a.body)
		}
	}

	a = do(t, h, http.MethodGet, "/internal/orders?userId=u1&page=1&size=5", "")
	var list struct {
		Items             []map[string]any
		Page, Size, Total int
	}
	if err := json.Unmarshal([]byte(a.body), &list); err != nil || a.status != http.StatusOK {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	if len(list.Items) != 1 || list.Items[0]["id"] != id1 || list.Page != 1 || list.Size != 5 || list.Total != 1 {
		t.Fatalf("list %s", a.body)
	}
	if a := do(t, h, http.MethodGet, "/internal/orders?userId=nobody", ""); a.status != http.StatusOK ||
		!strings.Contains(a.body, `"items":[]`) || !strings.Contains(a.body, `"size":20`) {
		t.Fatalf("empty list: %s", a.body)
	}
}

func TestCancelAndMarkRefunded(t *testing.T) {
	h, s := newServer(t)
	if a := do(t, h, http.MethodPost, "/internal/orders", orderBody(id1, "u1")); a.status != http.StatusCreated {
		t.Fatal(a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders/"+id1+"/cancel", `{"reason":"payment-unavailable"}`); a.status != http.StatusOK ||
		!strings.Contains(a.body, `"status":"CANCELLED"`) || !strings.Contains(a.body, `"reason":"payment-unavailable"`) {
		t.Fatalf("cancel: %d %s", a.status, a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders/"+id1+"/cancel", `{"reason":"again"}`); a.status != http.StatusConflict || a.code() != "conflict" {
		t.Fatalf("cancel of a cancelled order: %d %s", a.status, a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders/"+id2+"/cancel", `{"reason":"x"}`); a.status != http.StatusNotFound {
		t.Fatalf("cancel of an unknown order: %d %s", a.status, a.body)
	}
	if a := do(t, h, http.MethodPost, "/internal/orders/"+id1+"/mark-refunded", `{"note":"n","by":"admin-1"}`); a.status != http.StatusConflict {
		t.Fatalf("mark-refunded of a cancelled order: %d %s", a.status, a.body)
	}
	s.Put(&orderv1.Order{Id: id2, UserId: "u2", Status: orderv1.StatusRefundFailed, RefundRequested: true, Version: 5})
	a := do(t, h, http.MethodPost, "/internal/orders/"+id2+"/mark-refunded", `{"note":"bank transfer 42","by":"admin-1"}`)
	if a.status != http.StatusOK || !strings.Contains(a.body, `"status":"REFUNDED"`) || !strings.Contains(a.body, "by admin-1: bank transfer 42") {
		t.Fatalf("mark-refunded: %d %s", a.status, a.body)
	}
}

func TestBadInputIsA4xxEnvelope(t *testing.T) {
	h, s := newServer(t)
	s.Put(&orderv1.Order{Id: id1, UserId: "u1", Status: orderv1.StatusPending, Version: 1})
	big := `{"id":"` + strings.Repeat("x", 20<<10) + `"}`
	for _, c := range []struct {
		name, method, target, body string
		status                     int
		header                     []string
	}{
		{"unknown field", http.MethodPost, "/internal/orders", `{"id":"` + id2 + `","colour":"red"}`, 400, nil},
		{"not JSON", http.MethodPost, "/internal/orders", `id=1`, 400, nil},
		{"two values", http.MethodPost, "/internal/orders", orderBody(id2, "u2") + `{}`, 400, nil},
		{"int64 not a number", http.MethodPost, "/internal/orders", strings.Replace(orderBody(id2, "u2"), `"price":"50000"`, `"price":"lots"`, 1), 400, nil},
		{"wrong price", http.MethodPost, "/internal/orders", strings.Replace(orderBody(id2, "u2"), `"price":"50000"`, `"price":"60000"`, 1), 400, nil},
		{"NUL in a name", http.MethodPost, "/internal/orders", strings.Replace(orderBody(id2, "u2"), "Ana", `A\u0000na`, 1), 400, nil},
		{"empty body", http.MethodPost, "/internal/orders", "", 400, nil},
		{"form body", http.MethodPost, "/internal/orders", orderBody(id2, "u2"), 415, []string{"Content-Type", "text/plain"}},
		{"too large", http.MethodPost, "/internal/orders", big, 413, nil},
		{"page 0", http.MethodGet, "/internal/orders?userId=u1&page=0", "", 400, nil},
		{"page not a number", http.MethodGet, "/internal/orders?userId=u1&page=two", "", 400, nil},
		{"empty page", http.MethodGet, "/internal/orders?userId=u1&page=", "", 400, nil},
		{"size too big", http.MethodGet, "/internal/orders?userId=u1&size=101", "", 400, nil},
		{"no user", http.MethodGet, "/internal/orders", "", 400, nil},
		{"NUL in the user", http.MethodGet, "/internal/orders?userId=u%001", "", 400, nil},
		{"invalid UTF-8 in the user", http.MethodGet, "/internal/orders?userId=%ff", "", 400, nil},
		{"user too long", http.MethodGet, "/internal/orders?userId=" + strings.Repeat("u", 200), "", 400, nil},
		{"olderThan not a duration", http.MethodGet, "/internal/orders/stuck?olderThan=soon", "", 400, nil},
		{"olderThan empty", http.MethodGet, "/internal/orders/stuck?olderThan=", "", 400, nil},
		{"olderThan too small", http.MethodGet, "/internal/orders/stuck?olderThan=10ms", "", 400, nil},
		{"olderThan negative", http.MethodGet, "/internal/orders/stuck?olderThan=-1h", "", 400, nil},
		{"olderThan too large", http.MethodGet, "/internal/orders/stuck?olderThan=10000h", "", 400, nil},
		{"olderThan NUL", http.MethodGet, "/internal/orders/stuck?olderThan=1m%00", "", 400, nil},
		{"cancel without a reason", http.MethodPost, "/internal/orders/" + id1 + "/cancel", `{}`, 400, nil},
		{"cancel with a long reason", http.MethodPost, "/internal/orders/" + id1 + "/cancel", `{"reason":"` + strings.Repeat("r", 600) + `"}`, 400, nil},
		{"cancel with another field", http.MethodPost, "/internal/orders/" + id1 + "/cancel", `{"reason":"x","force":true}`, 400, nil},
		{"cancel with NUL", http.MethodPost, "/internal/orders/" + id1 + "/cancel", `{"reason":"x\u0000"}`, 400, nil},
		{"cancel without a body", http.MethodPost, "/internal/orders/" + id1 + "/cancel", "", 400, nil},
		{"mark-refunded without an admin", http.MethodPost, "/internal/orders/" + id1 + "/mark-refunded", `{"note":"n"}`, 400, nil},
		{"NUL in the path", http.MethodGet, "/internal/orders/%00", "", 400, nil},
		{"no app token", http.MethodGet, "/internal/orders/" + id1, "", 401, []string{"dapr-api-token", "wrong"}},
		{"unknown route", http.MethodGet, "/internal/nothing", "", 404, nil},
		{"wrong method", http.MethodDelete, "/internal/orders/" + id1, "", 405, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, h, c.method, c.target, c.body, c.header...)
			if a.status != c.status || a.code() == "" {
				t.Fatalf("%d %s, want %d in the envelope", a.status, a.body, c.status)
			}
		})
	}
	if got := s.Order(id1).GetStatus(); got != orderv1.StatusPending || len(s.Commits()) != 0 {
		t.Fatalf("bad input changed something: %s, %d commits", got, len(s.Commits()))
	}
}

func TestStuckAndSweep(t *testing.T) {
	h, s := newServer(t)
	s.Put(&orderv1.Order{Id: id1, UserId: "u1", Status: orderv1.StatusPending, Version: 1,
		Timeline:  []*orderv1.Step{{Name: orders.StepCreated, At: orders.Stamp(now.Add(-time.Hour))}},
		UpdatedAt: orders.Stamp(now.Add(-time.Hour))})
	s.Put(&orderv1.Order{Id: id2, UserId: "u2", Status: orderv1.StatusPaid, Version: 2, UpdatedAt: orders.Stamp(now.Add(-5 * time.Minute))})

	a := do(t, h, http.MethodGet, "/internal/orders/stuck", "")
	if a.status != http.StatusOK || !strings.Contains(a.body, id1) || strings.Contains(a.body, id2) || !strings.Contains(a.body, `"timeline":[{"name":"created"`) {
		t.Fatalf("stuck (default 10m): %d %s", a.status, a.body)
	}
	a = do(t, h, http.MethodGet, "/internal/orders/stuck?olderThan=1m", "")
	var list struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(a.body), &list); err != nil || len(list.Items) != 2 || list.Items[0]["id"] != id1 {
		t.Fatalf("stuck older than 1m, oldest first: %s", a.body)
	}

	a = do(t, h, http.MethodPost, "/"+httpapi.SweepCronBinding, "")
	if a.status != http.StatusOK || a.body != `{"checked":2,"nudged":1,"cancelled":1,"failed":0}` {
		t.Fatalf("sweep: %d %s", a.status, a.body)
	}
	if got := s.Order(id1); got.GetStatus() != orderv1.StatusCancelled || got.GetReason() != app.NoPaymentReason {
		t.Fatalf("no payment: %v", got)
	}
}

func TestEventRoutesAnswerDaprsContract(t *testing.T) {
	h, s := newServer(t)
	s.Put(&orderv1.Order{Id: id1, UserId: "u1", Status: orderv1.StatusPending, Version: 1})
	cloudEvent := func(eventType, orderID string) string {
		return `{"id":"e1","type":"` + eventType + `","source":"payment","topic":"payments","datacontenttype":"application/json",
			"data":{"orderId":"` + orderID + `","status":"PAID","version":"3"}}`
	}
	for _, c := range []struct {
		name, route, body, want string
	}{
		{"paid", "/events/payment-paid", cloudEvent(paymentv1.EventPaid, id1), "SUCCESS"},
		{"paid again: re-announced", "/events/payment-paid", cloudEvent(paymentv1.EventPaid, id1), "SUCCESS"},
		{"unknown order", "/events/payment-paid", cloudEvent(paymentv1.EventPaid, id2), "DROP"},
		{"misrouted type", "/events/payment-refunded", cloudEvent(paymentv1.EventPaid, id1), "DROP"},
		{"not a CloudEvent", "/events/payment-requested", `[1,2`, "DROP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, h, http.MethodPost, c.route, c.body)
			if a.status != http.StatusOK || a.body != `{"status":"`+c.want+`"}` {
				t.Fatalf("%d %s, want %s", a.status, a.body, c.want)
			}
		})
	}
	s.FailNext(100)
	if a := do(t, h, http.MethodPost, "/events/subscription-granted",
		`{"type":"tenflix.subscription.granted.v1","data":{"orderId":"`+id1+`"}}`); a.body != `{"status":"RETRY"}` {
		t.Fatalf("store failing: %s", a.body)
	}
	if a := do(t, h, http.MethodPost, "/events/payment-paid", cloudEvent(paymentv1.EventPaid, id1), "dapr-api-token", ""); a.status != http.StatusUnauthorized {
		t.Fatalf("event without the app token: %d", a.status)
	}
}
