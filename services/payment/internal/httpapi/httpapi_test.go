package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"tenflix/platform/httpserver"
	"testing"

	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

const appToken = "app-token"

// stub stands in for the use cases: it answers with err (or a payment) and
// records what it was asked.
type stub struct {
	mu      sync.Mutex
	err     error
	created bool
	calls   []string
}

func (s *stub) record(call string) (*paymentv1.Payment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	if s.err != nil {
		return nil, s.err
	}
	return &paymentv1.Payment{OrderId: "o-1", Amount: 49000, Status: paymentv1.StatusPending, SnapToken: "tok", Version: 1}, nil
}

func (s *stub) Create(_ context.Context, r payment.Request) (*paymentv1.Payment, bool, error) {
	p, err := s.record(fmt.Sprintf("create %s %d %d %s", r.OrderID, r.Amount, r.Item.Price, r.Customer.Email))
	return p, s.created, err
}
func (s *stub) Get(_ context.Context, id string) (*paymentv1.Payment, error) {
	return s.record("get " + id)
}
func (s *stub) Sync(_ context.Context, id string) (*paymentv1.Payment, error) {
	return s.record("sync " + id)
}
func (s *stub) Notify(_ context.Context, n app.Notification) error {
	_, err := s.record(fmt.Sprintf("notify %s %s %s %s", n.OrderID, n.StatusCode, n.GrossAmount, n.TransactionStatus))
	return err
}
func (s *stub) Refund(_ context.Context, id, reason string) (*paymentv1.Payment, error) {
	return s.record("refund " + id + " " + reason)
}

func (s *stub) lastCall() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return ""
	}
	return s.calls[len(s.calls)-1]
}

func serve(t *testing.T, p Payments) *httptest.Server {
	t.Helper()
	engine := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler), AppAPIToken: appToken, MaxBodyBytes: MaxBodyBytes})
	Routes(engine, Deps{Log: slog.New(slog.DiscardHandler), Payments: p})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	body   string
	code   string // the envelope's
}

