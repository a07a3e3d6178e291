package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"tenflix/platform/apierror"
	"tenflix/services/subscription/internal/httpapi"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

func TestOrderPaidGrantsOnceAndReannouncesOnRedelivery(t *testing.T) {
	e := newEnv(t)
	plan := e.createPlan(t, planBody)
	ev := cloudEvent("tenflix.order.paid.v1", orderJSON("o1", "u1", plan, "PAID", 30))

	for i := range 3 {
		if got := e.deliver(t, ev); got != "SUCCESS" {
			t.Fatalf("delivery %d: %s", i, got)
		}
	}
	var granted []subscriptionv1.Subscription
	for _, p := range e.api.Published() {
		if p.Key == "subscription:o1" {
			if p.Type != subscriptionv1.EventGranted {
				t.Fatalf("published %s for the grant", p.Type)
			}
			var s struct {
				Status, EndAt, Version string
			}
			_ = json.Unmarshal(p.Doc, &s)
			granted = append(granted, subscriptionv1.Subscription{Status: s.Status, EndAt: s.EndAt})
			if s.Version != strconv.Itoa(len(granted)) {
				t.Fatalf("announcement %d has version %s", len(granted), s.Version)
			}
		}
		if p.Key == "refusal:o1" {
			t.Fatal("a granted order was refused")
		}
	}
	if len(granted) != 3 || granted[2].EndAt != "2025-03-31T12:00:00Z" || granted[2].Status != "ACTIVE" {
		t.Fatalf("announcements %v: want one grant announced three times, unchanged", granted)
	}

	// The user sees it; the internal routes tell it as protojson.
	me := decode(t, e.do("GET", httpapi.Prefix+"/me", "", "Authorization", e.bearer(t, "u1", "user")), http.StatusOK)
	want := map[string]any{"id": "o1", "planId": plan, "planName": "Basic", "orderId": "o1", "status": "ACTIVE",
		"startAt": "2025-03-01T12:00:00Z", "endAt": "2025-03-31T12:00:00Z"}
	if len(me) != len(want) {
		t.Fatalf("me %v", me)
	}
	for k, v := range want {
		if me[k] != v {
			t.Fatalf("me %v, want %v", me, want)
		}
	}
	ent := decode(t, e.do("GET", "/internal/entitlements/u1", ""), http.StatusOK)
	sub, _ := ent["subscription"].(map[string]any)
	if ent["userId"] != "u1" || ent["entitled"] != true || sub["orderId"] != "o1" || sub["version"] != "3" {
		t.Fatalf("entitlement %v", ent)
	}
	out := decode(t, e.do("GET", "/internal/orders/o1/subscription", ""), http.StatusOK)
	if s, _ := out["subscription"].(map[string]any); s["status"] != "ACTIVE" || out["refusal"] != nil {
		t.Fatalf("outcome %v", out)
	}

	// A second order of the user is refused, and says so.
	if got := e.deliver(t, cloudEvent("tenflix.order.paid.v1", orderJSON("o2", "u1", plan, "PAID", 30))); got != "SUCCESS" {
		t.Fatalf("second order: %s", got)
	}
	out = decode(t, e.do("GET", "/internal/orders/o2/subscription", ""), http.StatusOK)
	if r, _ := out["refusal"].(map[string]any); r["reason"] != subscriptionv1.RefusedActiveExists || out["subscription"] != nil {
		t.Fatalf("outcome of the second order %v", out)
	}

	// Past the end, before any expiry run: no longer entitled, and the
	// ended subscription is named (movie-query says "expired").
	e.advance(30 * 24 * time.Hour)
	ent = decode(t, e.do("GET", "/internal/entitlements/u1", ""), http.StatusOK)
	if sub, _ := ent["subscription"].(map[string]any); ent["entitled"] != false || sub["orderId"] != "o1" {
		t.Fatalf("entitlement past the end %v", ent)
	}
	if ent := decode(t, e.do("GET", "/internal/entitlements/nobody", ""), http.StatusOK); ent["entitled"] != false || ent["subscription"] != nil {
		t.Fatalf("entitlement of a user who never subscribed %v", ent)
	}
	wantError(t, e.do("GET", httpapi.Prefix+"/me", "", "Authorization", e.bearer(t, "u1", "user")), http.StatusNotFound, apierror.NotFound)
}

