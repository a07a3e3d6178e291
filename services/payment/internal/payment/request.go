package payment

import (
	"fmt"
	"net/mail"
	"unicode/utf8"
)

// Limits of a payment request.
const (
	// MaxOrderIDLen is Midtrans' limit of order_id.
	MaxOrderIDLen = 50
	MaxUserIDLen  = 128
	MaxItemIDLen  = 50 // Midtrans' item_details.id
	MaxNameLen    = 255
	MaxEmailLen   = 254
	// MaxAmount bounds a payment (IDR): far above any plan, far below what
	// Midtrans or int64 would mishandle.
	MaxAmount = 1_000_000_000_000
)

// ValidationError is a request that can never be accepted as it is.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Request asks for a Snap transaction for an order.
type Request struct {
	OrderID  string
	UserID   string
	Amount   int64 // IDR, gross_amount
	Item     Item  // the plan: the transaction's only item
	Customer Customer
}

// Item is the plan being bought.
type Item struct {
	ID    string
	Name  string
	Price int64
}

// Customer is who pays.
type Customer struct {
	Name  string
	Email string
}

// Validate says what is wrong with r, if anything.
func (r Request) Validate() error {
	switch {
	case !ValidOrderID(r.OrderID):
		return invalid("orderId must be 1 to %d letters, digits, '-', '_', '.' or '~', starting with a letter or digit", MaxOrderIDLen)
	case r.UserID == "" || len(r.UserID) > MaxUserIDLen:
		return invalid("userId must be 1 to %d bytes", MaxUserIDLen)
	case r.Amount < 1 || r.Amount > MaxAmount:
		return invalid("amount must be a whole number of rupiah from 1 to %d", int64(MaxAmount))
	case r.Item.ID == "" || len(r.Item.ID) > MaxItemIDLen:
		return invalid("item.id must be 1 to %d bytes", MaxItemIDLen)
	case r.Item.Name == "" || utf8.RuneCountInString(r.Item.Name) > MaxNameLen:
		return invalid("item.name must be 1 to %d characters", MaxNameLen)
	case r.Item.Price != r.Amount:
		// Midtrans refuses item_details that do not add up to gross_amount.
		return invalid("item.price must equal amount (the plan is the only item)")
	case utf8.RuneCountInString(r.Customer.Name) > MaxNameLen:
		return invalid("customer.name must be at most %d characters", MaxNameLen)
	case len(r.Customer.Email) > MaxEmailLen:
		return invalid("customer.email must be at most %d bytes", MaxEmailLen)
	}
	if r.Customer.Email != "" {
		if a, err := mail.ParseAddress(r.Customer.Email); err != nil || a.Address != r.Customer.Email {
			return invalid("customer.email must be a plain email address")
		}
	}
	return nil
}

// ValidOrderID accepts what Midtrans accepts as an order_id (letters,
// digits, '-', '_', '.', '~', at most 50), starting with a letter or digit
// so that it is never "." or ".." where it becomes a path segment of a
// Midtrans URL.
func ValidOrderID(id string) bool {
	if id == "" || len(id) > MaxOrderIDLen || !alnum(id[0]) {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !alnum(c) && c != '-' && c != '_' && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
