package httpapi

import (
	"math"

	"tenflix/platform/apierror"
	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	"tenflix/services/order-aggregator/internal/app"
)

// The REST shapes: prices are JSON numbers here (the internal documents
// carry int64 as strings, protojson's way), and no internal field (version,
// refund key, fraud status) leaves the service.

type placeRequest struct {
	PlanID string `json:"planId"`
}

type markRefundedRequest struct {
	Note string `json:"note"`
}

type planDTO struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Price         int64  `json:"price"`
	DiscountPrice int64  `json:"discountPrice"`
	ActivePeriod  int32  `json:"activePeriod"` // days
}

type customerDTO struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type orderDTO struct {
	ID              string      `json:"id"`
	UserID          string      `json:"userId"`
	Status          string      `json:"status"`
	Price           int64       `json:"price"`
	Plan            planDTO     `json:"plan"`
	Customer        customerDTO `json:"customer"`
	Reason          string      `json:"reason"`
	RefundRequested bool        `json:"refundRequested"`
	CreatedAt       string      `json:"createdAt"`
	UpdatedAt       string      `json:"updatedAt"`
}

func planFrom(p *orderv1.Plan) planDTO {
	return planDTO{ID: p.GetId(), Name: p.GetName(), Price: p.GetPrice(), DiscountPrice: p.GetDiscountPrice(), ActivePeriod: p.GetActivePeriod()}
}

func orderFrom(o *orderv1.Order) orderDTO {
	return orderDTO{
		ID: o.GetId(), UserID: o.GetUserId(), Status: o.GetStatus(), Price: o.GetPrice(), Plan: planFrom(o.GetPlan()),
		Customer: customerDTO{Name: o.GetCustomer().GetName(), Email: o.GetCustomer().GetEmail()},
		Reason:   o.GetReason(), RefundRequested: o.GetRefundRequested(),
		CreatedAt: o.GetCreatedAt(), UpdatedAt: o.GetUpdatedAt(),
	}
}

func ordersFrom(os []*orderv1.Order) []orderDTO {
	out := make([]orderDTO, 0, len(os))
	for _, o := range os {
		out = append(out, orderFrom(o))
	}
	return out
}

// placedDTO is the answer to a new order: where its buyer pays.
type placedDTO struct {
	Order   placedOrderDTO `json:"order"`
	Payment snapDTO        `json:"payment"`
}

type placedOrderDTO struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	Price     int64   `json:"price"`
	Plan      planDTO `json:"plan"`
	CreatedAt string  `json:"createdAt"`
}

type snapDTO struct {
	Token       string `json:"token"`
	RedirectURL string `json:"redirectUrl"`
}

func placedFrom(p app.Placed) placedDTO {
	o := p.Order
	return placedDTO{
		Order:   placedOrderDTO{ID: o.GetId(), Status: o.GetStatus(), Price: o.GetPrice(), Plan: planFrom(o.GetPlan()), CreatedAt: o.GetCreatedAt()},
		Payment: snapDTO{Token: p.Payment.GetSnapToken(), RedirectURL: p.Payment.GetRedirectUrl()},
	}
}

// detailDTO is an order with its parts. payment and subscription are each
// an object, null (nothing yet) or {"error": {code, message}} (that part
// could not be read); subscription is {"refusal": {...}} when the paid order
// was refused.
type detailDTO struct {
	Order        orderDTO  `json:"order"`
	Payment      any       `json:"payment"`
	Subscription any       `json:"subscription"`
	Timeline     []stepDTO `json:"timeline"`
}

type paymentDTO struct {
	Status            string `json:"status"`
	PaymentType       string `json:"paymentType"`
	TransactionID     string `json:"transactionId"`
	TransactionStatus string `json:"transactionStatus"`
	Amount            int64  `json:"amount"`
	Token             string `json:"token"` // the buyer's own Snap token (to resume paying)
	RedirectURL       string `json:"redirectUrl"`
	Reason            string `json:"reason"`
	UpdatedAt         string `json:"updatedAt"`
}

