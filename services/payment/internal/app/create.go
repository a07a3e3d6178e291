package app

import (
	"context"
	"errors"
	"fmt"

	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

// Create opens the Snap transaction of an order and records it as a PENDING
// payment (event requested). created is false when the order already had
// its payment: a retry gets the same payment (the same token) back, and
// Midtrans is not asked again. When Snap fails nothing is written
// (ErrUpstream).
func (a *App) Create(ctx context.Context, r payment.Request) (p *paymentv1.Payment, created bool, err error) {
	if err := r.Validate(); err != nil {
		return nil, false, err
	}
	defer a.state.Lock(key(r.OrderID))()
	if p, err := a.existing(ctx, r); !errors.Is(err, ErrNotFound) {
		return p, false, err
	}

	now := a.now()
	snap, err := a.midtrans.CreateTransaction(ctx, Checkout{Request: r, Start: now, Expiry: a.expiry})
	if err != nil {
		return nil, false, upstream("snap create", err)
	}
	p = &paymentv1.Payment{
		OrderId:     r.OrderID,
		UserId:      r.UserID,
		Amount:      r.Amount,
		Status:      paymentv1.StatusPending,
		SnapToken:   snap.Token,
		RedirectUrl: snap.RedirectURL,
		CreatedAt:   payment.Timestamp(now),
		UpdatedAt:   payment.Timestamp(now),
		Version:     1,
	}
	err = a.create(ctx, p)
	if errors.Is(err, ErrConflict) {
		// Another instance recorded the order's payment first.
		p, err := a.existing(ctx, r)
		return p, false, err
	}
	if err != nil {
		return nil, false, err
	}
	a.logger(ctx).InfoContext(ctx, "payment requested", "order_id", r.OrderID, "amount", r.Amount)
	return p, true, nil
}

// existing is the order's payment when it is the one r asks for;
// ErrNotFound when the order has none yet.
func (a *App) existing(ctx context.Context, r payment.Request) (*paymentv1.Payment, error) {
	p, _, err := a.get(ctx, r.OrderID)
	if err != nil {
		return nil, err
	}
	if p.GetUserId() != r.UserID || p.GetAmount() != r.Amount {
		return nil, fmt.Errorf("%w: order %s already has a payment of another user or amount", ErrConflict, r.OrderID)
	}
	return p, nil
}
