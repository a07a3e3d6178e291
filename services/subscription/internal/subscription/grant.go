package subscription

import (
	"fmt"
	"strings"
	"time"
)

// PaidOrder is what a grant needs of an order that was paid.
type PaidOrder struct {
	ID           string
	UserID       string
	PlanID       string
	PlanName     string
	ActivePeriod int64 // days paid for
}

// maxIDLen bounds the ids that become state keys and SQL parameters.
const maxIDLen = 128

// Check reports a paid order that can never be granted or refused as
// ErrMalformedOrder: the order id becomes the state keys, so it must be a
// plain id (letters, digits, '-', '_'), and the period paid for must be one a
// plan can have.
func (o PaidOrder) Check() error {
	switch {
	case !ValidOrderID(o.ID):
		return malformed("order id %q is not a plain id", o.ID)
	case o.UserID == "" || len(o.UserID) > maxIDLen:
		return malformed("order %s has no valid user id", o.ID)
	case o.PlanID == "" || len(o.PlanID) > maxIDLen:
		return malformed("order %s has no plan id", o.ID)
	case o.ActivePeriod < MinActivePeriod || o.ActivePeriod > MaxActivePeriod:
		return malformed("order %s pays for %d days, not %d to %d", o.ID, o.ActivePeriod, MinActivePeriod, MaxActivePeriod)
	}
	return nil
}

// ValidOrderID reports whether id can be an order's id (and so part of a
// state key): 1 to 128 letters, digits, '-' and '_'.
func ValidOrderID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedOrder, fmt.Sprintf(format, args...))
}

// PlanState is what the store holds under the order's plan id.
type PlanState int

const (
	PlanMissing PlanState = iota
	PlanInactive
	PlanActive
)

// GrantFacts are what a grant decision looks at, read under the locks of
// the keys it may write. Facts a decision does not reach need not be read:
// once the order has an outcome, the plan and the user's subscription no
// longer matter.
type GrantFacts struct {
	Granted bool // subscription:<orderId> exists
	Refused bool // refusal:<orderId> exists
	Plan    PlanState
	// Current is the user's ACTIVE subscription, nil when there is none
	// (one of another status counts as none).
	Current *Current
	Now     time.Time
}

// Current is the user's ACTIVE subscription as the decision sees it.
type Current struct {
	Status string
	EndAt  string
}

// Action is what a grant does.
type Action int

const (
	// ReannounceGrant rewrites the order's subscription unchanged but for its
	// version, so that its granted event is published again.
	ReannounceGrant Action = iota + 1
	// ReannounceRefusal does the same for the order's refusal.
	ReannounceRefusal
	// Refuse records the refusal (Decision.Reason).
	Refuse
	// Grant inserts the order's subscription, ACTIVE.
	Grant
	// ExpireAndGrant marks the user's current subscription, past its end,
	// EXPIRED and grants, in one transaction.
	ExpireAndGrant
)

func (a Action) String() string {
	switch a {
	case ReannounceGrant:
		return "reannounce-grant"
	case ReannounceRefusal:
		return "reannounce-refusal"
	case Refuse:
		return "refuse"
	case Grant:
		return "grant"
	case ExpireAndGrant:
		return "expire-and-grant"
	}
	return "none"
}

// Decision is an Action and, for Refuse, its reason.
type Decision struct {
	Action Action
	Reason string
}

// DecideGrant is the grant's decision table, in the order its rules apply:
// an order with an outcome keeps it (and announces it again, repairing a
// lost event); a missing or deactivated plan refuses; a user entitled by a
// subscription refuses; one whose ACTIVE subscription has ended gets it
// expired and the new one granted.
func DecideGrant(f GrantFacts) Decision {
	switch {
	case f.Granted:
		return Decision{Action: ReannounceGrant}
	case f.Refused:
		return Decision{Action: ReannounceRefusal}
	case f.Plan == PlanMissing:
		return Decision{Action: Refuse, Reason: RefusedPlanNotFound}
	case f.Plan == PlanInactive:
		return Decision{Action: Refuse, Reason: RefusedPlanInactive}
	case f.Current == nil || f.Current.Status != StatusActive:
		return Decision{Action: Grant}
	case Entitled(f.Current.Status, f.Current.EndAt, f.Now):
		return Decision{Action: Refuse, Reason: RefusedActiveExists}
	}
	return Decision{Action: ExpireAndGrant}
}
