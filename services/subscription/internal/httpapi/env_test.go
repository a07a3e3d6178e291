package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"tenflix/platform/httpserver"
	"testing"
	"time"

	"tenflix/platform/apierror"
	"tenflix/platform/authn/authntest"
	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/httpapi"
	"tenflix/services/subscription/internal/postgres"
	"tenflix/services/subscription/internal/postgres/postgrestest"
	"tenflix/services/subscription/internal/statestore"
)

const appToken = "sidecar-to-app-token"

// env is the service's engine over a fresh, migrated database, written
// through a stand-in of daprd's state API on the same table, with a test
// issuer's tokens and a clock the test moves.
type env struct {
	h   http.Handler
	iss *authntest.Issuer
	api *postgrestest.StateAPI

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn, pool := postgrestest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	api, dapr := postgrestest.NewStateAPI(t, pool)
	e := &env{iss: authntest.NewIssuer(t), api: api, now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	a := app.New(statestore.New(dapr, postgrestest.StateStore), db, app.Options{Now: e.clock})
	engine := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler), AppAPIToken: appToken})
	httpapi.Routes(engine, httpapi.Deps{Log: slog.New(slog.DiscardHandler), Verifier: e.iss.Verifier(t), App: a})
	e.h = engine
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func (e *env) bearer(t *testing.T, sub string, roles ...string) string {
	return "Bearer " + e.iss.Token(t, sub, roles...)
}

// do sends a request as the sidecar would (with the app token); headers
// are name, value pairs. The path is taken as is (no escaping).
func (e *env) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	u, err := url.Parse(path)
	if err != nil {
		req.URL = &url.URL{Path: path}
	} else {
		req.URL = u
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("dapr-api-token", appToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// wantError checks an error answer: its status and the envelope's code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code apierror.Code) {
	t.Helper()
	var b apierror.Body
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &b) != nil || b.Error.Code != code || b.Error.Message == "" {
		t.Fatalf("answer %d %s, want %d %s in the envelope", rec.Code, rec.Body, status, code)
	}
}

// decode parses a JSON answer of status.
func decode(t *testing.T, rec *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	var m map[string]any
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		t.Fatalf("answer %d %s, want %d with a JSON object", rec.Code, rec.Body, status)
	}
	return m
}

// createPlan creates a plan as an admin and returns its id.
func (e *env) createPlan(t *testing.T, body string) string {
	t.Helper()
	m := decode(t, e.do("POST", httpapi.Prefix+"/plans", body, "Authorization", e.bearer(t, "admin-1", "admin")), http.StatusCreated)
	return m["id"].(string)
}

// cloudEvent is a delivery of the sidecar for the order-paid subscription.
func cloudEvent(eventType, data string) string {
	return `{"id":"ev-1","source":"order","type":"` + eventType + `","topic":"orders","pubsubname":"pubsub",` +
		`"datacontenttype":"application/json","data":` + data + `}`
}

// orderJSON is an order as the order service publishes it (protojson).
func orderJSON(id, user, planID, status string, days int) string {
	b, _ := json.Marshal(map[string]any{
		"id": id, "userId": user, "status": status, "price": "50000", "version": "3",
		"customer": map[string]any{"userId": user, "name": "User", "email": user + "@example.com"},
		"plan":     map[string]any{"id": planID, "name": "Basic", "price": "50000", "discountPrice": "0", "activePeriod": days},
		"timeline": []any{}, "refundRequested": false, "reason": "", "createdAt": "2025-03-01T11:59:00Z",
		"updatedAt": "2025-03-01T12:00:00Z", "someFutureField": true,
	})
	return string(b)
}

// deliver posts an event to the order-paid route and returns the status
// the service answered the sidecar (SUCCESS, RETRY, DROP).
func (e *env) deliver(t *testing.T, body string) string {
	t.Helper()
	rec := e.do("POST", httpapi.OrderPaidRoute, body, "Content-Type", "application/cloudevents+json")
	var s struct{ Status string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &s) != nil {
		t.Fatalf("delivery answered %d %s", rec.Code, rec.Body)
	}
	return s.Status
}
