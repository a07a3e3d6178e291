package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/payment"

	paymentv1 "tenflix/proto/payment/v1"
)

type handlers struct {
	payments Payments
}

// fail maps use-case errors to the envelope (codes first: daprd passes on
// only the start of an error body).
func fail(c *gin.Context, err error) {
	var ve *payment.ValidationError
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.Is(err, app.ErrNotFound):
		err = apierror.New(apierror.NotFound, "no payment for this order")
	case errors.Is(err, app.ErrBadSignature):
		err = apierror.New(apierror.Forbidden, "signature_key does not match")
	case errors.Is(err, app.ErrAmountMismatch):
		err = apierror.New(apierror.Unprocessable, "the amount Midtrans reports is not the payment's")
	case errors.Is(err, payment.ErrTransactionTaken):
		err = apierror.Wrap(err, apierror.Conflict, "the Midtrans transaction is recorded on another payment")
	case errors.Is(err, app.ErrConflict):
		err = apierror.Wrap(err, apierror.Conflict, "the order already has another payment, or it changed meanwhile; read it again")
	case errors.Is(err, app.ErrUpstream):
		// Not internal, so Fail does not log it; it is worth a line.
		httpserver.LoggerFrom(c).WarnContext(c, "midtrans call failed", "err", err)
		err = apierror.Wrap(err, apierror.BadGateway, "midtrans failed or did not answer in time; try again")
	}
	httpserver.Fail(c, err)
}

var marshal = protojson.MarshalOptions{EmitUnpopulated: true}

// document answers with the Payment as protojson, the bytes the outbox
// publishes.
func document(c *gin.Context, status int, p *paymentv1.Payment) {
	b, err := marshal.Marshal(p)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	c.Data(status, "application/json", b)
}

func (h *handlers) create(c *gin.Context) {
	var req createRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		httpserver.Fail(c, err)
		return
	}
	p, created, err := h.payments.Create(c, req.request())
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	document(c, status, p)
}

func (h *handlers) get(c *gin.Context) {
	p, err := h.payments.Get(c, c.Param("orderId"))
	if err != nil {
		fail(c, err)
		return
	}
	document(c, http.StatusOK, p)
}

func (h *handlers) sync(c *gin.Context) {
	p, err := h.payments.Sync(c, c.Param("orderId"))
	if err != nil {
		fail(c, err)
		return
	}
	document(c, http.StatusOK, p)
}

// notify takes Midtrans' raw notification. Midtrans retries according to
// the answer: 2xx never, 4xx twice, 502 five times.
func (h *handlers) notify(c *gin.Context) {
	n, err := decodeNotification(c)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	err = h.payments.Notify(c, app.Notification{
		OrderID: n.OrderID, StatusCode: n.StatusCode, GrossAmount: n.GrossAmount, SignatureKey: n.SignatureKey,
		TransactionStatus: n.TransactionStatus, FraudStatus: n.FraudStatus,
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// decodeNotification reads the notification's JSON object. Unlike
// BindJSON, it ignores unknown fields: Midtrans sends many and adds more.
func decodeNotification(c *gin.Context) (notification, error) {
	var n notification
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return n, apierror.New(apierror.UnsupportedMedia, "content type must be application/json")
		}
	}
	dec := json.NewDecoder(c.Request.Body)
	err := dec.Decode(&n)
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return n, apierror.New(apierror.TooLarge, "notification larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return n, apierror.New(apierror.Invalid, "notification body is empty")
	case errors.As(err, &typeErr):
		return n, apierror.New(apierror.Invalid, "field %q must be a string", typeErr.Field)
	case err != nil:
		return n, apierror.New(apierror.Invalid, "notification is not a JSON object")
	case dec.More():
		return n, apierror.New(apierror.Invalid, "notification must be a single JSON object")
	}
	for field, v := range map[string]string{
		"order_id": n.OrderID, "status_code": n.StatusCode, "gross_amount": n.GrossAmount, "signature_key": n.SignatureKey,
	} {
		if v == "" {
			return n, apierror.New(apierror.Invalid, "field %q is required", field)
		}
	}
	return n, nil
}
