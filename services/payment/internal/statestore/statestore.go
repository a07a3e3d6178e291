// Package statestore is payment's Dapr state store "payment-state"
// (state.postgresql v1, outbox enabled: each upsert is published to the
// payments topic) with the constraints of the migrations translated into
// the payment service's errors.
package statestore

import (
	"tenflix/platform/sidecar"
	"tenflix/platform/statetx"
	"tenflix/services/payment/internal/payment"
)

// TransactionIDUnique is the unique index of migration 001.
const TransactionIDUnique = "payment_transaction_id_unique"

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string) *statetx.Store {
	return statetx.New(dapr, name, statetx.Options{Constraints: map[string]error{
		TransactionIDUnique: payment.ErrTransactionTaken,
	}})
}
