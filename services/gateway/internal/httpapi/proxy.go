package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/platform/tracecontext"
)

// forwardedRequestHeaders are the only client headers a service sees. An
// allow-list, so that Cookie, X-User-*, dapr-* and whatever a client invents
// never pass; hop-by-hop headers are dropped by the proxy. Authorization is
// not in it: only a token the gateway verified is forwarded (target.bearer);
// nor is Traceparent: the gateway sends its own span's (see rewrite).
var forwardedRequestHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language",
	"Content-Type", "Content-Encoding", "Content-Language",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range",
	"Idempotency-Key", "User-Agent",
	// Cloudinary's notification signature (media verifies it).
	"X-Cld-Timestamp", "X-Cld-Signature",
	// Where an event stream resumes (EventSource sends it on reconnection).
	"Last-Event-ID",
}

// sidecarErrorPeek bounds how much of an error answer is read to tell a
// sidecar error from a service's own.
const sidecarErrorPeek = 64 << 10

type proxy struct {
	sidecar   *url.URL
	daprToken string
	rp        *httputil.ReverseProxy
}

// target is what one request is forwarded to; the proxy callbacks find it in
// the request's context and report failures in it.
type target struct {
	app       string
	path      string // escaped path at the service
	requestID string
	clientIP  string
	// bearer is the verified access token, forwarded as is: each service
	// verifies it again and reads the caller from it, so that a request that
	// reaches a service without the gateway has no identity to forge. Empty
	// on public routes.
	bearer string
	err    error
}

type targetKey struct{}

func newProxy(opt Options) (*proxy, error) {
	u, err := url.Parse(opt.SidecarURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("sidecar url %q: not an absolute URL", opt.SidecarURL)
	}
	timeout := opt.UpstreamTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 nil, // the sidecar is local: never an HTTP proxy
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	p := &proxy{sidecar: u, daprToken: opt.DaprToken}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      tr,
		ModifyResponse: p.modifyResponse,
		ErrorHandler: func(_ http.ResponseWriter, r *http.Request, err error) {
			targetOf(r.Context()).err = err // answered by forward, with the envelope
		},
	}
	return p, nil
}

func targetOf(ctx context.Context) *target {
	return ctx.Value(targetKey{}).(*target)
}

// forward sends the request to rt's service: POST /api/v1/x/:id becomes
// POST <sidecar>/v1.0/invoke/<app>/method/api/v1/x/<id>.
func (p *proxy) forward(rt Route) gin.HandlerFunc {
	return func(c *gin.Context) {
		path, ok := servicePath(rt.Path, c.Params)
		if !ok {
			httpserver.Fail(c, apierror.New(apierror.NotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
			return
		}
		t := &target{app: rt.App, path: path, requestID: c.GetString("request_id"), clientIP: c.ClientIP()}
		if rt.Access != Public {
			t.bearer, _ = authn.BearerToken(c.GetHeader("Authorization"))
		}
		if rt.Stream {
			// The server's timeouts cover the whole response: a stream
			// would be cut after WriteTimeout.
			// (A writer without deadlines, a test's recorder, has none to lift.)
			rc := http.NewResponseController(c.Writer)
			err := errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{}))
			if err != nil && !errors.Is(err, http.ErrNotSupported) {
				httpserver.Fail(c, fmt.Errorf("stream %s: clear deadlines: %w", rt.Path, err))
				return
			}
		}
		// A cancellable context also keeps ReverseProxy off the deprecated
		// CloseNotifier, which gin's writer only forwards.
		ctx, cancel := context.WithCancel(context.WithValue(c.Request.Context(), targetKey{}, t))
		defer cancel()
		p.rp.ServeHTTP(c.Writer, c.Request.WithContext(ctx))
		if t.err != nil {
			p.fail(c, t)
		}
	}
}

// servicePath fills the pattern's parameters, each escaped as exactly one
// path segment; dot segments are refused so that nothing can climb out of
// the route's prefix (or out of the app-id in the sidecar's URL).
// A catch-all (*name, last) is escaped segment by segment, with the same
// refusals, and no empty segment.
func servicePath(pattern string, params gin.Params) (string, bool) {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			v, _ := params.Get(s[1:])
			if !goodSegment(v) {
				return "", false
			}
			segs[i] = url.PathEscape(v)
		case strings.HasPrefix(s, "*") && i == len(segs)-1:
			v, _ := params.Get(s[1:])
			rest := strings.Split(strings.TrimPrefix(v, "/"), "/")
			for j, r := range rest {
				if !goodSegment(r) {
					return "", false
				}
				rest[j] = url.PathEscape(r)
			}
			segs[i] = strings.Join(rest, "/")
		}
	}
	return strings.Join(segs, "/"), true
}

