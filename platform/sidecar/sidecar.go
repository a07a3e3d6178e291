// Package sidecar talks to the service's own Dapr sidecar over its HTTP API.
//
// State is written over HTTP on purpose: a JSON value sent this way is stored
// by state.postgresql v1 as a jsonb document (over gRPC it arrives as bytes and
// is stored base64-encoded), which lets the owning service query its state
// with SQL and lets the database enforce invariants on it.
package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tenflix/platform/tracecontext"
)

// ErrNotFound: the key or secret does not exist.
var ErrNotFound = errors.New("not found")

// ErrETagMismatch: an optimistic-concurrency check failed (someone wrote first).
var ErrETagMismatch = errors.New("etag mismatch")

// Client is a small Dapr HTTP API client.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the sidecar at 127.0.0.1:httpPort, authenticating
// with the Dapr API token (empty when the sidecar has none).
func New(httpPort, apiToken string) *Client {
	return &Client{
		base:  "http://127.0.0.1:" + httpPort,
		token: apiToken,
		http:  &http.Client{Timeout: 30 * time.Second},
	}
}

// APIError is a non-2xx answer of the sidecar.
type APIError struct {
	Status    int
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("dapr: %d %s: %s", e.Status, e.ErrorCode, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	// daprd continues the caller's trace: the outbox puts it in the event.
	if span, ok := tracecontext.FromContext(ctx); ok {
		req.Header.Set(tracecontext.Header, span.Traceparent())
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("dapr-api-token", c.token)
	}
	return c.http.Do(req)
}

func apiError(resp *http.Response) error {
	e := &APIError{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(b))
	}
	return e
}

// WaitReady blocks until the sidecar's components are loaded
// (/v1.0/healthz/outbound answers 204) or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		resp, err := c.do(ctx, http.MethodGet, "/v1.0/healthz/outbound", nil, nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for dapr sidecar at %s: %w", c.base, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Secret reads one secret from a secret store. The local file store returns
// {name: value}; the value of key name is returned.
func (c *Client) Secret(ctx context.Context, store, name string) (string, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1.0/secrets/"+url.PathEscape(store)+"/"+url.PathEscape(name), nil, nil)
	if err != nil {
		return "", fmt.Errorf("get secret %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("secret %s: %w", name, ErrNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		e := apiError(resp).(*APIError)
		// The local file store answers a missing key with 500 ERR_SECRET_GET
		// "... not found" rather than 404.
		if e.ErrorCode == "ERR_SECRET_GET" && strings.Contains(e.Message, "not found") {
			return "", fmt.Errorf("secret %s: %w", name, ErrNotFound)
		}
		return "", fmt.Errorf("get secret %s: %w", name, e)
	}
	var m map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return "", fmt.Errorf("decode secret %s: %w", name, err)
	}
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", name, ErrNotFound)
	}
	return v, nil
}

// GetState reads a key with strong consistency and returns its raw JSON value
// and ETag.
func (c *Client) GetState(ctx context.Context, store, key string) (json.RawMessage, string, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1.0/state/"+url.PathEscape(store)+"/"+url.PathEscape(key)+"?consistency=strong", nil, nil)
	if err != nil {
		return nil, "", fmt.Errorf("get state %s: %w", key, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, "", fmt.Errorf("read state %s: %w", key, err)
		}
		return b, resp.Header.Get("ETag"), nil
	case http.StatusNoContent:
		return nil, "", fmt.Errorf("state %s: %w", key, ErrNotFound)
	default:
		return nil, "", fmt.Errorf("get state %s: %w", key, apiError(resp))
	}
}

// Op is one operation of a state transaction.
type Op struct {
	Operation string    `json:"operation"` // "upsert" or "delete"
	Request   OpRequest `json:"request"`
}

// OpRequest is the key, value and options of an Op.
type OpRequest struct {
	Key   string `json:"key"`
	Value any    `json:"value,omitempty"`
	// ContentType "application/json" makes the outbox publish Value as JSON
	// (without it, daprd 1.14 publishes Go's fmt rendering of the value).
	ContentType string            `json:"contentType,omitempty"`
	ETag        string            `json:"etag,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Options     *OpOptions        `json:"options,omitempty"`
}

// OpOptions sets the concurrency mode of an operation.
type OpOptions struct {
	Concurrency string `json:"concurrency,omitempty"` // "first-write" or "last-write"
	Consistency string `json:"consistency,omitempty"`
}

// Transact runs operations atomically. With the outbox enabled on the store,
// every upsert is also published as an event once the transaction commits.
// A failed ETag or first-write check returns ErrETagMismatch; other failures
// (e.g. a unique index) return an *APIError whose Message names the cause.
func (c *Client) Transact(ctx context.Context, store string, ops []Op) error {
	body := map[string]any{"operations": ops}
	resp, err := c.do(ctx, http.MethodPost, "/v1.0/state/"+url.PathEscape(store)+"/transaction", body, nil)
	if err != nil {
		return fmt.Errorf("state transaction: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
		return nil
	}
	e := apiError(resp).(*APIError)
	if resp.StatusCode == http.StatusConflict || strings.Contains(e.Message, "etag mismatch") ||
		strings.Contains(e.Message, "possible etag mismatch") || strings.Contains(e.Message, "no item was updated") {
		return fmt.Errorf("state transaction: %w (%s)", ErrETagMismatch, e.Message)
	}
	return fmt.Errorf("state transaction: %w", e)
}

// InvokeJSON calls method (a path, with its query) of app appID through
// Dapr service invocation and decodes its JSON answer into out. A non-2xx
// answer is an *APIError (Message: the start of the callee's body).
func (c *Client) InvokeJSON(ctx context.Context, httpMethod, appID, method string, out any) error {
	resp, err := c.do(ctx, httpMethod, "/v1.0/invoke/"+url.PathEscape(appID)+"/method/"+strings.TrimPrefix(method, "/"), nil, nil)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", appID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("invoke %s: %w", appID, apiError(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("invoke %s: decode answer: %w", appID, err)
	}
	return nil
}

// Publish sends data (marshalled as JSON) to a topic.
func (c *Client) Publish(ctx context.Context, pubsub, topic string, data any, header http.Header) error {
	resp, err := c.do(ctx, http.MethodPost, "/v1.0/publish/"+url.PathEscape(pubsub)+"/"+url.PathEscape(topic), data, header)
	if err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish to %s: %w", topic, apiError(resp))
	}
	return nil
}
