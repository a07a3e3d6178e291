// Package tracecontext carries the W3C Trace Context (the traceparent header
// that Dapr propagates) through a service: parsed from requests and events,
// kept in the context, written to outgoing calls and to every log line as
// trace_id, so that one order or one catalog write can be followed across
// services by one id.
package tracecontext

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// Header is the W3C header (and CloudEvent attribute) holding the trace context.
const Header = "traceparent"

// Log attribute keys.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// Span is one unit of work's place in a trace: the trace it belongs to, its
// own id (the parent id of whatever it calls) and the trace flags.
type Span struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
}

// flagSampled is the only trace flag of version 00.
const flagSampled = 0x01

// Parse reads a version-00 traceparent: "00-<32 hex>-<16 hex>-<2 hex>", lower
// case. Anything else, and all-zero ids (invalid by the spec), is refused:
// the caller then starts a new trace instead of continuing a broken one.
func Parse(traceparent string) (Span, bool) {
	var s Span
	if len(traceparent) != 55 || traceparent[:3] != "00-" ||
		traceparent[35] != '-' || traceparent[52] != '-' {
		return Span{}, false
	}
	var flags [1]byte
	if !decodeLowerHex(s.TraceID[:], traceparent[3:35]) ||
		!decodeLowerHex(s.SpanID[:], traceparent[36:52]) ||
		!decodeLowerHex(flags[:], traceparent[53:55]) {
		return Span{}, false
	}
	s.Flags = flags[0]
	if !s.valid() {
		return Span{}, false
	}
	return s, true
}

// decodeLowerHex decodes src into dst; upper-case hex is refused, as the spec
// says.
func decodeLowerHex(dst []byte, src string) bool {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	n, err := hex.Decode(dst, []byte(src))
	return err == nil && n == len(dst)
}

func (s Span) valid() bool {
	return s.TraceID != [16]byte{} && s.SpanID != [8]byte{}
}

// New starts a trace (sampled: daprd records it at its configured rate).
func New() Span {
	var s Span
	for s.TraceID == [16]byte{} {
		_, _ = rand.Read(s.TraceID[:])
	}
	s.SpanID = newSpanID()
	s.Flags = flagSampled
	return s
}

// Child is a new span of the same trace, e.g. this service's work on a
// request whose traceparent names the caller's span.
func (s Span) Child() Span {
	s.SpanID = newSpanID()
	return s
}

func newSpanID() [8]byte {
	var id [8]byte
	for id == [8]byte{} {
		_, _ = rand.Read(id[:])
	}
	return id
}

// Traceparent is the header value for a call made within s.
func (s Span) Traceparent() string {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, s.TraceID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, s.SpanID[:])
	b = append(b, '-', hexdigits[s.Flags>>4], hexdigits[s.Flags&0x0f])
	return string(b)
}

// TraceIDString is the trace id as logged (32 lower-case hex digits).
func (s Span) TraceIDString() string { return hex.EncodeToString(s.TraceID[:]) }

// SpanIDString is the span id as logged (16 lower-case hex digits).
func (s Span) SpanIDString() string { return hex.EncodeToString(s.SpanID[:]) }

// LogAttrs are the attributes that put a log line in its trace.
func (s Span) LogAttrs() []any {
	return []any{TraceIDKey, s.TraceIDString(), SpanIDKey, s.SpanIDString()}
}

type spanKey struct{}

// NewContext returns ctx carrying s.
func NewContext(ctx context.Context, s Span) context.Context {
	return context.WithValue(ctx, spanKey{}, s)
}

// FromContext returns the span ctx carries, if any.
func FromContext(ctx context.Context) (Span, bool) {
	s, ok := ctx.Value(spanKey{}).(Span)
	return s, ok
}

// LogHandler wraps h so that a line logged with a context carrying a span
// (InfoContext(ctx, ...)) gets trace_id and span_id, unless the logger
// already carries a trace_id (a request- or event-scoped logger).
func LogHandler(h slog.Handler) slog.Handler {
	return logHandler{inner: h}
}

type logHandler struct {
	inner    slog.Handler
	hasTrace bool
}

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.hasTrace && ctx != nil {
		if s, ok := FromContext(ctx); ok {
			r = r.Clone()
			r.AddAttrs(slog.String(TraceIDKey, s.TraceIDString()), slog.String(SpanIDKey, s.SpanIDString()))
		}
	}
	return h.inner.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.hasTrace
	for _, a := range attrs {
		has = has || a.Key == TraceIDKey
	}
	return logHandler{inner: h.inner.WithAttrs(attrs), hasTrace: has}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{inner: h.inner.WithGroup(name), hasTrace: h.hasTrace}
}
