package orders

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	orderv1 "tenflix/proto/order/v1"
)

var (
	t0  = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	now = t0.Add(5 * time.Minute)
)

// state is where an order can be: its status and whether a refund was
// requested.
type state struct {
	status string
	refund bool
}

func (s state) String() string {
	if s.refund {
		return s.status + "+refund"
	}
	return s.status
}

var (
	pending         = state{orderv1.StatusPending, false}
	paid            = state{orderv1.StatusPaid, false}
	paidRefund      = state{orderv1.StatusPaid, true}
	completed       = state{orderv1.StatusCompleted, false}
	cancelled       = state{orderv1.StatusCancelled, false}
	cancelledRefund = state{orderv1.StatusCancelled, true}
	refunded        = state{orderv1.StatusRefunded, true}
	refundFailed    = state{orderv1.StatusRefundFailed, true}
	states          = []state{pending, paid, paidRefund, completed, cancelled, cancelledRefund, refunded, refundFailed}
)

var changes = []Change{
	{Kind: PaymentRequested},
	{Kind: Paid},
	{Kind: Cancelled, Reason: "expire"},
	{Kind: CancelRequest, Reason: "payment-unavailable"},
	{Kind: Granted},
	{Kind: Refused, Reason: "active-subscription-exists"},
	{Kind: Refunded},
	{Kind: RefundFailed, Reason: "bank transfer cannot be refunded"},
	{Kind: MarkRefunded, Note: "sent by bank transfer", By: "admin-1"},
	{Kind: Nudge},
}

// order is an order in state s as the saga leaves it there (version 3,
// last moved at t0).
func order(s state) *orderv1.Order {
	return &orderv1.Order{
		Id: "0b6f3c1e-8a55-4c7e-9d43-2a1f6e0b9c11", UserId: "u1", Price: 50000,
		Status: s.status, RefundRequested: s.refund,
		Timeline:  []*orderv1.Step{{Name: StepCreated, At: Stamp(t0)}},
		CreatedAt: Stamp(t0), UpdatedAt: Stamp(t0), Version: 3,
	}
}

// want is the expected effect of a change in a state.
type want struct {
	outcome Outcome
	event   string
	to      state    // for Moved
	steps   []string // appended, for Moved
	reason  string   // for Moved, when it sets one
	wrong   bool
}

func moved(to state, event string, steps ...string) want {
	return want{outcome: Moved, event: event, to: to, steps: steps}
}
func reann(event string) want { return want{outcome: Reannounced, event: event} }

var (
	none       = want{outcome: Unchanged}
	wrongState = want{wrong: true}
)

