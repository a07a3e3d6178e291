package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/notification/internal/inbox"
	"tenflix/services/notification/internal/token"
)

// Stream modes (Deps.StreamMode).
const (
	// StreamPoll ends each response after its first events, or after one
	// keep-alive when nothing happens; EventSource reconnects at once
	// (retry: 250 ms) and resumes from Last-Event-ID. A fresh stream's first
	// response is only its position, answered at once. daprd 1.14 buffers an
	// invoked app's whole response (pkg/channel/http: the app's answer is
	// recorded in memory before it is relayed), so a response that never
	// ends never arrives: through the sidecars, this is how it is delivered.
	StreamPoll = "poll"
	// StreamOpen keeps one response open until MaxStream, for a path that
	// relays it as it is written (a sidecar patched to stream, or none).
	StreamOpen = "open"
)

// missedLimit bounds what one response replays after a reconnection.
const missedLimit = 100

// stream serves the caller's new notifications as Server-Sent Events:
//
//	event: notification   data: the item as in the inbox; id: its position
//	event: resync         data: {}   (signals were lost: reload the inbox)
//	id: <position>                   (the stream's position, no event)
//	: keep-alive                     (every KeepAlive when idle)
//
// Every response starts with the position the stream is at, so that a
// client always has a Last-Event-ID to resume from: a reconnection (same
// URL, Last-Event-ID header) first gets what it missed.
//
// It authenticates by the bearer header or, for a browser's EventSource
// (which cannot send one), by ?ticket= from POST <Prefix>/stream-ticket,
// checked at each (re)connection. A ticket lasts a minute: when
// EventSource's reconnection is refused (401), the page asks for a new
// ticket and opens a new EventSource with the same Last-Event-ID as
// ?lastEventId=.
func (h *handlers) stream(c *gin.Context) {
	userID, ok := h.streamCaller(c)
	if !ok {
		return
	}
	// The server's read and write timeouts would end a long response; a
	// writer without deadlines (a test's recorder) has none to lift.
	rc := http.NewResponseController(c.Writer)
	err := errors.Join(rc.SetReadDeadline(time.Time{}), rc.SetWriteDeadline(time.Time{}))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		httpserver.Fail(c, fmt.Errorf("stream: clear deadlines: %w", err))
		return
	}
	ctx := c.Request.Context()
	// Subscribed before the position is read: nothing falls in between.
	sub := h.d.Hub.Subscribe(userID)
	defer sub.Close()

	last := c.GetHeader("Last-Event-ID")
	if last == "" {
		last = c.Query("lastEventId")
	}
	var missed []inbox.Notification
	pos, resumed := parsePosition(last)
	if resumed {
		if missed, err = h.d.App.Missed(ctx, userID, pos.at, pos.id, missedLimit); err != nil {
			fail(c, err)
			return
		}
	} else {
		if pos.at, pos.id, err = h.d.App.StreamStart(ctx, userID); err != nil {
			fail(c, err)
			return
		}
	}

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
	poll := h.d.StreamMode != StreamOpen
	// In poll mode a resumed stream reconnects at once; a fresh one after a
	// second (what it misses meanwhile is replayed), so that a client whose
	// Last-Event-ID is lost on the way asks once a second, not four times.
	retry := "3000"
	switch {
	case poll && resumed:
		retry = "250"
	case poll:
		retry = "1000"
	}
	if !send("retry: " + retry + "\nid: " + pos.String() + "\n: connected\n\n") {
		return
	}
	sent := map[string]bool{}
	for _, n := range missed {
		sent[n.ID] = true
		pos = positionOf(n)
		if !send(eventText(n)) {
			return
		}
	}
	// In poll mode a fresh stream's first response is only its position
	// (it answers at once; the reconnection that follows waits), and one that
	// had missed events ends with them.
	if poll && (!resumed || len(missed) > 0) {
		return
	}

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
			if sent[id] {
				continue
			}
			sent[id] = true
			n, err := h.d.App.Notification(ctx, userID, id)
			if err != nil {
				h.log.WarnContext(ctx, "stream: notification not loaded", "notification_id", id, "err", err)
				msg = "event: resync\ndata: {}\n\n"
				break
			}
			msg = eventText(n)
			// A fan-out signals each user once per movie, but a few may come
			// together: in poll mode, take those already waiting.
			for poll && len(sub.C) > 0 && len(msg) < 64<<10 {
				more, err := h.d.App.Notification(ctx, userID, <-sub.C)
				if err == nil && !sent[more.ID] {
					sent[more.ID] = true
					msg += eventText(more)
				}
			}
		}
		if !send(msg) || poll {
			return
		}
	}
}

// position is where a stream is: after the notification (at, id), or
// after the instant at when id is empty. Its text is "<unix µs>" or
// "<unix µs>_<id>" (PostgreSQL keeps microseconds: exact).
type position struct {
	at time.Time
	id string
}

func (p position) String() string {
	s := strconv.FormatInt(p.at.UnixMicro(), 10)
	if p.id != "" {
		s += "_" + p.id
	}
	return s
}

func positionOf(n inbox.Notification) position { return position{at: n.CreatedAt, id: n.ID} }

// parsePosition reads a Last-Event-ID; anything else starts afresh.
func parsePosition(s string) (position, bool) {
	us, id, _ := strings.Cut(s, "_")
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil || n <= 0 || len(id) > 36 {
		return position{}, false
	}
	return position{at: time.UnixMicro(n), id: id}, true
}

func eventText(n inbox.Notification) string {
	b, _ := json.Marshal(viewOf(n)) // strings and a bool: cannot fail
	return "id: " + positionOf(n).String() + "\nevent: notification\ndata: " + string(b) + "\n\n"
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
