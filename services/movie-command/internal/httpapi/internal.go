package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	catalogv1 "tenflix/proto/catalog/v1"
)

// Snapshotter reads every aggregate of the catalog, page by page
// (postgres.DB).
type Snapshotter interface {
	Snapshot(ctx context.Context, kinds []string, after string, limit int) ([]catalogv1.SnapshotItem, error)
}

// internalRoutes mounts the routes other services call through Dapr service
// invocation (never routed by the gateway): the read-only snapshot that
// movie-query reconciles its read model against.
func internalRoutes(r gin.IRouter, snap Snapshotter) {
	r.GET(catalogv1.SnapshotPath, snapshot(snap))
}

func snapshot(snap Snapshotter) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := 500
		if s := c.Query("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > catalogv1.SnapshotMaxLimit {
				httpserver.Fail(c, apierror.New(apierror.Invalid, "limit must be an integer from 1 to %d", catalogv1.SnapshotMaxLimit))
				return
			}
			limit = n
		}
		items, err := snap.Snapshot(c, catalogv1.Aggregates, c.Query("after"), limit)
		if err != nil {
			httpserver.Fail(c, err)
			return
		}
		page := catalogv1.SnapshotPage{Items: items}
		if items == nil {
			page.Items = []catalogv1.SnapshotItem{} // an empty page has an empty list, not null
		}
		if len(items) == limit {
			page.Next = items[len(items)-1].Key
		}
		c.JSON(http.StatusOK, page)
	}
}
