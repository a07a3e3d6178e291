// Package sidecar talks to the service's own Dapr sidecar: secrets, publish
// and service invocation go through go-sdk over the sidecar's gRPC API; the
// state API (reads and transactions) and the readiness probe stay on HTTP.
//
// State is written over HTTP on purpose, measured by tools/e2e
// TestGoSDKStateGap against daprd 1.14.0: gRPC ExecuteStateTransaction
// ignores an operation's contentType (pkg/api/grpc/grpc.go passes the value
// as bytes), so state.postgresql v1 stores a JSON value base64-encoded
// (isbinary) instead of as a jsonb document; gRPC SaveState honours
// contentType but is no transaction, and daprd's outbox publishes only
// transactions (outbox.PublishInternal in ExecuteStateTransaction).
// jsonb is what lets the owning service query its state with SQL and the
// database enforce invariants on it. Reads stay beside the transaction so
// that one stand-in of the state API serves the services' tests.
//
// The readiness probe is /v1.0/healthz/outbound (components loaded):
// go-sdk's Wait only sees the gRPC connection come up.
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
	"regexp"
	"strconv"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"tenflix/platform/tracecontext"
)

// ErrNotFound: the key or secret does not exist.
var ErrNotFound = errors.New("not found")

// ErrETagMismatch: an optimistic-concurrency check failed (someone wrote first).
var ErrETagMismatch = errors.New("etag mismatch")

// ErrNoGRPC: the client was made by New, which has the HTTP API only.
var ErrNoGRPC = errors.New("sidecar client without its gRPC API")

// Client is a small client of the sidecar: go-sdk over gRPC, HTTP for state.
type Client struct {
	base  string
	token string
	http  *http.Client
	sdk   dapr.Client // nil: HTTP only
	conn  *grpc.ClientConn
}

// New returns a client of the sidecar's HTTP API only (state and readiness)
// at 127.0.0.1:httpPort, authenticating with the Dapr API token (empty when
// the sidecar has none). Its gRPC methods return ErrNoGRPC.
func New(httpPort, apiToken string) *Client {
	return &Client{
		base:  "http://127.0.0.1:" + httpPort,
		token: apiToken,
		http:  &http.Client{Timeout: 30 * time.Second},
	}
}

// NewWithGRPC returns a client of both APIs of the sidecar: HTTP at
// 127.0.0.1:httpPort, gRPC at 127.0.0.1:grpcPort. The gRPC connection is made
// lazily (the sidecar may start after the app). Close it with Close.
func NewWithGRPC(httpPort, grpcPort, apiToken string) (*Client, error) {
	c := New(httpPort, apiToken)
	// go-sdk's own dialers block and read the token from DAPR_API_TOKEN; this
	// connection sets the token (and the caller's trace) explicitly.
	conn, err := grpc.NewClient("127.0.0.1:"+grpcPort,
		grpc.WithTransportCredentials(insecure.NewCredentials()), // loopback only
		grpc.WithUnaryInterceptor(c.outgoing))
	if err != nil {
		return nil, fmt.Errorf("dapr gRPC client: %w", err)
	}
	c.conn, c.sdk = conn, dapr.NewClientWithConnection(conn)
	return c, nil
}

// Close closes the gRPC connection.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// outgoing adds the API token and the caller's trace (which daprd reads from
// the traceparent metadata) to every gRPC call.
func (c *Client) outgoing(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "dapr-api-token", c.token)
	}
	if span, ok := tracecontext.FromContext(ctx); ok {
		ctx = metadata.AppendToOutgoingContext(ctx, tracecontext.Header, span.Traceparent())
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// grpcError makes a gRPC failure an *APIError. Status is the callee's HTTP
// status when daprd reports one (service invocation puts it, with the start
// of the callee's body, in an ErrorInfo detail), else the HTTP status of the
// gRPC code.
func grpcError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &APIError{Status: httpStatus(st.Code()), ErrorCode: st.Code().String(), Message: st.Message()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetMetadata()["http.code"] != "" {
			if code, err := strconv.Atoi(info.GetMetadata()["http.code"]); err == nil {
				e.Status = code
			}
			if body := info.GetMetadata()["http.error_message"]; body != "" {
				e.Message = body
			}
		}
	}
	return e
}

