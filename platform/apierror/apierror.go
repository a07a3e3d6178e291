// Package apierror is the one error vocabulary of every Tenflix service: a few
// codes, each mapped to one HTTP status, rendered in one JSON envelope
// {"error":{"code":"not_found","message":"..."}}.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a machine-readable error class.
type Code string

const (
	Invalid          Code = "invalid"
	Unauthorized     Code = "unauthorized"
	Forbidden        Code = "forbidden"
	NotFound         Code = "not_found"
	MethodNotAllowed Code = "method_not_allowed"
	Conflict         Code = "conflict"
	TooLarge         Code = "too_large"
	HeadersTooLarge  Code = "headers_too_large"
	UnsupportedMedia Code = "unsupported_media_type"
	RateLimited      Code = "rate_limited"
	Unavailable      Code = "unavailable"
	BadGateway       Code = "bad_gateway" // an upstream (Midtrans, another service) failed
	Internal         Code = "internal"

	// Conflicts of the order flow: each says which rule refused the order.
	OrderPending       Code = "order_pending"       // the user has an order in flight
	SubscriptionActive Code = "subscription_active" // the user has an ACTIVE subscription
	PlanInactive       Code = "plan_inactive"       // the plan was deactivated
	Unprocessable      Code = "unprocessable"       // well-formed but refused (a payment amount that does not match)

	// Refusals of watching: each says why the user may not play.
	NotSubscribed       Code = "not_subscribed"       // no subscription at all
	SubscriptionExpired Code = "subscription_expired" // the last one has ended
	VideoNotReady       Code = "video_not_ready"      // still uploading or transcoding, or failed
)

var statuses = map[Code]int{
	Invalid:          http.StatusBadRequest,
	Unauthorized:     http.StatusUnauthorized,
	Forbidden:        http.StatusForbidden,
	NotFound:         http.StatusNotFound,
	MethodNotAllowed: http.StatusMethodNotAllowed,
	Conflict:         http.StatusConflict,
	TooLarge:         http.StatusRequestEntityTooLarge,
	HeadersTooLarge:  http.StatusRequestHeaderFieldsTooLarge,
	UnsupportedMedia: http.StatusUnsupportedMediaType,
	RateLimited:      http.StatusTooManyRequests,
	Unavailable:      http.StatusServiceUnavailable,
	BadGateway:       http.StatusBadGateway,
	Internal:         http.StatusInternalServerError,

	OrderPending:       http.StatusConflict,
	SubscriptionActive: http.StatusConflict,
	PlanInactive:       http.StatusConflict,
	Unprocessable:      http.StatusUnprocessableEntity,

	NotSubscribed:       http.StatusForbidden,
	SubscriptionExpired: http.StatusForbidden,
	VideoNotReady:       http.StatusConflict,
}

// Status is the HTTP status of a code; unknown codes are internal errors.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an error a client may see. Its Message is shown as is, so it must
// never carry internal details.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, for logs only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New makes a client-visible error.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap makes a client-visible error that keeps its cause for the logs.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Body is the JSON envelope.
type Body struct {
	Error BodyError `json:"error"`
}

// BodyError is the content of the envelope.
type BodyError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// From classifies any error: an *Error anywhere in the chain keeps its code and
// message; anything else is internal, with a generic message.
func From(err error) (status int, body Body, internal bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code.Status(), Body{Error: BodyError{Code: e.Code, Message: e.Message}}, e.Code == Internal
	}
	return http.StatusInternalServerError, Body{Error: BodyError{Code: Internal, Message: "internal error"}}, true
}
