package httpapi

import (
	"encoding/json"

	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

// list is the envelope of every list answer.
type list[T any] struct {
	Items []T `json:"items"`
	Page  int `json:"page"`
	Size  int `json:"size"`
	Total int `json:"total"`
}

// planView is a plan as clients see it: prices as JSON numbers (IDR),
// discountPrice null when there is none.
type planView struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Price         int64  `json:"price"`
	DiscountPrice *int64 `json:"discountPrice"`
	Description   string `json:"description"`
	ActivePeriod  int32  `json:"activePeriod"`
	Active        bool   `json:"active"`
}

func planViewOf(p *subscriptionv1.Plan) planView {
	v := planView{ID: p.Id, Name: p.Name, Price: p.Price, Description: p.Description,
		ActivePeriod: p.ActivePeriod, Active: p.Active}
	if p.DiscountPrice != 0 {
		d := p.DiscountPrice
		v.DiscountPrice = &d
	}
	return v
}

// planBody is what an admin sends to create or replace a plan.
type planBody struct {
	ID            json.RawMessage `json:"id"` // read-only: ignored, so that a GET answer can be sent back
	Name          string          `json:"name"`
	Price         int64           `json:"price"`
	DiscountPrice *int64          `json:"discountPrice"` // null or absent: no discount
	Description   string          `json:"description"`
	ActivePeriod  int64           `json:"activePeriod"` // days
	// Active is optional: on create, false makes the plan inactive from the
	// start; on update, true re-activates it and false deactivates it.
	Active *bool `json:"active"`
}

func (b planBody) input() subscription.PlanInput {
	return subscription.PlanInput{Name: b.Name, Price: b.Price, DiscountPrice: b.DiscountPrice,
		Description: b.Description, ActivePeriod: b.ActivePeriod}
}

// subscriptionView is a user's subscription as they see it.
type subscriptionView struct {
	ID       string `json:"id"`
	PlanID   string `json:"planId"`
	PlanName string `json:"planName"`
	OrderID  string `json:"orderId"`
	Status   string `json:"status"`
	StartAt  string `json:"startAt"`
	EndAt    string `json:"endAt"`
}

func subscriptionViewOf(s *subscriptionv1.Subscription) subscriptionView {
	return subscriptionView{ID: s.Id, PlanID: s.PlanId, PlanName: s.PlanName, OrderID: s.OrderId,
		Status: s.Status, StartAt: s.StartAt, EndAt: s.EndAt}
}
