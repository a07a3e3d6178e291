package orders

import (
	"errors"
	"strings"
	"testing"

	orderv1 "tenflix/proto/order/v1"
)

func validInput() *orderv1.Order {
	return &orderv1.Order{
		Id: "0b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", UserId: "u1",
		Customer: &orderv1.Customer{Name: "Ana", Email: "ana@example.com"},
		Plan:     &orderv1.Plan{Id: "p1", Name: "Monthly", Price: 60000, DiscountPrice: 50000, ActivePeriod: 30},
		Price:    50000,
		// Fields the service owns: a caller cannot set them.
		Status: orderv1.StatusCompleted, Version: 9, RefundRequested: true,
		Timeline: []*orderv1.Step{{Name: "paid"}},
	}
}

func TestNewMakesAPendingOrder(t *testing.T) {
	o, err := New(validInput(), now)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != orderv1.StatusPending || o.Version != 1 || o.RefundRequested || len(o.Timeline) != 1 ||
		o.Timeline[0].Name != StepCreated || o.CreatedAt != Stamp(now) || o.UpdatedAt != o.CreatedAt ||
		o.Customer.UserId != "u1" || o.Price != 50000 || o.Plan.DiscountPrice != 50000 {
		t.Fatalf("order %v", o)
	}
	in := validInput()
	in.Plan.DiscountPrice, in.Price = 0, 60000
	if _, err := New(in, now); err != nil {
		t.Fatalf("no discount, plan price: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for name, edit := range map[string]func(*orderv1.Order){
		"no id":                       func(o *orderv1.Order) { o.Id = "" },
		"id not a uuid":               func(o *orderv1.Order) { o.Id = "order-1" },
		"uppercase uuid":              func(o *orderv1.Order) { o.Id = strings.ToUpper(o.Id) },
		"no user":                     func(o *orderv1.Order) { o.UserId = " " },
		"user id too long":            func(o *orderv1.Order) { o.UserId = strings.Repeat("u", MaxIDLen+1) },
		"other customer":              func(o *orderv1.Order) { o.Customer.UserId = "u2" },
		"bad email":                   func(o *orderv1.Order) { o.Customer.Email = "ana" },
		"NUL in name":                 func(o *orderv1.Order) { o.Customer.Name = "a\x00b" },
		"no plan":                     func(o *orderv1.Order) { o.Plan = nil },
		"no plan id":                  func(o *orderv1.Order) { o.Plan.Id = "" },
		"no plan name":                func(o *orderv1.Order) { o.Plan.Name = "" },
		"free plan":                   func(o *orderv1.Order) { o.Plan.Price, o.Plan.DiscountPrice, o.Price = 0, 0, 0 },
		"negative discount":           func(o *orderv1.Order) { o.Plan.DiscountPrice = -1 },
		"no period":                   func(o *orderv1.Order) { o.Plan.ActivePeriod = 0 },
		"plan price not the discount": func(o *orderv1.Order) { o.Price = 60000 },
		"zero price":                  func(o *orderv1.Order) { o.Price = 0 },
		"other price":                 func(o *orderv1.Order) { o.Plan.DiscountPrice, o.Price = 0, 50000 },
	} {
		t.Run(name, func(t *testing.T) {
			in := validInput()
			edit(in)
			var ve *ValidationError
			if _, err := New(in, now); !errors.As(err, &ve) {
				t.Fatalf("New = %v, want a ValidationError", err)
			}
		})
	}
}

func TestSameRequest(t *testing.T) {
	o, _ := New(validInput(), now)
	if !SameRequest(o, validInput()) {
		t.Fatal("a retry is not the same request")
	}
	other := validInput()
	other.UserId, other.Customer = "u2", nil
	if SameRequest(o, other) {
		t.Fatal("another user's order with the same id is the same request")
	}
}

func TestStampsSortAsText(t *testing.T) {
	a, b := Stamp(now), Stamp(now.Add(500*1000)) // 0.5 ms later
	if len(a) != len(b) || !(a < b) {
		t.Fatalf("%s, %s", a, b)
	}
}

func TestSettled(t *testing.T) {
	for s, want := range map[state]bool{pending: false, paid: false, paidRefund: false, cancelledRefund: false,
		completed: true, cancelled: true, refunded: true, refundFailed: true} {
		if got := Settled(order(s)); got != want {
			t.Errorf("Settled(%s) = %v", s, got)
		}
	}
}
