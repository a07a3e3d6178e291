package subscriptionv1

// Subscription statuses (Subscription.status).
const (
	StatusActive  = "ACTIVE"
	StatusExpired = "EXPIRED"
)

// Why a paid order was refused (Refusal.reason).
const (
	RefusedActiveExists = "active-subscription-exists"
	RefusedPlanInactive = "plan-inactive"
	RefusedPlanNotFound = "plan-not-found"
)

// CloudEvent types the subscription service publishes on topic Topic.
const (
	Topic                = "subscriptions"
	EventPlanCreated     = "tenflix.subscription.plan-created.v1"
	EventPlanUpdated     = "tenflix.subscription.plan-updated.v1"
	EventPlanDeactivated = "tenflix.subscription.plan-deactivated.v1"
	EventGranted         = "tenflix.subscription.granted.v1"
	EventRefused         = "tenflix.subscription.refused.v1"
	EventExpired         = "tenflix.subscription.expired.v1"
)