// table is the state machine as the saga (docs/saga.md) asks for it,
// written out independently of Apply's switch.
var table = map[state]map[Kind]want{
	pending: {
		PaymentRequested: moved(pending, orderv1.EventPaymentRequested, StepPaymentRequested),
		Paid:             moved(paid, orderv1.EventPaid, StepPaid),
		Cancelled:        withReason(moved(cancelled, orderv1.EventCancelled, StepCancelled), "expire"),
		CancelRequest:    withReason(moved(cancelled, orderv1.EventCancelled, StepCancelled), "payment-unavailable"),
		Granted:          wrongState, Refused: wrongState, Refunded: wrongState, RefundFailed: wrongState, MarkRefunded: wrongState,
		Nudge: none,
	},
	paid: {
		PaymentRequested: none,
		Paid:             reann(orderv1.EventPaid),
		Cancelled:        none, CancelRequest: wrongState,
		Granted: moved(completed, orderv1.EventCompleted, StepSubscriptionGranted, StepCompleted),
		Refused: withReason(moved(paidRefund, orderv1.EventRefundRequested, StepSubscriptionRefused, StepRefundRequested),
			"active-subscription-exists"),
		Refunded: wrongState, RefundFailed: wrongState, MarkRefunded: wrongState,
		Nudge: reann(orderv1.EventPaid),
	},
	paidRefund: {
		PaymentRequested: none, Paid: none, Cancelled: none, CancelRequest: wrongState, Granted: wrongState,
		Refused:      reann(orderv1.EventRefundRequested),
		Refunded:     moved(refunded, orderv1.EventRefunded, StepRefunded),
		RefundFailed: withReason(moved(refundFailed, orderv1.EventRefundFailed, StepRefundFailed), "bank transfer cannot be refunded"),
		MarkRefunded: wrongState,
		Nudge:        reann(orderv1.EventRefundRequested),
	},
	completed: {
		PaymentRequested: none, Paid: none, Cancelled: none, CancelRequest: wrongState, Granted: none,
		Refused: wrongState, Refunded: wrongState, RefundFailed: wrongState, MarkRefunded: wrongState, Nudge: none,
	},
	cancelled: {
		PaymentRequested: none,
		Paid:             moved(cancelledRefund, orderv1.EventRefundRequested, StepPaidAfterCancel, StepRefundRequested),
		Cancelled:        none, CancelRequest: wrongState,
		Granted: wrongState, Refused: wrongState, Refunded: wrongState, RefundFailed: wrongState, MarkRefunded: wrongState,
		Nudge: none,
	},
	cancelledRefund: {
		PaymentRequested: none,
		Paid:             reann(orderv1.EventRefundRequested),
		Cancelled:        none, CancelRequest: wrongState, Granted: wrongState, Refused: wrongState,
		Refunded:     moved(refunded, orderv1.EventRefunded, StepRefunded),
		RefundFailed: withReason(moved(refundFailed, orderv1.EventRefundFailed, StepRefundFailed), "bank transfer cannot be refunded"),
		MarkRefunded: wrongState,
		Nudge:        reann(orderv1.EventRefundRequested),
	},
	refunded: {
		PaymentRequested: none, Paid: none, Cancelled: none, CancelRequest: wrongState, Granted: wrongState,
		Refused: none, Refunded: none, RefundFailed: none, MarkRefunded: wrongState, Nudge: none,
	},
	refundFailed: {
		PaymentRequested: none, Paid: none, Cancelled: none, CancelRequest: wrongState, Granted: wrongState,
		Refused: none, Refunded: wrongState, RefundFailed: none,
		MarkRefunded: moved(refunded, orderv1.EventRefunded, StepMarkedRefunded),
		Nudge:        none,
	},
}

func withReason(w want, reason string) want { w.reason = reason; return w }

