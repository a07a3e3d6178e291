package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/notification/internal/token"
)

// stream serves the caller's new notifications as Server-Sent Events:
//
//	event: notification   data: the item as in the inbox (id: its id)
//	event: resync         data: {}   (signals were lost: reload the inbox)
//	: keep-alive                     (every KeepAlive, so that idle proxies keep it)
//
// It authenticates by the bearer header or, for a browser's EventSource
// (which cannot send one), by ?ticket= from POST <Prefix>/stream-ticket. A
// ticket is checked when the stream opens; it expires within a minute, so
// EventSource's automatic reconnection with the same URL then fails with 401
// and the page asks for a new ticket. Items that arrive while no stream is
// open are in the inbox: a client loads it when a stream (re)opens.
func (h *handlers) stream(c *gin.Context) {
	userID, ok := h.streamCaller(c)
	if !ok {
		return
	}
	// The server's read and write timeouts would end the stream (they are
	// for the whole response): this one lives until MaxStream.
	rc := http.NewResponseController(c.Writer)
	err := errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{}))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		httpserver.Fail(c, fmt.Errorf("stream: clear deadlines: %w", err))
		return
	}
	sub := h.d.Hub.Subscribe(userID)
	defer sub.Close()

	w := c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		if _, err := w.WriteString(s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n: connected\n\n") {
		return
	}
	ctx := c.Request.Context()
	keepAlive := time.NewTicker(h.d.KeepAlive)
	defer keepAlive.Stop()
	end := time.NewTimer(h.d.MaxStream)
	defer end.Stop()
	for {
		var msg string
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-keepAlive.C:
			msg = ": keep-alive\n\n"
		case <-sub.Lagged:
			msg = "event: resync\ndata: {}\n\n"
		case id := <-sub.C:
			var err error
			if msg, err = h.event(ctx, userID, id); err != nil {
				h.log.WarnContext(ctx, "stream: notification not loaded", "notification_id", id, "err", err)
				msg = "event: resync\ndata: {}\n\n"
			}
		}
		if !send(msg) {
			return
		}
	}
}

func (h *handlers) event(ctx context.Context, userID, id string) (string, error) {
	n, err := h.d.App.Notification(ctx, userID, id)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(viewOf(n))
	if err != nil {
		return "", err
	}
	return "id: " + n.ID + "\nevent: notification\ndata: " + string(b) + "\n\n", nil
}

// streamCaller is the user of the bearer token or, without one, of the
// ticket; it answers 401 itself.
func (h *handlers) streamCaller(c *gin.Context) (string, bool) {
	if c.GetHeader("Authorization") != "" {
		authn.Authenticate(h.d.Verifier)(c)
		if c.IsAborted() {
			return "", false
		}
		return caller(c), true
	}
	t := c.Query("ticket")
	if t == "" {
		c.Header("WWW-Authenticate", `Bearer realm="tenflix"`)
		httpserver.Fail(c, apierror.New(apierror.Unauthorized, "a bearer token or a stream ticket is required"))
		return "", false
	}
	userID, err := h.d.Tokens.VerifyStreamTicket(t, h.d.Now())
	if err != nil {
		msg := "invalid stream ticket"
		if errors.Is(err, token.ErrExpired) {
			msg = "stream ticket expired; ask for a new one"
		}
		httpserver.Fail(c, apierror.New(apierror.Unauthorized, "%s", msg))
		return "", false
	}
	return userID, true
}

