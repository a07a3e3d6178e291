package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tenflix/services/order-aggregator/internal/sagatest"
)

const webhook = "/api/v1/orders/notificationMidtrans"

// A notification as Midtrans sends it: its exact bytes (spacing, key order,
// the amount as a string) are what payment checks the signature over.
const notification = `{ "transaction_time":"2025-03-01 10:00:00","transaction_status":"settlement",
  "transaction_id":"tx-1","status_code":"200","signature_key":"ab12","order_id":"o-1",
  "gross_amount":"49000.00","payment_type":"gopay","fraud_status":"accept", "note":"caf\u00e9 ☕" }`

func (a *api) notify(body, contentType string) response {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, webhook, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return a.serve(req)
}

func TestWebhookForwardsTheExactBytes(t *testing.T) {
	a := newAPI(t)
	r := a.notify(notification, "application/json")
	if r.code != http.StatusOK || string(r.body) != `{"status":"ok"}` {
		t.Fatalf("POST = %d %s, want 200 {\"status\":\"ok\"}", r.code, r.body)
	}
	sent := a.invoked("payment", "POST", "internal/notifications")
	if len(sent) != 1 {
		t.Fatalf("%d notifications forwarded, want 1", len(sent))
	}
	if !bytes.Equal(sent[0].Body, []byte(notification)) || sent[0].ContentType != "application/json" {
		t.Fatalf("forwarded %q (%s), want the exact bytes received as application/json", sent[0].Body, sent[0].ContentType)
	}
	// Midtrans names no content type at times: the body is still JSON.
	if r := a.notify(notification, ""); r.code != http.StatusOK {
		t.Errorf("without a content type = %d %s", r.code, r.body)
	}
}

func TestWebhookRelaysPaymentsAnswer(t *testing.T) {
	for _, tc := range []struct {
		status   int
		code     string
		wantHTTP int
		wantCode string
	}{
		{403, "forbidden", 403, "forbidden"},         // bad signature: Midtrans does not retry much
		{404, "not_found", 404, "not_found"},         // unknown order
		{400, "invalid", 400, "invalid"},             // not a notification
		{422, "unprocessable", 422, "unprocessable"}, // the amount does not match
		{500, "internal", 503, "unavailable"},        // Midtrans retries a 503
		{503, "unavailable", 503, "unavailable"},
		{502, "bad_gateway", 503, "unavailable"}, // Midtrans' status API failed
		{403, "", 503, "unavailable"},            // daprd's own refusal (accessControl): ours to fix, so retry
		{404, "", 503, "unavailable"},            // payment not running under this app id
	} {
		a := newAPI(t)
		a.svc.Fail(sagatest.PaymentNotify, tc.status, tc.code)
		r := a.notify(notification, "application/json")
		if r.code != tc.wantHTTP || r.errorCode(t) != tc.wantCode {
			t.Errorf("payment %d %q: POST = %d %s, want %d %s", tc.status, tc.code, r.code, r.body, tc.wantHTTP, tc.wantCode)
		}
	}
}

func TestWebhookAnswersWellWithinMidtransTimeout(t *testing.T) {
	a := newAPI(t, func(o *options) { o.notifyTimeout = 300 * time.Millisecond })
	a.svc.Delay(sagatest.PaymentNotify, 3*time.Second)
	start := time.Now()
	r := a.notify(notification, "application/json")
	if r.code != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
		t.Fatalf("slow payment: POST = %d %s after %s, want 503 within the timeout", r.code, r.body, time.Since(start))
	}
}

func TestWebhookRefusesWhatIsNoNotification(t *testing.T) {
	a := newAPI(t)
	huge := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	for name, tc := range map[string]struct {
		body, contentType string
		code              int
		errCode           string
	}{
		"an array":       {`[1,2]`, "application/json", 400, "invalid"},
		"null":           {`null`, "application/json", 400, "invalid"},
		"a string":       {`"x"`, "application/json", 400, "invalid"},
		"not JSON":       {`order_id=1`, "application/json", 400, "invalid"},
		"empty":          {``, "application/json", 400, "invalid"},
		"two objects":    {`{} {}`, "application/json", 400, "invalid"},
		"an escaped NUL": {`{"order_id":"a\u0000"}`, "application/json", 400, "invalid"},
		"invalid UTF-8":  {"{\"order_id\":\"\xff\"}", "application/json", 400, "invalid"},
		"a form":         {`order_id=1`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		"over 64 KiB":    {huge, "application/json", 413, "too_large"},
	} {
		r := a.notify(tc.body, tc.contentType)
		if r.code != tc.code || r.errorCode(t) != tc.errCode {
			t.Errorf("%s: POST = %d %s, want %d %s", name, r.code, r.body, tc.code, tc.errCode)
		}
	}
	// A body without a length is bounded as it is read.
	req := httptest.NewRequest(http.MethodPost, webhook, strings.NewReader(huge))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	if r := a.serve(req); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("over 64 KiB, chunked: POST = %d %s, want 413", r.code, r.body)
	}
	if n := len(a.invoked("payment", "POST", "internal/notifications")); n != 0 {
		t.Errorf("%d bad notifications forwarded, want none", n)
	}
}
