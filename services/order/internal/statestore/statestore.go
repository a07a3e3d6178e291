// Package statestore is the order service's Dapr state store "order-state"
// (PostgreSQL, outbox enabled: each upsert is published to topic "orders")
// with the constraint of the migrations translated into the order's error.
package statestore

import (
	"tenflix/platform/sidecar"
	"tenflix/platform/statetx"
	"tenflix/services/order/internal/orders"
)

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string) *statetx.Store {
	return statetx.New(dapr, name, statetx.Options{Constraints: Constraints})
}

// Constraints of the migrations, by the name daprd's error text gives them.
var Constraints = map[string]error{
	// 001: one open (PENDING or PAID) order per user.
	"order_one_open_per_user": orders.ErrOrderPending,
}
