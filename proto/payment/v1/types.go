package paymentv1

// Payment statuses (Payment.status).
const (
	StatusPending      = "PENDING"
	StatusPaid         = "PAID"
	StatusCancelled    = "CANCELLED"
	StatusRefunded     = "REFUNDED"
	StatusRefundFailed = "REFUND_FAILED"
)

// CloudEvent types the payment service publishes on topic Topic.
const (
	Topic             = "payments"
	EventRequested    = "tenflix.payment.requested.v1"
	EventPaid         = "tenflix.payment.paid.v1"
	EventCancelled    = "tenflix.payment.cancelled.v1"
	EventRefunded     = "tenflix.payment.refunded.v1"
	EventRefundFailed = "tenflix.payment.refund-failed.v1"
)

// RefundKey is the Midtrans refund_key of an order's refund: the same on
// every retry, so that Midtrans refunds an order at most once.
func RefundKey(orderID string) string { return "refund-" + orderID }
