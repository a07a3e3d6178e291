// Package remote is how the use cases see a call to another service that did
// not succeed. Either the callee refused (it answered 4xx in the error
// envelope, whose status and code a use case may act on or pass on), or it is
// unavailable: unreachable, too slow, failing (5xx), answering what does not
// decode, or refused by daprd itself (no envelope: accessControl, an unknown
// app id), none of which the aggregator's client caused or can fix. The
// clients in internal/order, internal/payment and internal/subscription
// classify every failure here, so that the use cases never see a sidecar type.
package remote

import (
	"errors"
	"fmt"
	"net/http"

	"tenflix/platform/sidecar"
)

// ErrUnavailable: the service gave no usable answer.
var ErrUnavailable = errors.New("service unavailable")

// Refusal is a 4xx answer of the service in its error envelope. daprd passes
// on only the first 63 bytes of an error body, so there is no message:
// Status and Code are all a caller may branch on.
type Refusal struct {
	Service string // the callee's app id
	Status  int    // 400..499
	Code    string // the envelope's code, e.g. "order_pending"
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s refused: %d %s", r.Service, r.Status, r.Code)
}

// Classify turns the error of a call to service into a *Refusal or an error
// wrapping ErrUnavailable (keeping the cause for the logs).
func Classify(service string, err error) error {
	if err == nil {
		return nil
	}
	var api *sidecar.APIError
	if errors.As(err, &api) && api.Status >= 400 && api.Status < 500 && api.Code() != "" {
		return &Refusal{Service: service, Status: api.Status, Code: api.Code()}
	}
	return fmt.Errorf("%s: %w: %w", service, ErrUnavailable, err)
}

// BadAnswer is the error of an answer that does not decode: the callee's
// fault, so it counts as unavailable.
func BadAnswer(service string, err error) error {
	return fmt.Errorf("%s: %w: decode answer: %w", service, ErrUnavailable, err)
}

// RefusalOf returns the refusal in err's chain.
func RefusalOf(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// IsNotFound reports whether the service answered 404.
func IsNotFound(err error) bool {
	r, ok := RefusalOf(err)
	return ok && r.Status == http.StatusNotFound
}

// IsRefusedWith reports whether the service refused with the given code.
func IsRefusedWith(err error, code string) bool {
	r, ok := RefusalOf(err)
	return ok && r.Code == code
}
