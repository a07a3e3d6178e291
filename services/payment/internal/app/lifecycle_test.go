package app_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

func TestSyncWaitsThenCancelsWhatExpired(t *testing.T) {
	f := newFixture(t)
	f.create("unchosen") // Snap open, no payment method chosen: unknown at Midtrans
	f.create("va")
	f.midtrans.Pay(t, "va", "bank_transfer", "pending", "")

	f.clock.advance(29 * time.Minute)
	for _, id := range []string{"unchosen", "va"} {
		p, err := f.app.Sync(f.ctx, id)
		if err != nil || p.Status != paymentv1.StatusPending || p.Version != 1 {
			t.Fatalf("sync of young %s: %+v %v", id, p, err)
		}
	}
	if f.midtrans.Count("POST /v2/va/cancel")+f.midtrans.Count("POST /v2/unchosen/cancel") != 0 {
		t.Fatal("a young payment was cancelled at Midtrans")
	}

	f.clock.advance(2 * time.Minute)
	for _, id := range []string{"unchosen", "va"} {
		p, err := f.app.Sync(f.ctx, id)
		if err != nil || p.Status != paymentv1.StatusCancelled || p.Reason != payment.ReasonExpired {
			t.Fatalf("sync of expired %s: %+v %v", id, p, err)
		}
		if f.midtrans.Count("POST /v2/"+id+"/cancel") != 1 {
			t.Fatalf("%s not cancelled at Midtrans", id)
		}
		f.wantEvents(id, paymentv1.EventRequested, paymentv1.EventCancelled)
	}
	if tx, _ := f.midtrans.Transaction("va"); tx.Status != "cancel" {
		t.Fatalf("the virtual account is still %s at Midtrans", tx.Status)
	}
}

func TestAnExpiredPaymentPaidWhileBeingCancelledIsPaid(t *testing.T) {
	f := newFixture(t)
	f.create("va")
	f.midtrans.Pay(t, "va", "bank_transfer", "pending", "")
	f.clock.advance(31 * time.Minute)
	// The customer pays between the status check and the cancel: Midtrans
	// refuses the cancel (412), and its status then says settlement.
	f.midtrans.BeforeNext("cancel", func() { f.midtrans.Pay(t, "va", "bank_transfer", "settlement", "") })
	p, err := f.app.Sync(f.ctx, "va")
	if err != nil || p.Status != paymentv1.StatusPaid {
		t.Fatalf("sync: %+v %v", p, err)
	}
	f.wantEvents("va", paymentv1.EventRequested, paymentv1.EventPaid)
}

func TestSyncRecordsWhatANotificationLost(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "gopay", "settlement", "")
	f.clock.advance(time.Hour) // expired, yet paid: paid wins
	p, err := f.app.Sync(f.ctx, "o-1")
	if err != nil || p.Status != paymentv1.StatusPaid {
		t.Fatalf("sync: %+v %v", p, err)
	}
	if f.midtrans.Count("POST /v2/o-1/cancel") != 0 {
		t.Fatal("a paid transaction was cancelled")
	}
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventPaid)
}

func TestSyncReannouncesWhatIsDone(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ id, status, want, event string }{
		{"paid", "settlement", paymentv1.StatusPaid, paymentv1.EventPaid},
		{"expired", "expire", paymentv1.StatusCancelled, paymentv1.EventCancelled},
	} {
		f.create(c.id)
		f.midtrans.Pay(t, c.id, "gopay", c.status, "")
		if err := f.notify(c.id); err != nil {
			t.Fatal(err)
		}
		before := f.stored(c.id)
		p, err := f.app.Sync(f.ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		after := f.stored(c.id)
		if p.Version != before.Version+1 || after.Version != before.Version+1 || p.Status != c.want {
			t.Fatalf("re-announce of %s: %+v", c.id, after)
		}
		before.Version = after.Version
		if !proto.Equal(before, after) {
			t.Fatalf("re-announce changed more than the version:\n%v\n%v", before, after)
		}
		f.wantEvents(c.id, paymentv1.EventRequested, c.event, c.event)
	}
	if _, err := f.app.Sync(f.ctx, "nobody"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("sync without payment: %v", err)
	}
}

// paid makes a PAID payment of the given type.
func (f *fixture) paid(orderID, paymentType string) {
	f.t.Helper()
	f.create(orderID)
	f.midtrans.Pay(f.t, orderID, paymentType, "settlement", "")
	if err := f.notify(orderID); err != nil {
		f.t.Fatal(err)
	}
}

