package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"tenflix/platform/sidecar/sidecartest"
	orderv1 "tenflix/proto/order/v1"
	"tenflix/services/order-aggregator/internal/payment"
	"tenflix/services/order-aggregator/internal/remote"
)

func newClient(t *testing.T, answer sidecartest.InvokeFunc) (*payment.Client, *sidecartest.Sidecar) {
	t.Helper()
	sc := sidecartest.New(t, nil)
	sc.HandleInvoke(answer)
	return payment.New(sc.Client(t, "dapr-token"), "pay"), sc
}

func TestCreate(t *testing.T) {
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		return 201, []byte(`{"orderId":"o1","amount":"49000","status":"PENDING","snapToken":"tok","redirectUrl":"https://pay/tok","version":"1"}`)
	})
	p, err := c.Create(context.Background(), &orderv1.Order{Id: "o1", UserId: "u1", Price: 49000,
		Plan:     &orderv1.Plan{Id: "monthly", Name: "Monthly", Price: 59000, DiscountPrice: 49000},
		Customer: &orderv1.Customer{UserId: "u1", Name: "Ana", Email: "ana@example.com"}})
	if err != nil || p.GetSnapToken() != "tok" || p.GetAmount() != 49000 {
		t.Fatalf("Create = %v, %v", p, err)
	}
	inv := sc.Invoked()[0]
	if inv.AppID != "pay" || inv.Verb != "POST" || inv.Method != "internal/payments" || inv.ContentType != "application/json" {
		t.Errorf("invocation %+v", inv)
	}
	var body map[string]any
	_ = json.Unmarshal(inv.Body, &body)
	want := map[string]any{"orderId": "o1", "userId": "u1", "amount": float64(49000),
		"item":     map[string]any{"id": "monthly", "name": "Monthly", "price": float64(49000)},
		"customer": map[string]any{"name": "Ana", "email": "ana@example.com"}}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body %s, want %v", inv.Body, want)
	}
}

func TestGet(t *testing.T) {
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		if inv.Method == "internal/payments/none" {
			return 404, []byte(`{"error":{"code":"not_found","message":"no payment for this order yet, more than 63"}}`)
		}
		return 200, []byte(`{"orderId":"o1","amount":"49000","status":"PAID","transactionId":"tx","paymentType":"gopay"}`)
	})
	p, err := c.Get(context.Background(), "o1")
	if err != nil || p.GetStatus() != "PAID" || p.GetTransactionId() != "tx" || sc.Invoked()[0].Method != "internal/payments/o1" {
		t.Fatalf("Get = %v, %v", p, err)
	}
	if _, err := c.Get(context.Background(), "none"); !remote.IsNotFound(err) {
		t.Errorf("none: %v, want 404", err)
	}
}

func TestNotify(t *testing.T) {
	status := 200
	c, sc := newClient(t, func(inv sidecartest.Invoked) (int, []byte) {
		if status != 200 {
			return status, []byte(`{"error":{"code":"unprocessable","message":"gross_amount does not match the order's"}}`)
		}
		return 200, []byte(`{"status":"ok"}`)
	})
	body := []byte(`{"order_id":"o1",  "gross_amount":"49000.00"}`)
	if err := c.Notify(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	inv := sc.Invoked()[0]
	if inv.Method != "internal/notifications" || inv.Verb != "POST" || string(inv.Body) != string(body) || inv.ContentType != "application/json" {
		t.Errorf("invocation %+v", inv)
	}
	status = 422
	err := c.Notify(context.Background(), body)
	if r, ok := remote.RefusalOf(err); !ok || r.Status != 422 || r.Code != "unprocessable" {
		t.Errorf("422: %v", err)
	}
	status = 500
	if err := c.Notify(context.Background(), body); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("500: %v, want unavailable", err)
	}
}