func TestApplyEveryStateAndChange(t *testing.T) {
	for _, s := range states {
		for _, c := range changes {
			w, ok := table[s][c.Kind]
			if !ok {
				t.Fatalf("the test table has no cell for %s / %s", s, c.Kind)
			}
			t.Run(fmt.Sprintf("%s/%s", s, c.Kind), func(t *testing.T) {
				o := order(s)
				before := proto.Clone(o).(*orderv1.Order)
				res, err := Apply(o, c, now)
				if w.wrong {
					if !errors.Is(err, ErrWrongState) {
						t.Fatalf("Apply = %+v, %v; want ErrWrongState", res, err)
					}
					if !proto.Equal(o, before) {
						t.Fatalf("a refused change touched the order: %v", o)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.Outcome != w.outcome || res.EventType != w.event {
					t.Fatalf("Apply = %v %q, want %v %q", res.Outcome, res.EventType, w.outcome, w.event)
				}
				switch w.outcome {
				case Unchanged:
					if !proto.Equal(o, before) {
						t.Fatalf("unchanged, yet the order changed: %v", o)
					}
				case Reannounced:
					// The same document one version up: updatedAt stays, so
					// the sweep and the stuck list still see it waiting.
					before.Version++
					if !proto.Equal(o, before) {
						t.Fatalf("re-announced order differs from the one read but for its version:\n%v\n%v", o, before)
					}
				case Moved:
					if got := (state{o.Status, o.RefundRequested}); got != w.to {
						t.Fatalf("moved to %s, want %s", got, w.to)
					}
					var names []string
					for _, st := range o.Timeline[1:] {
						names = append(names, st.Name)
						if st.At != Stamp(now) {
							t.Errorf("step %s at %s, want %s", st.Name, st.At, Stamp(now))
						}
					}
					if !slices.Equal(names, w.steps) {
						t.Fatalf("steps %v, want %v", names, w.steps)
					}
					if o.Version != 4 || o.UpdatedAt != Stamp(now) || o.CreatedAt != Stamp(t0) {
						t.Fatalf("version %d updatedAt %s createdAt %s", o.Version, o.UpdatedAt, o.CreatedAt)
					}
					if w.reason != "" && o.Reason != w.reason {
						t.Fatalf("reason %q, want %q", o.Reason, w.reason)
					}
				}
			})
		}
	}
}

func TestEveryChangeIsInTheTable(t *testing.T) {
	seen := map[Kind]bool{}
	for _, c := range changes {
		seen[c.Kind] = true
	}
	for _, k := range []Kind{PaymentRequested, Paid, Cancelled, CancelRequest, Granted, Refused, Refunded, RefundFailed, MarkRefunded, Nudge} {
		if !seen[k] {
			t.Errorf("change %s not covered", k)
		}
	}
	if _, err := Apply(order(pending), Change{Kind: "teleport"}, now); err == nil {
		t.Error("an unknown change applied")
	}
}

func TestPaymentRequestedOnce(t *testing.T) {
	o := order(pending)
	if res, _ := Apply(o, Change{Kind: PaymentRequested}, now); res.Outcome != Moved {
		t.Fatalf("first: %v", res.Outcome)
	}
	if res, _ := Apply(o, Change{Kind: PaymentRequested}, now.Add(time.Second)); res.Outcome != Unchanged {
		t.Fatalf("second: %v", res.Outcome)
	}
	if o.Status != orderv1.StatusPending || len(o.Timeline) != 2 {
		t.Fatalf("order %v", o)
	}
}

func TestSagaPathsEndSettled(t *testing.T) {
	paths := map[string][]Change{
		"granted":           {{Kind: PaymentRequested}, {Kind: Paid}, {Kind: Granted}},
		"refused, refunded": {{Kind: Paid}, {Kind: Refused, Reason: "plan-inactive"}, {Kind: Refunded}},
		"refund failed, marked by hand": {{Kind: Paid}, {Kind: Refused, Reason: "plan-inactive"},
			{Kind: RefundFailed, Reason: "gopay"}, {Kind: MarkRefunded, By: "admin-1", Note: "transfer 42"}},
		"cancelled":                   {{Kind: PaymentRequested}, {Kind: Cancelled, Reason: "expire"}},
		"paid after cancel, refunded": {{Kind: CancelRequest, Reason: "snap down"}, {Kind: Paid}, {Kind: Refunded}},
	}
	want := map[string]string{
		"granted": orderv1.StatusCompleted, "refused, refunded": orderv1.StatusRefunded,
		"refund failed, marked by hand": orderv1.StatusRefunded, "cancelled": orderv1.StatusCancelled,
		"paid after cancel, refunded": orderv1.StatusRefunded,
	}
	for name, path := range paths {
		o := order(pending)
		o.Version = 1
		for i, c := range path {
			if _, err := Apply(o, c, now.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatalf("%s: step %d (%s): %v", name, i, c.Kind, err)
			}
		}
		if o.Status != want[name] || !Settled(o) || o.Version != int64(1+len(path)) {
			t.Errorf("%s: ends %s (settled %v) at version %d", name, o.Status, Settled(o), o.Version)
		}
	}
}

func TestMarkRefundedRecordsWhoAndHow(t *testing.T) {
	o := order(refundFailed)
	if _, err := Apply(o, Change{Kind: MarkRefunded, By: "admin-7", Note: "transfer ref 42"}, now); err != nil {
		t.Fatal(err)
	}
	if s := LastStep(o); s.Name != StepMarkedRefunded || s.Detail != "by admin-7: transfer ref 42" {
		t.Fatalf("step %v", s)
	}
}

func TestReasonsFromOtherServicesAreMadeStorable(t *testing.T) {
	o := order(paid)
	long := strings.Repeat("é", MaxReasonLen+10)
	if _, err := Apply(o, Change{Kind: Refused, Reason: "bad\x00\xffreason" + long}, now); err != nil {
		t.Fatal(err)
	}
	if r := []rune(o.Reason); len(r) > MaxReasonLen || slices.Contains(r, 0) {
		t.Fatalf("reason %q", o.Reason)
	}
}
