package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar/sidecartest"
	subscriptionv1 "tenflix/proto/subscription/v1"
	"tenflix/services/order-aggregator/internal/app"
	"tenflix/services/order-aggregator/internal/httpapi"
	"tenflix/services/order-aggregator/internal/order"
	"tenflix/services/order-aggregator/internal/payment"
	"tenflix/services/order-aggregator/internal/sagatest"
	"tenflix/services/order-aggregator/internal/subscription"
)

// api is the whole service as the sidecar calls it: the real routes, use
// cases and clients, over a fake sidecar that answers as the order, payment
// and subscription services do (sagatest).
type api struct {
	t       *testing.T
	h       http.Handler
	iss     *authntest.Issuer
	sidecar *sidecartest.Sidecar
	svc     *sagatest.Services
	// Tokens of two users and an admin.
	user, other, admin string
}

type options struct {
	partTimeout, notifyTimeout time.Duration
}

func newAPI(t *testing.T, opts ...func(*options)) *api {
	t.Helper()
	o := options{partTimeout: 2 * time.Second, notifyTimeout: 2 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	sc := sidecartest.New(t, nil)
	svc := sagatest.New(sc)
	dapr := sc.Client(t, "dapr-token")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orders := app.New(app.Options{
		Orders: order.New(dapr, ""), Payments: payment.New(dapr, ""), Subscriptions: subscription.New(dapr, ""),
		PartTimeout: o.partTimeout, NotifyTimeout: o.notifyTimeout, Log: log,
	})
	iss := authntest.NewIssuer(t)
	engine := httpserver.NewEngine(httpserver.Options{Log: log})
	httpapi.Routes(engine, httpapi.Deps{Verifier: iss.Verifier(t), App: orders})
	return &api{
		t: t, h: engine, iss: iss, sidecar: sc, svc: svc,
		user: iss.Token(t, "u1", "user"), other: iss.Token(t, "u2", "user"), admin: iss.Token(t, "root", "user", "admin"),
	}
}

// seedPlan adds a plan to the subscription service.
func (a *api) seedPlan(id string, price, discount int64, active bool) *subscriptionv1.Plan {
	p := &subscriptionv1.Plan{Id: id, Name: "Plan " + id, Price: price, DiscountPrice: discount, ActivePeriod: 30,
		Active: active, CreatedAt: "2025-01-01T00:00:00Z", UpdatedAt: "2025-01-01T00:00:00Z", Version: 1}
	a.svc.Lock()
	defer a.svc.Unlock()
	a.svc.Plans[id] = p
	return p
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the answer as an object.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer %d %s is not a JSON object: %v", r.code, r.body, err)
	}
	return v
}

// errorCode is the envelope's code ("" when the body is no envelope).
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// do sends a request with token as bearer (none when empty) and a JSON body
// (none when empty).
func (a *api) do(method, target, token, body string) response {
	a.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return a.serve(req)
}

func (a *api) serve(req *http.Request) response {
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return response{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// invoked is the invocations made so far of one route, by the fake's name.
func (a *api) invoked(appID, verb, methodPrefix string) []sidecartest.Invoked {
	var out []sidecartest.Invoked
	for _, inv := range a.sidecar.Invoked() {
		if inv.AppID == appID && inv.Verb == verb && strings.HasPrefix(inv.Method, methodPrefix) {
			out = append(out, inv)
		}
	}
	return out
}

// path walks nested JSON objects: path(v, "order", "plan", "price").
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func newRequest(method, target, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}
