package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	orderv1 "tenflix/proto/order/v1"
)

// /admin/stuck and /notificationMidtrans share their first segment with
// /:id: each request must reach its own handler, with its own checks.
func TestRoutesDoNotShadowEachOther(t *testing.T) {
	a := newAPI(t)
	failed := a.svc.Order(t, "u1", orderv1.StatusRefundFailed, time.Now())
	for _, tc := range []struct {
		name, method, target, token, body string
		code                              int
	}{
		{"stuck as admin", "GET", "/api/v1/orders/admin/stuck", a.admin, "", 200},
		{"stuck as a user is not an order id", "GET", "/api/v1/orders/admin/stuck", a.user, "", 403},
		{"stuck without a token", "GET", "/api/v1/orders/admin/stuck", "", "", 401},
		{"the webhook needs no token", "POST", "/api/v1/orders/notificationMidtrans", "", `{"order_id":"x"}`, 200},
		{"GET on the webhook's path is an order id", "GET", "/api/v1/orders/notificationMidtrans", a.user, "", 404},
		{"admin alone is an order id", "GET", "/api/v1/orders/admin", a.user, "", 404},
		{"mark-refunded is no webhook", "POST", "/api/v1/orders/" + failed.GetId() + "/mark-refunded", "", `{"note":"x"}`, 401},
		{"mark-refunded as a user", "POST", "/api/v1/orders/" + failed.GetId() + "/mark-refunded", a.user, `{"note":"x"}`, 403},
		{"mark-refunded as admin", "POST", "/api/v1/orders/" + failed.GetId() + "/mark-refunded", a.admin, `{"note":"x"}`, 200},
		{"an order", "GET", "/api/v1/orders/" + failed.GetId(), a.user, "", 200},
		{"a trailing slash is no route", "GET", "/api/v1/orders/", a.user, "", 404},
		{"stuck with a trailing slash", "GET", "/api/v1/orders/admin/stuck/", a.admin, "", 404},
		{"POST on stuck", "POST", "/api/v1/orders/admin/stuck", a.admin, "{}", 405},
		{"DELETE an order", "DELETE", "/api/v1/orders/" + failed.GetId(), a.admin, "", 405},
	} {
		r := a.do(tc.method, tc.target, tc.token, tc.body)
		if r.code != tc.code {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.target, r.code, r.body, tc.code)
		}
	}
	// None of the ids above that name no order cost a call.
	for _, inv := range a.invoked("order", "GET", "internal/orders/") {
		if inv.Method != "internal/orders/"+failed.GetId() && inv.Method != "internal/orders/stuck" {
			t.Errorf("order was asked for %s", inv.Method)
		}
	}
}

func TestEveryUserRouteNeedsAToken(t *testing.T) {
	a := newAPI(t)
	expired := a.iss.Claims("u1", "user")
	expired["exp"] = int64(1)
	expiredToken := a.iss.RSAKey().Token(t, expired)
	forged := a.iss.NewUnpublishedKey(t).Token(t, a.iss.Claims("u1", "user", "admin"))
	id := "0b6c7a3e-3f1e-4d5a-9a43-4c1f0e2d9b11"
	routes := []struct{ method, target, body string }{
		{"POST", "/api/v1/orders", `{"planId":"monthly"}`},
		{"GET", "/api/v1/orders", ""},
		{"GET", "/api/v1/orders/" + id, ""},
		{"GET", "/api/v1/orders/admin/stuck", ""},
		{"POST", "/api/v1/orders/" + id + "/mark-refunded", `{"note":"x"}`},
	}
	for _, rt := range routes {
		for name, token := range map[string]string{"no token": "", "expired": expiredToken, "forged": forged, "garbage": "x.y.z"} {
			if r := a.do(rt.method, rt.target, token, rt.body); r.code != http.StatusUnauthorized || r.errorCode(t) != "unauthorized" {
				t.Errorf("%s %s, %s: %d %s, want 401", rt.method, rt.target, name, r.code, r.body)
			}
		}
	}
	// Identity headers mean nothing: only the verified token counts.
	for _, rt := range routes[3:] {
		req := newRequest(rt.method, rt.target, rt.body)
		req.Header.Set("Authorization", "Bearer "+a.user)
		req.Header.Set("X-User-Roles", "admin")
		if r := a.serve(req); r.code != http.StatusForbidden || r.errorCode(t) != "forbidden" {
			t.Errorf("%s %s as a user: %d %s, want 403", rt.method, rt.target, r.code, r.body)
		}
	}
	if n := len(a.sidecar.Invoked()); n != 0 {
		t.Errorf("%d calls made for unauthenticated or forbidden requests, want none", n)
	}
}
