package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/midtrans/midtrans-go"
	"github.com/midtrans/midtrans-go/coreapi"
	"github.com/midtrans/midtrans-go/snap"

	"tenflix/tools/midtrans-emulator/internal/store"
	"tenflix/tools/midtrans-emulator/internal/txn"
)

const serverKey = "SB-Mid-server-emulator-test-key"

// clock is the emulator's time in tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// receiver is the merchant's notification endpoint.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int // what it answers; 200 by default
	got    chan map[string]any
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK, got: make(chan map[string]any, 64)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("notification: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("notification body: %v", err)
		}
		rc.got <- n
		rc.mu.Lock()
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) answer(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

// next waits for the next notification and checks its signature as a
// merchant must: SHA-512 of order_id + status_code + gross_amount + server key.
func (rc *receiver) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case n := <-rc.got:
		want := txn.Signature(str(n["order_id"]), str(n["status_code"]), str(n["gross_amount"]), serverKey)
		if n["signature_key"] != want {
			t.Errorf("signature_key %v does not verify (want %s)", n["signature_key"], want)
		}
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return nil
	}
}

func (rc *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case n := <-rc.got:
		t.Fatalf("unexpected notification %v", n)
	case <-time.After(200 * time.Millisecond):
	}
}

func str(v any) string { s, _ := v.(string); return s }

// emulator is one running emulator.
type emulator struct {
	url   string
	srv   *Server
	clock *clock
	ts    *httptest.Server
}

func startEmulator(t *testing.T, dir, notificationURL string, c *clock) *emulator {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	srv := New(st, Config{ServerKey: serverKey, NotificationURL: notificationURL, BaseURL: base, Now: c.Now})
	ts.Config.Handler = srv.Handler()
	ts.Start()
	e := &emulator{url: base, srv: srv, clock: c, ts: ts}
	t.Cleanup(e.stop)
	return e
}

func (e *emulator) stop() {
	e.ts.Close()
	e.srv.Close()
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)} }

// rewrite sends midtrans-go's requests for the sandbox hosts to the emulator.
type rewrite struct {
	target string
	next   http.RoundTripper
}

func (rw rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Host {
	case "app.sandbox.midtrans.com", "api.sandbox.midtrans.com":
	default:
		return nil, fmt.Errorf("unexpected host %s", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = "http", strings.TrimPrefix(rw.target, "http://")
	out.Host = ""
	return rw.next.RoundTrip(out)
}

func (e *emulator) sdkHTTP(t *testing.T) *midtrans.HttpClientImplementation {
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return &midtrans.HttpClientImplementation{
		HttpClient: &http.Client{Transport: rewrite{target: e.url, next: transport}, Timeout: 30 * time.Second},
		Logger:     &midtrans.LoggerImplementation{LogLevel: midtrans.NoLogging},
	}
}

func (e *emulator) snap(t *testing.T, key string) snap.Client {
	var c snap.Client
	c.New(key, midtrans.Sandbox)
	c.HttpClient = e.sdkHTTP(t)
	return c
}

func (e *emulator) core(t *testing.T, key string) coreapi.Client {
	var c coreapi.Client
	c.New(key, midtrans.Sandbox)
	c.HttpClient = e.sdkHTTP(t)
	return c
}

// create makes a Snap transaction of one plan for 100000 through the SDK.
func (e *emulator) create(t *testing.T, orderID string, opts ...func(*snap.Request)) *snap.Response {
	t.Helper()
	req := &snap.Request{
		TransactionDetails: midtrans.TransactionDetails{OrderID: orderID, GrossAmt: 100000},
		Items:              &[]midtrans.ItemDetails{{ID: "plan-monthly", Name: "Monthly plan", Price: 100000, Qty: 1}},
		CustomerDetail:     &midtrans.CustomerDetails{FName: "Budi", Email: "budi@example.com"},
	}
	for _, o := range opts {
		o(req)
	}
	c := e.snap(t, serverKey)
	resp, err := c.CreateTransaction(req)
	if err != nil {
		t.Fatalf("create %s: %v", orderID, err)
	}
	return resp
}

// post sends JSON to the emulator and decodes the answer.
func (e *emulator) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(e.url+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// simulate plays a payment step and requires it to be accepted.
func (e *emulator) simulate(t *testing.T, orderID string, req map[string]string) map[string]any {
	t.Helper()
	code, out := e.post(t, "/simulate/"+orderID, req)
	if code != http.StatusOK {
		t.Fatalf("simulate %s %v: %d %v", orderID, req, code, out)
	}
	return out
}

// record is the emulator's whole record of a transaction.
func (e *emulator) record(t *testing.T, orderID string) txn.Transaction {
	t.Helper()
	resp, err := http.Get(e.url + "/emulator/transactions/" + orderID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tx txn.Transaction
	if err := json.NewDecoder(resp.Body).Decode(&tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

// apiError is the *midtrans.Error the SDK returns, or fails.
func apiError(t *testing.T, err *midtrans.Error) (int, string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var e *midtrans.Error
	if !errors.As(err, &e) || e.RawApiResponse == nil {
		t.Fatalf("error without an API response: %v", err)
	}
	return e.StatusCode, string(e.RawApiResponse.RawBody)
}

func txnDetails(orderID string) midtrans.TransactionDetails {
	return midtrans.TransactionDetails{OrderID: orderID, GrossAmt: 100000}
}