type subscriptionDTO struct {
	ID       string `json:"id"`
	PlanID   string `json:"planId"`
	PlanName string `json:"planName"`
	Status   string `json:"status"`
	StartAt  string `json:"startAt"`
	EndAt    string `json:"endAt"`
}

type refusedDTO struct {
	Refusal refusalDTO `json:"refusal"`
}

type refusalDTO struct {
	Reason string `json:"reason"` // active-subscription-exists, plan-inactive, plan-not-found
	At     string `json:"at"`
}

type partErrorDTO struct {
	Error apierror.BodyError `json:"error"`
}

type stepDTO struct {
	Step   string `json:"step"`
	At     string `json:"at"`
	Detail string `json:"detail"`
}

func detailFrom(d app.Detail) detailDTO {
	out := detailDTO{Order: orderFrom(d.Order), Timeline: []stepDTO{}}
	for _, s := range d.Order.GetTimeline() {
		out.Timeline = append(out.Timeline, stepDTO{Step: s.GetName(), At: s.GetAt(), Detail: s.GetDetail()})
	}
	switch p := d.Payment; {
	case p.Err != nil:
		out.Payment = partError(p.Err)
	case p.Found:
		out.Payment = paymentFrom(p.Value)
	}
	switch s := d.Subscription; {
	case s.Err != nil:
		out.Subscription = partError(s.Err)
	case s.Found && s.Value.Subscription != nil:
		v := s.Value.Subscription
		out.Subscription = subscriptionDTO{ID: v.GetId(), PlanID: v.GetPlanId(), PlanName: v.GetPlanName(),
			Status: v.GetStatus(), StartAt: v.GetStartAt(), EndAt: v.GetEndAt()}
	case s.Found && s.Value.Refusal != nil:
		out.Subscription = refusedDTO{Refusal: refusalDTO{Reason: s.Value.Refusal.GetReason(), At: s.Value.Refusal.GetAt()}}
	}
	return out
}

func paymentFrom(p *paymentv1.Payment) paymentDTO {
	return paymentDTO{
		Status: p.GetStatus(), PaymentType: p.GetPaymentType(), TransactionID: p.GetTransactionId(),
		TransactionStatus: p.GetTransactionStatus(), Amount: p.GetAmount(), Token: p.GetSnapToken(),
		RedirectURL: p.GetRedirectUrl(), Reason: p.GetReason(), UpdatedAt: p.GetUpdatedAt(),
	}
}

func partError(e *app.PartError) partErrorDTO {
	msg := "the " + e.Service + " service is unavailable"
	if e.Timeout > 0 {
		msg = "the " + e.Service + " service did not answer within " + e.Timeout.String()
	}
	return partErrorDTO{Error: apierror.BodyError{Code: apierror.Unavailable, Message: msg}}
}

type pageDTO struct {
	Items []orderDTO `json:"items"`
	Page  int        `json:"page"`
	Size  int        `json:"size"`
	Total int        `json:"total"`
}

type stuckListDTO struct {
	Items []stuckDTO `json:"items"`
}

// stuckDTO is an order with how long it has been waiting since its last
// step: age as a Go duration (like olderThan) and in seconds.
type stuckDTO struct {
	orderDTO
	LastStep   string `json:"lastStep"`
	LastStepAt string `json:"lastStepAt"`
	Age        string `json:"age"`
	AgeSeconds int64  `json:"ageSeconds"`
}

func stuckFrom(items []app.StuckOrder) stuckListDTO {
	out := stuckListDTO{Items: make([]stuckDTO, 0, len(items))}
	for _, s := range items {
		out.Items = append(out.Items, stuckDTO{
			orderDTO: orderFrom(s.Order), LastStep: s.LastStep, LastStepAt: s.LastStepAt,
			Age: s.Age.String(), AgeSeconds: int64(math.Round(s.Age.Seconds())),
		})
	}
	return out
}
