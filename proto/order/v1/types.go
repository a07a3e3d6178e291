package orderv1

// Order statuses (Order.status).
const (
	StatusPending      = "PENDING"
	StatusPaid         = "PAID"
	StatusCompleted    = "COMPLETED"
	StatusCancelled    = "CANCELLED"
	StatusRefunded     = "REFUNDED"
	StatusRefundFailed = "REFUND_FAILED"
)

// CloudEvent types the order service publishes on topic Topic.
const (
	Topic                 = "orders"
	EventCreated          = "tenflix.order.created.v1"
	EventPaymentRequested = "tenflix.order.payment-requested.v1"
	EventPaid             = "tenflix.order.paid.v1"
	EventRefundRequested  = "tenflix.order.refund-requested.v1"
	EventCompleted        = "tenflix.order.completed.v1"
	EventCancelled        = "tenflix.order.cancelled.v1"
	EventRefunded         = "tenflix.order.refunded.v1"
	EventRefundFailed     = "tenflix.order.refund-failed.v1"
)

// Final reports whether status is an end of the saga. REFUND_FAILED is final
// for the saga; only an admin moves it on (to REFUNDED, by hand).
func Final(status string) bool {
	switch status {
	case StatusCompleted, StatusCancelled, StatusRefunded, StatusRefundFailed:
		return true
	}
	return false
}
