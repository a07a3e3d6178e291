package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/subscription"

	subscriptionv1 "tenflix/proto/subscription/v1"
)

type handlers struct {
	app *app.App
	log *slog.Logger
}

// fail maps the service's errors to the envelope, in one table.
func fail(c *gin.Context, err error) {
	var ve *subscription.ValidationError
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.Is(err, subscription.ErrNotFound):
		err = apierror.New(apierror.NotFound, "%s", err.Error())
	case errors.Is(err, subscription.ErrPlanNameTaken):
		err = apierror.New(apierror.Conflict, "a plan with that name exists")
	case errors.Is(err, subscription.ErrConflict):
		err = apierror.New(apierror.Conflict, "changed by another request meanwhile; read it again and retry")
	}
	httpserver.Fail(c, err)
}

// planID returns the :id parameter, answering 404 for ids that cannot exist
// (plan ids are UUIDs).
func planID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "plan %s not found", id))
		return "", false
	}
	return id, true
}

func page(c *gin.Context) (app.Page, bool) {
	p := app.Page{Page: 1, Size: 20}
	for _, q := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"page", &p.Page, 1, 1_000_000}, {"size", &p.Size, 1, 100}} {
		s := c.Query(q.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < q.min || n > q.max {
			httpserver.Fail(c, apierror.New(apierror.Invalid, "%s must be an integer from %d to %d", q.name, q.min, q.max))
			return p, false
		}
		*q.dst = n
	}
	return p, true
}

// A plan's HTTP ETag is its version: a client that sends it back in
// If-Match changes the plan only if nobody changed it since.
func setETag(c *gin.Context, p *subscriptionv1.Plan) {
	c.Header("ETag", `"`+strconv.FormatInt(p.Version, 10)+`"`)
}

// ifMatch is the version an If-Match header names; 0 when there is none
// (or "*": any version).
func ifMatch(c *gin.Context) (int64, bool) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" || h == "*" {
		return 0, true
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v < 1 {
		httpserver.Fail(c, apierror.New(apierror.Invalid, `If-Match must be a plan's ETag, such as "3"`))
		return 0, false
	}
	return v, true
}

func (h *handlers) createPlan(c *gin.Context) {
	var body planBody
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	p, err := h.app.CreatePlan(c, body.input(), body.Active == nil || *body.Active)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", Prefix+"/plans/"+p.Id)
	setETag(c, p)
	c.JSON(http.StatusCreated, planViewOf(p))
}

func (h *handlers) updatePlan(c *gin.Context) {
	id, ok := planID(c)
	if !ok {
		return
	}
	version, ok := ifMatch(c)
	if !ok {
		return
	}
	var body planBody
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	p, err := h.app.UpdatePlan(c, id, body.input(), body.Active, version)
	if err != nil {
		fail(c, err)
		return
	}
	setETag(c, p)
	c.JSON(http.StatusOK, planViewOf(p))
}

// deletePlan deactivates the plan: it stays, for the subscriptions that
// have it, but no new order may use it.
func (h *handlers) deletePlan(c *gin.Context) {
	id, ok := planID(c)
	if !ok {
		return
	}
	version, ok := ifMatch(c)
	if !ok {
		return
	}
	if _, err := h.app.DeactivatePlan(c, id, version); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) getPlan(c *gin.Context) {
	id, ok := planID(c)
	if !ok {
		return
	}
	p, err := h.app.Plan(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	setETag(c, p)
	c.JSON(http.StatusOK, planViewOf(p))
}

// listPlans lists the active plans; an admin may ask for all of them.
func (h *handlers) listPlans(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	var all bool
	switch c.Query("all") {
	case "", "false":
	case "true":
		if caller, _ := authn.CallerFrom(c); !caller.HasRole("admin") {
			httpserver.Fail(c, apierror.New(apierror.Forbidden, "only admins may list inactive plans"))
			return
		}
		all = true
	default:
		httpserver.Fail(c, apierror.New(apierror.Invalid, "all must be true or false"))
		return
	}
	plans, total, err := h.app.ListPlans(c, all, p)
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]planView, len(plans))
	for i, pl := range plans {
		items[i] = planViewOf(pl)
	}
	c.JSON(http.StatusOK, list[planView]{Items: items, Page: p.Page, Size: p.Size, Total: total})
}

// me is the caller's subscription that entitles them now.
func (h *handlers) me(c *gin.Context) {
	caller, _ := authn.CallerFrom(c)
	sub, err := h.app.CurrentSubscription(c, caller.Subject)
	if errors.Is(err, subscription.ErrNotFound) {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "you have no active subscription"))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, subscriptionViewOf(sub))
}