func TestRefundOfARefundablePayment(t *testing.T) {
	f := newFixture(t)
	f.paid("o-1", "gopay")
	p, err := f.app.Refund(f.ctx, "o-1", "an active subscription exists")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paymentv1.StatusRefunded || p.RefundKey != "refund-o-1" || p.TransactionStatus != "refund" || p.Version != 3 {
		t.Fatalf("refunded %+v", p)
	}
	f.wantStatus("o-1", paymentv1.StatusRefunded, "", 3)
	tx, _ := f.midtrans.Transaction("o-1")
	if _, ok := tx.Refunds["refund-o-1"]; !ok || len(tx.Refunds) != 1 {
		t.Fatalf("refunds at Midtrans %v", tx.Refunds)
	}

	// Redelivered: re-announced, not refunded again.
	if _, err := f.app.Refund(f.ctx, "o-1", ""); err != nil {
		t.Fatal(err)
	}
	if n := f.midtrans.Count("POST /v2/o-1/refund"); n != 1 {
		t.Fatalf("Midtrans asked to refund %d times", n)
	}
	f.wantStatus("o-1", paymentv1.StatusRefunded, "", 4)
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventPaid, paymentv1.EventRefunded, paymentv1.EventRefunded)
}

func TestRefundOfABankTransferFails(t *testing.T) {
	f := newFixture(t)
	f.paid("o-1", "bank_transfer")
	p, err := f.app.Refund(f.ctx, "o-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paymentv1.StatusRefundFailed || !strings.Contains(p.Reason, "bank_transfer") || !strings.Contains(p.Reason, "412") ||
		p.RefundKey != "refund-o-1" {
		t.Fatalf("%+v", p)
	}
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventPaid, paymentv1.EventRefundFailed)
	if _, err := f.app.Refund(f.ctx, "o-1", ""); err != nil {
		t.Fatal(err)
	}
	f.wantEvents("o-1", paymentv1.EventRequested, paymentv1.EventPaid, paymentv1.EventRefundFailed, paymentv1.EventRefundFailed)
}

func TestARefundRetriedAfterAFailureRefundsOnce(t *testing.T) {
	f := newFixture(t)
	f.paid("o-1", "credit_card")
	f.midtrans.FailNext("refund", 1)
	if _, err := f.app.Refund(f.ctx, "o-1", ""); !errors.Is(err, app.ErrUpstream) {
		t.Fatalf("refund with Midtrans failing: %v", err)
	}
	f.wantStatus("o-1", paymentv1.StatusPaid, "", 2)

	// Midtrans refunds, but the write is lost: the retry uses the same key.
	f.state.FailNext("error while executing state transaction: failed to commit transaction: connection reset")
	if _, err := f.app.Refund(f.ctx, "o-1", ""); err == nil {
		t.Fatal("the failed write went unnoticed")
	}
	if _, err := f.app.Refund(f.ctx, "o-1", ""); err != nil {
		t.Fatal(err)
	}
	f.wantStatus("o-1", paymentv1.StatusRefunded, "", 3)
	if tx, _ := f.midtrans.Transaction("o-1"); len(tx.Refunds) != 1 {
		t.Fatalf("Midtrans refunded %d times", len(tx.Refunds))
	}
}

func TestRefundOfAPendingPaymentAsksMidtransFirst(t *testing.T) {
	f := newFixture(t)
	f.create("lost")
	f.midtrans.Pay(t, "lost", "gopay", "settlement", "") // its notification never arrived
	p, err := f.app.Refund(f.ctx, "lost", "")
	if err != nil || p.Status != paymentv1.StatusRefunded {
		t.Fatalf("refund: %+v %v", p, err)
	}
	f.wantEvents("lost", paymentv1.EventRequested, paymentv1.EventPaid, paymentv1.EventRefunded)

	f.create("waiting")
	if _, err := f.app.Refund(f.ctx, "waiting", ""); !errors.Is(err, app.ErrNotPaidYet) {
		t.Fatalf("refund of an unchosen payment: %v", err)
	}
	f.midtrans.Pay(t, "waiting", "bank_transfer", "pending", "")
	if _, err := f.app.Refund(f.ctx, "waiting", ""); !errors.Is(err, app.ErrNotPaidYet) {
		t.Fatalf("refund of a pending payment: %v", err)
	}
	f.wantEvents("waiting", paymentv1.EventRequested)
}

func TestNothingToRefund(t *testing.T) {
	f := newFixture(t)
	f.create("o-1")
	f.midtrans.Pay(t, "o-1", "gopay", "expire", "")
	if err := f.notify("o-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.Refund(f.ctx, "o-1", ""); !errors.Is(err, app.ErrNotRefundable) {
		t.Fatalf("refund of a cancelled payment: %v", err)
	}
	if _, err := f.app.Refund(f.ctx, "nobody", ""); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("refund without payment: %v", err)
	}
	if n := f.midtrans.Count("POST /v2/o-1/refund"); n != 0 {
		t.Fatalf("Midtrans asked to refund %d times", n)
	}
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	created := f.create("o-1")
	got, err := f.app.Get(f.ctx, "o-1")
	if err != nil || !proto.Equal(got, created) {
		t.Fatalf("%v %v", got, err)
	}
	for _, id := range []string{"o-2", "../x", ""} {
		if _, err := f.app.Get(f.ctx, id); !errors.Is(err, app.ErrNotFound) {
			t.Errorf("get %q: %v", id, err)
		}
	}
}
