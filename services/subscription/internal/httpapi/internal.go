package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/subscription/internal/subscription"
)

// Internal routes answer documents as the protojson of their message, the
// same shape the outbox publishes (docs/saga.md, "Internal APIs").
var marshal = protojson.MarshalOptions{EmitUnpopulated: true}

// document renders msg as protojson for a JSON answer.
func document(msg proto.Message) (json.RawMessage, error) {
	return marshal.Marshal(msg)
}

func writeDocument(c *gin.Context, msg proto.Message) {
	b, err := document(msg)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json", b)
}

// internalPlan: GET /internal/plans/{id} -> Plan, active or not (the caller
// tells a deactivated plan by its active field).
func (h *handlers) internalPlan(c *gin.Context) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "plan %s not found", id))
		return
	}
	p, err := h.app.Plan(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	writeDocument(c, p)
}

// entitlementBody is the answer of GET /internal/entitlements/{userId}.
type entitlementBody struct {
	UserID       string          `json:"userId"`
	Entitled     bool            `json:"entitled"`
	Subscription json.RawMessage `json:"subscription"` // Subscription, or null
}

// internalEntitlement: whether the user may watch now. A failure to tell is
// an error answer, never "entitled".
func (h *handlers) internalEntitlement(c *gin.Context) {
	e, err := h.app.Entitlement(c, c.Param("userId"))
	if err != nil {
		fail(c, err)
		return
	}
	body := entitlementBody{UserID: e.UserID, Entitled: e.Entitled, Subscription: json.RawMessage("null")}
	if e.Subscription != nil {
		if body.Subscription, err = document(e.Subscription); err != nil {
			httpserver.Fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, body)
}

// outcomeBody is the answer of GET /internal/orders/{orderId}/subscription:
// one of the two fields.
type outcomeBody struct {
	Subscription json.RawMessage `json:"subscription,omitempty"`
	Refusal      json.RawMessage `json:"refusal,omitempty"`
}

// internalOrderOutcome: the order's subscription or refusal; 404 while it
// has neither.
func (h *handlers) internalOrderOutcome(c *gin.Context) {
	id := c.Param("orderId")
	if !subscription.ValidOrderID(id) {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "order %s has no outcome", id))
		return
	}
	sub, refusal, err := h.app.OrderOutcome(c, id)
	if errors.Is(err, subscription.ErrNotFound) {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "order %s has no outcome yet", id))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	var body outcomeBody
	if sub != nil {
		body.Subscription, err = document(sub)
	} else {
		body.Refusal, err = document(refusal)
	}
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, body)
}
