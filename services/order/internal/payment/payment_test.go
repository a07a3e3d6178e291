package payment_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

const orderID = "0b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11"

func TestSyncInvokesPayment(t *testing.T) {
	sc := sidecartest.New(t, nil)
	sc.HandleInvoke(func(inv sidecartest.Invoked) (int, []byte) {
		switch inv.Method {
		case "internal/payments/" + orderID + "/sync":
			return http.StatusOK, []byte(`{"orderId":"` + orderID + `","amount":"50000","status":"PAID","version":"4","later":1}`)
		case "internal/payments/00000000-0000-4000-8000-000000000000/sync":
			return http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"no payment for this order"}}`)
		}
		return http.StatusBadGateway, []byte(`{"error":{"code":"bad_gateway","message":"midtrans down"}}`)
	})
	c := payment.New(sc.Client(t, "dapr-token"))

	p, err := c.Sync(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetOrderId() != orderID || p.GetStatus() != paymentv1.StatusPaid || p.GetAmount() != 50000 || p.GetVersion() != 4 {
		t.Fatalf("payment %v", p)
	}
	inv := sc.Invoked()[0]
	if inv.AppID != payment.AppID || inv.Verb != http.MethodPost || inv.Token != "dapr-token" {
		t.Fatalf("invocation %+v", inv)
	}

	if _, err := c.Sync(context.Background(), "00000000-0000-4000-8000-000000000000"); !errors.Is(err, app.ErrNoPayment) {
		t.Fatalf("404: %v, want ErrNoPayment", err)
	}
	if _, err := c.Sync(context.Background(), "11111111-1111-4111-8111-111111111111"); err == nil || errors.Is(err, app.ErrNoPayment) {
		t.Fatalf("502: %v, want a plain error", err)
	}
}
