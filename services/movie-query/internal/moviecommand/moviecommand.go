// Package moviecommand reads movie-command's internal API through Dapr
// service invocation on the service's own sidecar.
package moviecommand

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"tenflix/platform/sidecar"

	catalogv1 "tenflix/proto/catalog/v1"
)

// AppID is movie-command's Dapr app id.
const AppID = "movie-command"

// Client invokes movie-command through the sidecar.
type Client struct {
	dapr     *sidecar.Client
	pageSize int
}

// New returns a client that invokes movie-command through dapr.
func New(dapr *sidecar.Client) *Client {
	return &Client{dapr: dapr, pageSize: 500}
}

// SnapshotPage reads the page of movie-command's state after the key after.
func (c *Client) SnapshotPage(ctx context.Context, after string) (catalogv1.SnapshotPage, error) {
	q := url.Values{"after": {after}, "limit": {strconv.Itoa(c.pageSize)}}
	var page catalogv1.SnapshotPage
	if err := c.dapr.InvokeJSON(ctx, http.MethodGet, AppID, catalogv1.SnapshotPath+"?"+q.Encode(), nil, &page); err != nil {
		return catalogv1.SnapshotPage{}, fmt.Errorf("movie-command snapshot: %w", err)
	}
	return page, nil
}
