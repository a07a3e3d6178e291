// Package subscriber adapts Dapr pub/sub deliveries (CloudEvents over HTTP)
// to plain Go handlers, answering Dapr's SUCCESS / RETRY / DROP contract.
// Every event is logged with the trace it belongs to (trace_id), and the
// handler's context carries that trace.
package subscriber

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/tracecontext"
)

// Event is the part of a CloudEvent that handlers need.
type Event struct {
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	Topic           string          `json:"topic"`
	PubsubName      string          `json:"pubsubname"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
	DataBase64      string          `json:"data_base64"`
}

// ErrDrop marks an event that can never succeed (malformed, unknown type):
// it is acknowledged with DROP so that Dapr dead-letters it instead of
// retrying forever.
var ErrDrop = errors.New("drop event")

// Handler processes one event. nil means done; an error wrapping ErrDrop
// drops it; any other error asks Dapr to redeliver it later.
type Handler func(ctx context.Context, ev Event) error

// envelope is what is decoded: the event and Dapr's trace attributes, raw so
// that an attribute of the wrong type loses its trace, not the event.
type envelope struct {
	Event
	Traceparent json.RawMessage `json:"traceparent"`
	TraceID     json.RawMessage `json:"traceid"`
}

type status struct {
	Status string `json:"status"`
}

// Handle turns h into a gin handler for a subscription route.
func Handle(log *slog.Logger, h Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		var env envelope
		if err := json.NewDecoder(c.Request.Body).Decode(&env); err != nil {
			span := eventSpan(c.Request.Context())
			log.With(span.LogAttrs()...).WarnContext(c, "undecodable cloudevent dropped", "err", err)
			c.JSON(http.StatusOK, status{"DROP"})
			return
		}
		ev := env.Event
		span := eventSpan(c.Request.Context(), env.Traceparent, env.TraceID)
		ctx := tracecontext.NewContext(c.Request.Context(), span)
		l := log.With(append([]any{"event_id", ev.ID, "event_type", ev.Type, "topic", ev.Topic}, span.LogAttrs()...)...)
		err := h(ctx, ev)
		switch {
		case err == nil:
			l.InfoContext(ctx, "event handled", "duration_ms", time.Since(start).Milliseconds())
			c.JSON(http.StatusOK, status{"SUCCESS"})
		case errors.Is(err, ErrDrop):
			l.WarnContext(ctx, "event dropped", "err", err)
			c.JSON(http.StatusOK, status{"DROP"})
		default:
			l.ErrorContext(ctx, "event failed, will be redelivered", "err", err)
			c.JSON(http.StatusOK, status{"RETRY"})
		}
	}
}

// eventSpan is the handler's span: a child of the first valid trace attribute
// of the event, in Dapr's order (traceparent, then traceid). The event's own
// trace wins over the delivery request's: daprd's outbox publishes with an
// empty traceparent and the writer's trace in traceid, and daprd then delivers
// it under a new trace. Without either, the delivery request's trace is used.
func eventSpan(ctx context.Context, attrs ...json.RawMessage) tracecontext.Span {
	for _, raw := range attrs {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		if parent, ok := tracecontext.Parse(v); ok {
			return parent.Child()
		}
	}
	if s, ok := tracecontext.FromContext(ctx); ok {
		return s
	}
	return tracecontext.New()
}

// IgnoredRoute is where a subscription routed by type sends the types of its
// topic that the app does not handle (the `default` route of the typed
// subscriptions in components/): they are acknowledged, not dead-lettered.
const IgnoredRoute = "/events/ignored"

// Ignore acknowledges an event the app has no use for.
func Ignore(c *gin.Context) { c.JSON(http.StatusOK, status{"SUCCESS"}) }

// Payload is the event's JSON data: `data` as a JSON object, `data` as a
// JSON string holding JSON (some publishers send it so), or base64 in
// `data_base64`.
func (ev Event) Payload() ([]byte, error) {
	if ev.DataBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(ev.DataBase64)
		if err != nil {
			return nil, fmt.Errorf("data_base64 is not base64: %w", err)
		}
		return b, nil
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, errors.New("no data")
	}
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("data is not a JSON string: %w", err)
		}
		return []byte(s), nil
	}
	return data, nil
}

// Drop is an ErrDrop saying why.
func Drop(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDrop, fmt.Sprintf(format, args...))
}
