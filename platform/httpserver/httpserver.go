// Package httpserver builds the gin engine every service uses (request ids,
// trace context, access logs, panic recovery, sidecar authentication, refusal of client
// strings that are not valid UTF-8 or hold NUL, the error envelope)
// and runs it with timeouts and graceful shutdown.
package httpserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/tracecontext"
)

// RequestIDHeader carries a request id across services.
const RequestIDHeader = "X-Request-Id"

// AppTokenHeader is the header daprd sets when APP_API_TOKEN is configured.
const AppTokenHeader = "dapr-api-token"

// Options configure a service's engine.
type Options struct {
	Log *slog.Logger
	// AppAPIToken, when set, is required on every request except /healthz:
	// only the service's own sidecar knows it.
	AppAPIToken string
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxHeadBytes bounds the request line and headers (default 4 KiB).
	// A Dapr sidecar refuses heads above about 8 KiB (its 4 KiB read buffer
	// plus net/http's slop) with a bare 431; refusing at 4 KiB answers in the
	// envelope and leaves room for the headers the gateway adds.
	MaxHeadBytes int
}

// NewEngine returns a gin engine with the house middleware and envelope-shaped
// 404 / 405 answers. A GET /healthz route answers 204.
func NewEngine(opt Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = 1 << 20
	}
	if opt.MaxHeadBytes == 0 {
		opt.MaxHeadBytes = 4 << 10
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// An API answers a path it does not serve with a 404 envelope, not a
	// redirect to a neighbour (a client would follow it with its body lost).
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	r.Use(requestID(), accessLog(opt.Log), recovery(opt.Log), limitHead(opt.MaxHeadBytes), LimitBody(opt.MaxBodyBytes))
	r.GET("/healthz", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	if opt.AppAPIToken != "" {
		r.Use(requireToken(opt.AppAPIToken))
	}
	r.Use(validInput())
	r.NoRoute(func(c *gin.Context) {
		Fail(c, apierror.New(apierror.NotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		Fail(c, apierror.New(apierror.MethodNotAllowed, "method %s not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}

// Fail answers with the error envelope. Internal errors are logged (once,
// here) and shown to the client as a generic message.
func Fail(c *gin.Context, err error) {
	status, body, internal := apierror.From(err)
	if internal {
		LoggerFrom(c).ErrorContext(c, "request failed", "err", err)
	}
	c.AbortWithStatusJSON(status, body)
}

// LoggerFrom returns the request-scoped logger (with request_id, trace_id and
// span_id).
func LoggerFrom(c *gin.Context) *slog.Logger {
	if l, ok := c.Get("logger"); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// plainID accepts a caller's request id of up to 128 letters, digits, '-',
// '_' and '.'; anything else is replaced by a fresh one.
func plainID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !plainID(id) { // logged by every service and echoed back: nothing odd in it
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set("request_id", id)
		c.Header(RequestIDHeader, id)
		c.Request = c.Request.WithContext(tracecontext.NewContext(c.Request.Context(), requestSpan(c.Request.Header)))
		c.Next()
	}
}

// requestSpan is this service's span of the request: a child of the caller's
// (daprd's) span when the request has one valid traceparent, else the first
// span of a new trace (the gateway, receiving a client's request).
func requestSpan(h http.Header) tracecontext.Span {
	if v := h.Values(tracecontext.Header); len(v) == 1 {
		if parent, ok := tracecontext.Parse(v[0]); ok {
			return parent.Child()
		}
	}
	return tracecontext.New()
}

func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		span, _ := tracecontext.FromContext(c.Request.Context())
		l := log.With(append([]any{"request_id", c.GetString("request_id")}, span.LogAttrs()...)...)
		c.Set("logger", l)
		c.Next()
		if c.Request.URL.Path == "/healthz" {
			return
		}
		l.InfoContext(c, "http request",
			"method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "duration_ms", time.Since(start).Milliseconds())
	}
}

func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				Fail(c, fmt.Errorf("panic: %v", p))
			}
		}()
		c.Next()
	}
}

func limitHead(n int) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		size := len(r.Method) + len(r.URL.RequestURI()) + len(r.Proto) + len("  \r\nHost: \r\n") + len(r.Host)
		for name, values := range r.Header {
			for _, v := range values {
				size += len(name) + len(v) + len(": \r\n")
			}
		}
		if size > n {
			Fail(c, apierror.New(apierror.HeadersTooLarge, "request line and headers larger than %d bytes", n))
			return
		}
		c.Next()
	}
}

// LimitBody bounds request bodies to n bytes: one that announces a larger
// length is refused before anything reads it (413 in the envelope), and a
// body that turns out larger fails its read. Every engine has it with
// Options.MaxBodyBytes; a route with its own bound adds another.
func LimitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			Fail(c, apierror.New(apierror.TooLarge, "request body larger than %d bytes", n))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

func requireToken(token string) gin.HandlerFunc {
	want := []byte(token)
	return func(c *gin.Context) {
		got := []byte(c.GetHeader(AppTokenHeader))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			Fail(c, apierror.New(apierror.Unauthorized, "missing or wrong %s", AppTokenHeader))
			return
		}
		c.Next()
	}
}

// Run serves h on addr until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, log *slog.Logger, addr string, h http.Handler) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	log.Info("http server listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