func TestOrderPaidDeliveries(t *testing.T) {
	e := newEnv(t)
	plan := e.createPlan(t, planBody)
	order := orderJSON("o1", "u1", plan, "PAID", 30)
	asString, _ := json.Marshal(order)
	cases := []struct {
		name, body, want string
	}{
		{"another event type", cloudEvent("tenflix.order.created.v1", order), "DROP"},
		{"no data", cloudEvent("tenflix.order.paid.v1", `null`), "DROP"},
		{"data not an order", cloudEvent("tenflix.order.paid.v1", `{"id":5}`), "DROP"},
		{"data not JSON", cloudEvent("tenflix.order.paid.v1", `"not json"`), "DROP"},
		{"order not paid", cloudEvent("tenflix.order.paid.v1", orderJSON("o1", "u1", plan, "PENDING", 30)), "DROP"},
		{"order without a user", cloudEvent("tenflix.order.paid.v1", orderJSON("o1", "", plan, "PAID", 30)), "DROP"},
		{"order id not plain", cloudEvent("tenflix.order.paid.v1", orderJSON("o/1", "u1", plan, "PAID", 30)), "DROP"},
		{"order paying for no days", cloudEvent("tenflix.order.paid.v1", orderJSON("o1", "u1", plan, "PAID", 0)), "DROP"},
		{"not a cloudevent", `{"type":`, "DROP"},
		{"data as a JSON string", cloudEvent("tenflix.order.paid.v1", string(asString)), "SUCCESS"},
		{"data as base64", `{"id":"ev-2","type":"tenflix.order.paid.v1","data_base64":"` +
			base64.StdEncoding.EncodeToString([]byte(orderJSON("o2", "u2", plan, "PAID", 30))) + `"}`, "SUCCESS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := e.deliver(t, c.body); got != c.want {
				t.Fatalf("answered %s, want %s", got, c.want)
			}
		})
	}
	for _, key := range []string{"subscription:o1", "subscription:o2"} {
		found := false
		for _, p := range e.api.Published() {
			found = found || p.Key == key
		}
		if !found {
			t.Fatalf("%s not granted", key)
		}
	}
}

func TestExpiryCron(t *testing.T) {
	e := newEnv(t)
	plan := e.createPlan(t, `{"name":"Day","price":5000,"activePeriod":1}`)
	if got := e.deliver(t, cloudEvent("tenflix.order.paid.v1", orderJSON("o1", "u1", plan, "PAID", 1))); got != "SUCCESS" {
		t.Fatal(got)
	}
	run := func() string {
		t.Helper()
		rec := e.do("POST", "/"+httpapi.ExpiryCronBinding, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("cron: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	if got := run(); got != `{"expired":0,"failed":0}` {
		t.Fatalf("before the end: %s", got)
	}
	e.advance(24 * time.Hour)
	if got := run(); got != `{"expired":1,"failed":0}` {
		t.Fatalf("at the end: %s", got)
	}
	if got := run(); got != `{"expired":0,"failed":0}` {
		t.Fatalf("again: %s", got)
	}
	last := e.api.Published()[len(e.api.Published())-1]
	if last.Key != "subscription:o1" || last.Type != subscriptionv1.EventExpired {
		t.Fatalf("last event %s %s", last.Type, last.Key)
	}
	// Dapr asks whether the app listens on the binding with OPTIONS: any 2xx
	// or 405 means yes.
	if rec := e.do("OPTIONS", "/"+httpapi.ExpiryCronBinding, ""); rec.Code/100 != 2 && rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("OPTIONS: %d", rec.Code)
	}
}

func TestInternalPlan(t *testing.T) {
	e := newEnv(t)
	id := e.createPlan(t, `{"name":"Premium","price":150000,"discountPrice":99000,"description":"4K","activePeriod":30}`)
	m := decode(t, e.do("GET", "/internal/plans/"+id, ""), http.StatusOK)
	// protojson: int64 as strings, every field present.
	for k, v := range map[string]any{"id": id, "name": "Premium", "price": "150000", "discountPrice": "99000",
		"activePeriod": float64(30), "active": true, "version": "1", "createdAt": "2025-03-01T12:00:00Z"} {
		if m[k] != v {
			t.Fatalf("internal plan %v: %s = %v, want %v", m, k, m[k], v)
		}
	}
	if rec := e.do("DELETE", httpapi.Prefix+"/plans/"+id, "", "Authorization", e.bearer(t, "a", "admin")); rec.Code != http.StatusNoContent {
		t.Fatal(rec.Code)
	}
	if m := decode(t, e.do("GET", "/internal/plans/"+id, ""), http.StatusOK); m["active"] != false {
		t.Fatalf("deactivated plan %v", m)
	}
	if ent := decode(t, e.do("GET", "/internal/entitlements/nobody", ""), http.StatusOK); ent["entitled"] != false ||
		ent["subscription"] != nil || ent["userId"] != "nobody" {
		t.Fatalf("no entitlement %v", ent)
	}
}
