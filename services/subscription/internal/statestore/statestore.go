// Package statestore is the subscription service's Dapr state store
// "subscription-state" (PostgreSQL, outbox enabled: each upsert is published
// to the topic "subscriptions") with the unique indexes of the migrations
// translated into the service's errors.
package statestore

import (
	"fmt"

	"tenflix/platform/sidecar"
	"tenflix/platform/statetx"
	"tenflix/services/subscription/internal/subscription"
)

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string) *statetx.Store {
	return statetx.New(dapr, name, statetx.Options{Constraints: Constraints})
}

// Constraints are the migrations' unique indexes, by the name daprd's error
// text gives them.
var Constraints = map[string]error{
	"subscription_one_active_per_user":   subscription.ErrActiveExists,
	"subscription_one_outcome_per_order": fmt.Errorf("%w: the order's outcome was recorded meanwhile", subscription.ErrConflict),
	"subscription_plan_unique_name":      subscription.ErrPlanNameTaken,
}
