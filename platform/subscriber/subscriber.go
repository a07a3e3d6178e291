// Package subscriber adapts Dapr pub/sub deliveries (CloudEvents over HTTP)
// to plain Go handlers, answering Dapr's SUCCESS / RETRY / DROP contract.
package subscriber

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
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

type status struct {
	Status string `json:"status"`
}

// Handle turns h into a gin handler for a subscription route.
func Handle(log *slog.Logger, h Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		var ev Event
		if err := json.NewDecoder(c.Request.Body).Decode(&ev); err != nil {
			log.WarnContext(c, "undecodable cloudevent dropped", "err", err)
			c.JSON(http.StatusOK, status{"DROP"})
			return
		}
		l := log.With("event_id", ev.ID, "event_type", ev.Type, "topic", ev.Topic)
		err := h(c.Request.Context(), ev)
		switch {
		case err == nil:
			c.JSON(http.StatusOK, status{"SUCCESS"})
		case errors.Is(err, ErrDrop):
			l.WarnContext(c, "event dropped", "err", err)
			c.JSON(http.StatusOK, status{"DROP"})
		default:
			l.ErrorContext(c, "event failed, will be redelivered", "err", err)
			c.JSON(http.StatusOK, status{"RETRY"})
		}
	}
}
