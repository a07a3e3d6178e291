// Package moviecommand reads movie-command's internal API through Dapr
// service invocation on the service's own sidecar.
package moviecommand

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	catalogv1 "tenflix/proto/catalog/v1"
)

// AppID is movie-command's Dapr app id.
const AppID = "movie-command"

// Client invokes movie-command through a Dapr sidecar's HTTP API.
type Client struct {
	base     string // http://127.0.0.1:<port>/v1.0/invoke/movie-command/method
	token    string
	pageSize int
	http     *http.Client
}

// New returns a client for the sidecar at sidecarURL (e.g.
// http://127.0.0.1:3502), authenticating with its API token (empty for none).
func New(sidecarURL, apiToken string) *Client {
	return &Client{
		base:     strings.TrimRight(sidecarURL, "/") + "/v1.0/invoke/" + AppID + "/method",
		token:    apiToken,
		pageSize: 500,
		http:     &http.Client{Timeout: 30 * time.Second},
	}
}

// SnapshotPage reads the page of movie-command's state after the key after.
func (c *Client) SnapshotPage(ctx context.Context, after string) (catalogv1.SnapshotPage, error) {
	q := url.Values{"after": {after}, "limit": {strconv.Itoa(c.pageSize)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+catalogv1.SnapshotPath+"?"+q.Encode(), nil)
	if err != nil {
		return catalogv1.SnapshotPage{}, err
	}
	if c.token != "" {
		req.Header.Set("dapr-api-token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return catalogv1.SnapshotPage{}, fmt.Errorf("movie-command snapshot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return catalogv1.SnapshotPage{}, fmt.Errorf("movie-command snapshot: %d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var page catalogv1.SnapshotPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return catalogv1.SnapshotPage{}, fmt.Errorf("decode movie-command snapshot: %w", err)
	}
	return page, nil
}
