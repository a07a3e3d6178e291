package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
)

type handlers struct {
	orders Orders
}

// Bounds of the stuck list's olderThan: below a second is every order in
// flight; beyond 90 days is older than any order can wait.
const (
	minOlderThan = time.Second
	maxOlderThan = 90 * 24 * time.Hour
)

// fail maps the use cases' errors to the envelope, in one table.
func fail(c *gin.Context, err error) {
	var ve *orders.ValidationError
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.Is(err, orders.ErrNotFound):
		err = apierror.New(apierror.NotFound, "order not found")
	case errors.Is(err, orders.ErrOrderPending):
		err = apierror.New(apierror.OrderPending, "the user already has an order in progress")
	case errors.Is(err, orders.ErrWrongState):
		err = apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case errors.Is(err, orders.ErrIDTaken):
		err = apierror.New(apierror.Conflict, "another order already has this id")
	case errors.Is(err, orders.ErrConflict):
		err = apierror.New(apierror.Conflict, "the order changed meanwhile; retry")
	case errors.Is(err, app.ErrSweepRunning):
		err = apierror.New(apierror.Conflict, "%s", err.Error())
	}
	httpserver.Fail(c, err)
}

var (
	marshal = protojson.MarshalOptions{EmitUnpopulated: true}
	// A create's body is checked strictly: an unknown field is a caller's
	// mistake worth a 400, not something to drop silently.
	strict = protojson.UnmarshalOptions{}
)

func writeOrder(c *gin.Context, status int, o *orderv1.Order) {
	b, err := marshal.Marshal(o)
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(status, "application/json", b)
}

// orderList is the protojson of each order in an items list.
func orderList(os []*orderv1.Order) ([]json.RawMessage, error) {
	items := make([]json.RawMessage, 0, len(os))
	for _, o := range os {
		b, err := marshal.Marshal(o)
		if err != nil {
			return nil, err
		}
		items = append(items, b)
	}
	return items, nil
}

// create: POST /internal/orders, body a protojson Order with id, customer,
// plan and price.
func (h handlers) create(c *gin.Context) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			fail(c, apierror.New(apierror.UnsupportedMedia, "content type must be application/json"))
			return
		}
	}
	body, err := io.ReadAll(c.Request.Body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		fail(c, apierror.New(apierror.TooLarge, "request body larger than %d bytes", maxErr.Limit))
		return
	case err != nil:
		fail(c, apierror.Wrap(err, apierror.Invalid, "unreadable request body"))
		return
	case len(body) == 0:
		fail(c, apierror.New(apierror.Invalid, "request body is empty"))
		return
	}
	in := &orderv1.Order{}
	if err := strict.Unmarshal(body, in); err != nil {
		fail(c, apierror.New(apierror.Invalid, "body must be an Order as protojson: %s", err.Error()))
		return
	}
	o, err := h.orders.Create(c, in)
	if err != nil {
		fail(c, err)
		return
	}
	writeOrder(c, http.StatusCreated, o)
}

// pathID returns the :id parameter, answering 404 for ids that cannot exist.
func pathID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if !orders.IsID(id) {
		fail(c, orders.ErrNotFound)
		return "", false
	}
	return id, true
}

func (h handlers) get(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	o, err := h.orders.Get(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	writeOrder(c, http.StatusOK, o)
}

func (h handlers) cancel(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := httpserver.BindJSON(c, &body); err != nil {
		fail(c, err)
		return
	}
	o, err := h.orders.Cancel(c, id, body.Reason)
	if err != nil {
		fail(c, err)
		return
	}
	writeOrder(c, http.StatusOK, o)
}

func (h handlers) markRefunded(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var body struct {
		Note string `json:"note"`
		By   string `json:"by"`
	}
	if err := httpserver.BindJSON(c, &body); err != nil {
		fail(c, err)
		return
	}
	o, err := h.orders.MarkRefunded(c, id, body.Note, body.By)
	if err != nil {
		fail(c, err)
		return
	}
	writeOrder(c, http.StatusOK, o)
}

type listAnswer struct {
	Items []json.RawMessage `json:"items"`
	Page  int               `json:"page"`
	Size  int               `json:"size"`
	Total int               `json:"total"`
}

// list: GET /internal/orders?userId=&page=&size=, newest first.
func (h handlers) list(c *gin.Context) {
	userID := c.Query("userId")
	if userID == "" {
		fail(c, apierror.New(apierror.Invalid, "userId is required"))
		return
	}
	p, ok := page(c)
	if !ok {
		return
	}
	res, err := h.orders.List(c, userID, p)
	if err != nil {
		fail(c, err)
		return
	}
	items, err := orderList(res.Items)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, listAnswer{Items: items, Page: p.Page, Size: p.Size, Total: res.Total})
}

func page(c *gin.Context) (app.Page, bool) {
	p := app.Page{Page: 1, Size: 20}
	for _, q := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"page", &p.Page, 1, 100_000}, {"size", &p.Size, 1, 100}} {
		s, present := c.GetQuery(q.name)
		if !present {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < q.min || n > q.max {
			fail(c, apierror.New(apierror.Invalid, "%s must be an integer from %d to %d", q.name, q.min, q.max))
			return p, false
		}
		*q.dst = n
	}
	return p, true
}

// stuck: GET /internal/orders/stuck?olderThan=<duration>, oldest first.
func (h handlers) stuck(c *gin.Context) {
	var olderThan time.Duration // zero: the service's STUCK_AFTER
	if s, present := c.GetQuery("olderThan"); present {
		d, err := time.ParseDuration(s)
		if err != nil || d < minOlderThan || d > maxOlderThan {
			fail(c, apierror.New(apierror.Invalid, "olderThan must be a duration from %s to %s, like 10m or 2h", minOlderThan, maxOlderThan))
			return
		}
		olderThan = d
	}
	os, err := h.orders.Stuck(c, olderThan)
	if err != nil {
		fail(c, err)
		return
	}
	items, err := orderList(os)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// sweep: POST /order-sweep-cron, from daprd's cron binding (or a test with
// the app token).
func (h handlers) sweep(c *gin.Context) {
	rep, err := h.orders.Sweep(c)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