func call(t *testing.T, srv *httptest.Server, method, path, contentType, body string, token bool) answer {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token {
		req.Header.Set("dapr-api-token", appToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &env)
	return answer{status: resp.StatusCode, body: string(b), code: env.Error.Code}
}

const createBody = `{"orderId":"o-1","userId":"u-1","amount":49000,"item":{"id":"plan-1","name":"Monthly","price":49000},"customer":{"name":"Ana","email":"ana@example.com"}}`

func notificationBody(fields map[string]any) string {
	n := map[string]any{"order_id": "o-1", "status_code": "200", "gross_amount": "49000.00", "signature_key": "ab",
		"transaction_status": "settlement", "va_numbers": []any{map[string]string{"bank": "bca"}}, "new_field": 1}
	for k, v := range fields {
		if v == nil {
			delete(n, k)
		} else {
			n[k] = v
		}
	}
	b, _ := json.Marshal(n)
	return string(b)
}

func TestEnvelopes(t *testing.T) {
	const j = "application/json"
	huge := `{"orderId":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, c := range []struct {
		name                      string
		err                       error // of the use case
		method, path, ctype, body string
		noToken                   bool
		status                    int
		code                      string
	}{
		{"no app token", nil, "GET", "/internal/payments/o-1", "", "", true, 401, "unauthorized"},
		{"malformed", nil, "POST", "/internal/payments", j, `{"orderId":`, false, 400, "invalid"},
		{"empty", nil, "POST", "/internal/payments", j, ``, false, 400, "invalid"},
		{"unknown field", nil, "POST", "/internal/payments", j, `{"orderId":"o-1","price":1}`, false, 400, "invalid"},
		{"fractional amount", nil, "POST", "/internal/payments", j, strings.Replace(createBody, "49000,", "49000.5,", 1), false, 400, "invalid"},
		{"amount words", nil, "POST", "/internal/payments", j, strings.Replace(createBody, "49000,", `"lots",`, 1), false, 400, "invalid"},
		{"NUL", nil, "POST", "/internal/payments", j, strings.Replace(createBody, `"o-1"`, `"o-\u0000"`, 1), false, 400, "invalid"},
		{"invalid UTF-8", nil, "POST", "/internal/payments", j, strings.Replace(createBody, "Ana", "An\xff", 1), false, 400, "invalid"},
		{"not JSON", nil, "POST", "/internal/payments", "text/plain", createBody, false, 415, "unsupported_media_type"},
		{"oversize", nil, "POST", "/internal/payments", j, huge, false, 413, "too_large"},
		{"validation", &payment.ValidationError{Msg: "item.price must equal amount"}, "POST", "/internal/payments", j, createBody, false, 400, "invalid"},
		{"other payment", fmt.Errorf("%w: x", app.ErrConflict), "POST", "/internal/payments", j, createBody, false, 409, "conflict"},
		{"snap down", fmt.Errorf("%w: snap", app.ErrUpstream), "POST", "/internal/payments", j, createBody, false, 502, "bad_gateway"},
		{"no payment", app.ErrNotFound, "GET", "/internal/payments/o-9", "", "", false, 404, "not_found"},
		{"control char in path", nil, "GET", "/internal/payments/o%01", "", "", false, 400, "invalid"},
		{"sync no payment", app.ErrNotFound, "POST", "/internal/payments/o-9/sync", "", "", false, 404, "not_found"},
		{"sync midtrans down", fmt.Errorf("%w: status", app.ErrUpstream), "POST", "/internal/payments/o-1/sync", "", "", false, 502, "bad_gateway"},
		{"sync amount", app.ErrAmountMismatch, "POST", "/internal/payments/o-1/sync", "", "", false, 422, "unprocessable"},
		{"notification array", nil, "POST", "/internal/notifications", j, `[]`, false, 400, "invalid"},
		{"notification number amount", nil, "POST", "/internal/notifications", j, notificationBody(map[string]any{"gross_amount": 49000}), false, 400, "invalid"},
		{"notification unsigned", nil, "POST", "/internal/notifications", j, notificationBody(map[string]any{"signature_key": nil}), false, 400, "invalid"},
		{"notification no order", nil, "POST", "/internal/notifications", j, notificationBody(map[string]any{"order_id": ""}), false, 400, "invalid"},
		{"notification two objects", nil, "POST", "/internal/notifications", j, notificationBody(nil) + "{}", false, 400, "invalid"},
		{"notification NUL", nil, "POST", "/internal/notifications", j, notificationBody(map[string]any{"order_id": "o\u0000"}), false, 400, "invalid"},
		{"notification oversize", nil, "POST", "/internal/notifications", j, notificationBody(map[string]any{"pad": strings.Repeat("x", MaxBodyBytes)}), false, 413, "too_large"},
		{"notification form", nil, "POST", "/internal/notifications", "application/x-www-form-urlencoded", "order_id=o-1", false, 415, "unsupported_media_type"},
		{"bad signature", app.ErrBadSignature, "POST", "/internal/notifications", j, notificationBody(nil), false, 403, "forbidden"},
		{"unknown order", app.ErrNotFound, "POST", "/internal/notifications", j, notificationBody(nil), false, 404, "not_found"},
		{"amount mismatch", app.ErrAmountMismatch, "POST", "/internal/notifications", j, notificationBody(nil), false, 422, "unprocessable"},
		{"midtrans down", fmt.Errorf("%w: status", app.ErrUpstream), "POST", "/internal/notifications", j, notificationBody(nil), false, 502, "bad_gateway"},
		{"transaction taken", payment.ErrTransactionTaken, "POST", "/internal/notifications", j, notificationBody(nil), false, 409, "conflict"},
		{"state store down", errors.New("dial tcp: refused"), "POST", "/internal/notifications", j, notificationBody(nil), false, 500, "internal"},
		{"wrong method", nil, "DELETE", "/internal/payments/o-1", "", "", false, 405, "method_not_allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := serve(t, &stub{err: c.err})
			got := call(t, srv, c.method, c.path, c.ctype, c.body, !c.noToken)
			if got.status != c.status || got.code != c.code {
				t.Fatalf("%d %s, want %d %s: %s", got.status, got.code, c.status, c.code, got.body)
			}
			if got.status == 500 && strings.Contains(got.body, "refused") {
				t.Fatalf("an internal error leaked: %s", got.body)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	s := &stub{created: true}
	srv := serve(t, s)
	got := call(t, srv, "POST", "/internal/payments", "application/json", createBody, true)
	if got.status != 201 || !strings.Contains(got.body, `"amount":"49000"`) || !strings.Contains(got.body, `"snapToken":"tok"`) ||
		!strings.Contains(got.body, `"transactionId":""`) {
		t.Fatalf("create: %d %s", got.status, got.body)
	}
	if s.lastCall() != "create o-1 49000 49000 ana@example.com" {
		t.Fatalf("asked %q", s.lastCall())
	}
	// Amounts written as protojson writes int64.
	s.created = false
	got = call(t, srv, "POST", "/internal/payments", "application/json", strings.ReplaceAll(createBody, "49000", `"49000"`), true)
	if got.status != 200 || s.lastCall() != "create o-1 49000 49000 ana@example.com" {
		t.Fatalf("retry: %d %s (%s)", got.status, got.body, s.lastCall())
	}
	if got := call(t, srv, "GET", "/internal/payments/o-1", "", "", true); got.status != 200 || s.lastCall() != "get o-1" {
		t.Fatalf("get: %d %s", got.status, got.body)
	}
	if got := call(t, srv, "POST", "/internal/payments/o-1/sync", "application/json", "{}", true); got.status != 200 || s.lastCall() != "sync o-1" {
		t.Fatalf("sync: %d %s", got.status, got.body)
	}
	got = call(t, srv, "POST", "/internal/notifications", "", notificationBody(nil), true)
	if got.status != 200 || got.body != `{"status":"ok"}` || s.lastCall() != "notify o-1 200 49000.00 settlement" {
		t.Fatalf("notify: %d %s (%s)", got.status, got.body, s.lastCall())
	}
}

func TestRefundRequestedEvents(t *testing.T) {
	order := `{"id":"o-1","status":"PAID","refundRequested":true,"reason":"an active subscription exists","price":"49000","version":"4"}`
	event := func(typ, dataField string) string {
		return `{"id":"e-1","type":"` + typ + `","topic":"orders",` + dataField + `}`
	}
	const refund = "tenflix.order.refund-requested.v1"
	quoted, _ := json.Marshal(order)
	for _, c := range []struct {
		name, body string
		err        error
		want       string // SUCCESS, RETRY or DROP
		asked      bool
	}{
		{"refunded", event(refund, `"data":`+order), nil, "SUCCESS", true},
		{"data as a string", event(refund, `"data":`+string(quoted)), nil, "SUCCESS", true},
		{"data in base64", event(refund, `"data_base64":"`+base64.StdEncoding.EncodeToString([]byte(order))+`"`), nil, "SUCCESS", true},
		{"midtrans down", event(refund, `"data":`+order), fmt.Errorf("%w: refund", app.ErrUpstream), "RETRY", true},
		{"not paid yet", event(refund, `"data":`+order), app.ErrNotPaidYet, "RETRY", true},
		{"write conflict", event(refund, `"data":`+order), app.ErrConflict, "RETRY", true},
		{"no payment", event(refund, `"data":`+order), app.ErrNotFound, "DROP", true},
		{"cancelled payment", event(refund, `"data":`+order), app.ErrNotRefundable, "DROP", true},
		{"other type", event("tenflix.order.paid.v1", `"data":`+order), nil, "DROP", false},
		{"no data", event(refund, `"data":null`), nil, "DROP", false},
		{"not an order", event(refund, `"data":{"id":7}`), nil, "DROP", false},
		{"no refund asked", event(refund, `"data":{"id":"o-1","refundRequested":false}`), nil, "DROP", false},
		{"not a cloudevent", `{"id":`, nil, "DROP", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &stub{err: c.err}
			got := call(t, serve(t, s), "POST", RefundRequestedPath, "application/json", c.body, true)
			if got.status != 200 || got.body != `{"status":"`+c.want+`"}` {
				t.Fatalf("%d %s, want %s", got.status, got.body, c.want)
			}
			if asked := s.lastCall() != ""; asked != c.asked {
				t.Fatalf("refund asked: %v (%q)", asked, s.lastCall())
			}
			if c.asked && s.lastCall() != "refund o-1 an active subscription exists" {
				t.Fatalf("asked %q", s.lastCall())
			}
		})
	}
}
