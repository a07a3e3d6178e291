package httpapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"tenflix/services/payment/internal/payment"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// createRequest is POST /internal/payments.
type createRequest struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Amount  amount `json:"amount"`
	Item    struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Price amount `json:"price"`
	} `json:"item"`
	Customer struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"customer"`
}

func (r createRequest) request() payment.Request {
	return payment.Request{
		OrderID: r.OrderID, UserID: r.UserID, Amount: int64(r.Amount),
		Item:     payment.Item{ID: r.Item.ID, Name: r.Item.Name, Price: int64(r.Item.Price)},
		Customer: payment.Customer{Name: r.Customer.Name, Email: r.Customer.Email},
	}
}

// amount is whole rupiah, as a JSON integer or, the way protojson writes
// int64 (Order.price), as a string of one.
type amount int64

func (a *amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || !wholeNumber(s) {
		// Named like encoding/json's own type errors, so that the answer
		// names the field.
		return &json.UnmarshalTypeError{Value: "number " + s, Type: reflect.TypeFor[int64]()}
	}
	*a = amount(n)
	return nil
}

func wholeNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// notification is the part of Midtrans' notification that is read; it
// carries many more fields, which are ignored.
type notification struct {
	OrderID           string `json:"order_id"`
	StatusCode        string `json:"status_code"`
	GrossAmount       string `json:"gross_amount"`
	SignatureKey      string `json:"signature_key"`
	TransactionStatus string `json:"transaction_status"`
	FraudStatus       string `json:"fraud_status"`
}
