package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/order-aggregator/internal/app"
)

type handlers struct {
	app *app.App
}

// fail maps use-case errors to the envelope, in one table. Failures of other
// services are logged here, once: the client sees only their class.
func fail(c *gin.Context, err error) {
	var ve *app.ValidationError
	var refused *app.Refused
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.As(err, &refused):
		err = passedOn(refused)
	case errors.Is(err, app.ErrPlanNotFound):
		err = apierror.New(apierror.NotFound, "plan not found")
	case errors.Is(err, app.ErrPlanInactive):
		err = apierror.New(apierror.PlanInactive, "this plan is not for sale any more")
	case errors.Is(err, app.ErrSubscriptionActive):
		err = apierror.New(apierror.SubscriptionActive, "you already have an active subscription")
	case errors.Is(err, app.ErrOrderPending):
		err = apierror.New(apierror.OrderPending, "you have an order in progress; pay or cancel it first")
	case errors.Is(err, app.ErrOrderNotFound):
		err = apierror.New(apierror.NotFound, "order not found")
	case errors.Is(err, app.ErrPaymentFailed):
		httpserver.LoggerFrom(c).WarnContext(c, "payment could not be started", "err", err)
		err = apierror.New(apierror.BadGateway, "the payment could not be started; the order was cancelled, try again")
	case errors.Is(err, app.ErrUpstreamRefused):
		httpserver.LoggerFrom(c).ErrorContext(c, "a service refused the aggregator's request", "err", err)
		err = apierror.New(apierror.BadGateway, "the order could not be processed")
	case errors.Is(err, app.ErrUnavailable):
		httpserver.LoggerFrom(c).WarnContext(c, "a service is unavailable", "err", err)
		c.Header("Retry-After", "5")
		err = apierror.New(apierror.Unavailable, "orders are unavailable right now; retry later")
	}
	httpserver.Fail(c, err)
}

// passedOn answers with a service's refusal: its code with its status, or,
// when the two disagree (not an envelope of ours), the status's generic code.
func passedOn(r *app.Refused) error {
	code := apierror.Code(r.Code)
	if code.Status() != r.Status {
		switch r.Status {
		case http.StatusBadRequest:
			code = apierror.Invalid
		case http.StatusForbidden:
			code = apierror.Forbidden
		case http.StatusNotFound:
			code = apierror.NotFound
		case http.StatusConflict:
			code = apierror.Conflict
		case http.StatusUnprocessableEntity:
			code = apierror.Unprocessable
		default:
			code = apierror.BadGateway
		}
	}
	return apierror.New(code, "refused by the %s service (%s)", r.Service, r.Code)
}

func caller(c *gin.Context) app.Caller {
	claims, _ := authn.CallerFrom(c) // Authenticate runs first
	return app.Caller{UserID: claims.Subject, Name: claims.Name, Email: claims.Email, Admin: claims.HasRole("admin")}
}

func (h handlers) place(c *gin.Context) {
	var req placeRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	placed, err := h.app.Place(c.Request.Context(), caller(c), req.PlanID)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", Prefix+"/"+placed.Order.GetId())
	c.JSON(http.StatusCreated, placedFrom(placed))
}

func (h handlers) detail(c *gin.Context) {
	d, err := h.app.Detail(c.Request.Context(), caller(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, detailFrom(d))
}

func (h handlers) history(c *gin.Context) {
	page, err := intQuery(c, "page", 1)
	if err != nil {
		fail(c, err)
		return
	}
	size, err := intQuery(c, "size", 20)
	if err != nil {
		fail(c, err)
		return
	}
	p, err := h.app.History(c.Request.Context(), caller(c), page, size)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageDTO{Items: ordersFrom(p.Items), Page: p.Page, Size: p.Size, Total: p.Total})
}

func (h handlers) stuck(c *gin.Context) {
	olderThan := app.DefaultStuckAge
	if s := c.Query("olderThan"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fail(c, &app.ValidationError{Msg: "olderThan must be a duration like 10m or 2h, got " + strconv.Quote(s)})
			return
		}
		olderThan = d
	}
	items, err := h.app.Stuck(c.Request.Context(), olderThan)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, stuckFrom(items))
}

func (h handlers) markRefunded(c *gin.Context) {
	var req markRefundedRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	o, err := h.app.MarkRefunded(c.Request.Context(), caller(c), c.Param("id"), req.Note)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, orderFrom(o))
}

// notify relays Midtrans' notification. Only JSON is accepted, so that the
// engine's input check (no NUL, valid UTF-8) has seen the body; the bytes
// go on unchanged, since payment verifies their signature.
func (h handlers) notify(c *gin.Context) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			fail(c, apierror.New(apierror.UnsupportedMedia, "content type must be application/json"))
			return
		}
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			fail(c, apierror.New(apierror.TooLarge, "notification larger than %d bytes", maxErr.Limit))
			return
		}
		fail(c, apierror.Wrap(err, apierror.Invalid, "could not read the notification"))
		return
	}
	if err := h.app.Notify(c.Request.Context(), body); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// intQuery reads an integer query parameter; absent or empty is def.
func intQuery(c *gin.Context, name string, def int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &app.ValidationError{Msg: name + " must be an integer, got " + strconv.Quote(s)}
	}
	return n, nil
}