func goodSegment(v string) bool { return v != "" && v != "." && v != ".." }

func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	t := targetOf(pr.In.Context())
	out := pr.Out
	raw := "/v1.0/invoke/" + url.PathEscape(t.app) + "/method" + t.path
	dec, _ := url.PathUnescape(raw)
	// The query as ReverseProxy cleaned it (unparsable parameters dropped).
	out.URL = &url.URL{Scheme: p.sidecar.Scheme, Host: p.sidecar.Host, Path: dec, RawPath: raw, RawQuery: out.URL.RawQuery}
	out.Host = ""

	h := make(http.Header, len(forwardedRequestHeaders)+8)
	for _, name := range forwardedRequestHeaders {
		if v := out.Header.Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = v
		}
	}
	h.Set(httpserver.RequestIDHeader, t.requestID)
	// The request's span (httpserver: the client's trace continued, or a new
	// one) is the parent of the sidecar's: daprd keeps the trace id through
	// service invocation, so the service logs the gateway's trace_id.
	// Tracestate belongs to the client's trace: dropped when it was not valid.
	if span, ok := tracecontext.FromContext(pr.In.Context()); ok {
		h.Set(tracecontext.Header, span.Traceparent())
		if in, ok := tracecontext.Parse(pr.In.Header.Get(tracecontext.Header)); ok && in.TraceID == span.TraceID {
			if v := pr.In.Header.Values("Tracestate"); len(v) > 0 {
				h["Tracestate"] = v
			}
		}
	}
	h.Set("X-Forwarded-For", t.clientIP)
	h.Set("X-Forwarded-Host", pr.In.Host)
	if pr.In.TLS != nil {
		h.Set("X-Forwarded-Proto", "https")
	} else {
		h.Set("X-Forwarded-Proto", "http")
	}
	if t.bearer != "" {
		h.Set("Authorization", "Bearer "+t.bearer)
	}
	if p.daprToken != "" {
		h.Set("dapr-api-token", p.daprToken)
	}
	out.Header = h
}

// errSidecar is an answer of the sidecar itself (the service could not be
// reached), as opposed to one of the service that it relays.
type errSidecar struct {
	status int
	detail string
}

func (e *errSidecar) Error() string {
	return fmt.Sprintf("sidecar answered %d: %s", e.status, e.detail)
}

func (p *proxy) modifyResponse(resp *http.Response) error {
	// The gateway owns CORS and the request id (already set on the answer).
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(resp.Header, k)
		}
	}
	resp.Header.Del(httpserver.RequestIDHeader)
	if resp.StatusCode < 400 {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, sidecarErrorPeek))
	if err != nil {
		return fmt.Errorf("read error answer: %w", err)
	}
	if detail, ok := sidecarError(resp, head); ok {
		resp.Body.Close()
		return &errSidecar{status: resp.StatusCode, detail: detail}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return nil
}

// sidecarError recognises daprd's own errors: {"errorCode":"ERR_...",...}
// (e.g. ERR_DIRECT_INVOKE when the service is down) and a refused API token.
// Services answer errors in the {"error":{...}} envelope, so they never match.
func sidecarError(resp *http.Response, body []byte) (string, bool) {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode == http.StatusUnauthorized && mt == "text/plain" &&
		strings.TrimSpace(string(body)) == "invalid api token" {
		return "the sidecar refused the gateway's DAPR_API_TOKEN", true
	}
	if mt != "application/json" {
		return "", false
	}
	var e struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || !strings.HasPrefix(e.ErrorCode, "ERR_") {
		return "", false
	}
	return e.ErrorCode + ": " + e.Message, true
}

// fail answers a request that could not be forwarded.
func (p *proxy) fail(c *gin.Context, t *target) {
	log := httpserver.LoggerFrom(c).With("app_id", t.app)
	var maxErr *http.MaxBytesError
	var sc *errSidecar
	switch {
	case errors.As(t.err, &maxErr):
		httpserver.Fail(c, apierror.New(apierror.TooLarge, "request body larger than %d bytes", maxErr.Limit))
	case errors.Is(t.err, context.Canceled) && c.Request.Context().Err() != nil:
		log.InfoContext(c, "client went away", "err", t.err)
		c.Abort()
	case errors.As(t.err, &sc):
		log.ErrorContext(c, "service unreachable through the sidecar", "err", t.err)
		httpserver.Fail(c, apierror.New(apierror.Unavailable, "service %s is unavailable", t.app))
	default:
		log.ErrorContext(c, "sidecar unreachable", "err", t.err)
		httpserver.Fail(c, apierror.New(apierror.Unavailable, "service %s is unavailable", t.app))
	}
}