func httpStatus(c codes.Code) int {
	switch c {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// APIError is a non-2xx answer of the sidecar.
type APIError struct {
	Status    int
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// envelopeCode finds the code of an error envelope ({"error":{"code":...).
var envelopeCode = regexp.MustCompile(`^\s*\{\s*"error"\s*:\s*\{\s*"code"\s*:\s*"([a-z0-9_]+)"`)

// Code is the callee's error envelope code of a failed service invocation
// ("" when its answer was not an envelope). daprd 1.14 passes only the first
// 63 bytes of the callee's error body over gRPC (pkg/messaging/v1
// ErrorFromHTTPResponseCode), so callers branch on Status and Code, never on
// the message; the envelope puts its code first for this reason.
func (e *APIError) Code() string {
	if m := envelopeCode.FindStringSubmatch(e.Message); m != nil {
		return m[1]
	}
	return ""
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
	if c.sdk == nil {
		return "", fmt.Errorf("get secret %s: %w", name, ErrNoGRPC)
	}
	m, err := c.sdk.GetSecret(ctx, store, name, nil)
	if err != nil {
		e := grpcError(err)
		// The local file store answers a missing key with Internal
		// "... secret <name> not found" rather than NotFound.
		if a, ok := e.(*APIError); ok && (a.Status == http.StatusNotFound || strings.Contains(a.Message, "not found")) {
			return "", fmt.Errorf("secret %s: %w", name, ErrNotFound)
		}
		return "", fmt.Errorf("get secret %s: %w", name, e)
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
// Dapr service invocation, sending in as JSON (no body when in is nil), and
// decodes its JSON answer into out (ignored when out is nil). A non-2xx
// answer is an *APIError whose Status is the callee's and whose Code is the
// callee's error envelope code. go-sdk passes the query as the gRPC request's
// HTTPExtension.Querystring, which daprd puts back on the HTTP request.
func (c *Client) InvokeJSON(ctx context.Context, httpMethod, appID, method string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("invoke %s: encode: %w", appID, err)
		}
		body = b
	}
	b, err := c.Invoke(ctx, httpMethod, appID, method, "application/json", body)
	if err != nil {
		return err
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("invoke %s: decode answer: %w", appID, err)
	}
	return nil
}

// Invoke calls method of app appID with a raw body (none when body is nil)
// and returns the callee's raw answer. A non-2xx answer is an *APIError.
func (c *Client) Invoke(ctx context.Context, httpMethod, appID, method, contentType string, body []byte) ([]byte, error) {
	if c.sdk == nil {
		return nil, fmt.Errorf("invoke %s: %w", appID, ErrNoGRPC)
	}
	method = strings.TrimPrefix(method, "/")
	var (
		b   []byte
		err error
	)
	if body == nil {
		b, err = c.sdk.InvokeMethod(ctx, appID, method, httpMethod)
	} else {
		b, err = c.sdk.InvokeMethodWithContent(ctx, appID, method, httpMethod,
			&dapr.DataContent{ContentType: contentType, Data: body})
	}
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", appID, grpcError(err))
	}
	return b, nil
}

// Publish sends data (marshalled as JSON) to a topic, with the Content-Type
// of header (application/json without one): with
// application/cloudevents+json, daprd keeps the event's own id and type.
func (c *Client) Publish(ctx context.Context, pubsub, topic string, data any, header http.Header) error {
	if c.sdk == nil {
		return fmt.Errorf("publish to %s: %w", topic, ErrNoGRPC)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("publish to %s: encode: %w", topic, err)
	}
	contentType := header.Get("Content-Type")
	if contentType == "" {
		contentType = "application/json"
	}
	if err := c.sdk.PublishEvent(ctx, pubsub, topic, b, dapr.PublishEventWithContentType(contentType)); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, grpcError(err))
	}
	return nil
}
