package identityv1

// Topic is the pub/sub topic of identity's events.
const Topic = "users"

// EventUserRegistered is the CloudEvent type of UserRegistered.
const EventUserRegistered = "tenflix.identity.user.registered.v1"
