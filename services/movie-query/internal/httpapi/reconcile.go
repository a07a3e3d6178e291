package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-query/internal/reconcile"
)

// Reconciler repairs the read model against movie-command's state.
type Reconciler interface {
	Run(ctx context.Context) (reconcile.Report, error)
}

// CronBinding is the Dapr input binding (components/binding-reconcile-cron.yaml)
// whose name is also the route daprd POSTs to.
const CronBinding = "reconcile-cron"

// ReconcileRoutes mounts the two triggers of a reconciliation: the admin
// route (through the gateway), behind the admin checks given, and the cron
// binding's (from the sidecar, with no user behind it: the app token is the
// check).
func ReconcileRoutes(r gin.IRouter, rec Reconciler, admin ...gin.HandlerFunc) {
	run := func(c *gin.Context) {
		rep, err := rec.Run(c)
		if errors.Is(err, reconcile.ErrRunning) {
			httpserver.Fail(c, apierror.New(apierror.Conflict, "%s", err.Error()))
			return
		}
		if err != nil {
			httpserver.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, rep)
	}
	r.POST("/api/v1/movie-query/admin/reconcile", append(admin, run)...)
	r.POST("/"+CronBinding, run)
}
