// Package live tells open event streams about new inbox rows. Every
// instance LISTENs on PostgreSQL's channel (postgres.Channel), to which each
// inbox insert NOTIFYs at commit, so a stream served by any instance hears
// of rows written by any other: several instances work without a broker.
package live

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Hub fans signals out to the streams of one user. A stream whose buffer
// is full loses the signal and is told so (Lagged): it then reloads.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Sub]struct{}
}

// Sub is one open stream's subscription.
type Sub struct {
	C      chan string // notification ids
	Lagged chan struct{}
	hub    *Hub
	user   string
}

// subBuffer signals may wait per stream; a fan-out of one movie sends each
// user one.
const subBuffer = 64

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[*Sub]struct{}{}} }

// Subscribe starts receiving the ids of userID's new notifications.
func (h *Hub) Subscribe(userID string) *Sub {
	s := &Sub{C: make(chan string, subBuffer), Lagged: make(chan struct{}, 1), hub: h, user: userID}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[userID] == nil {
		h.subs[userID] = map[*Sub]struct{}{}
	}
	h.subs[userID][s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.user], s)
	if len(h.subs[s.user]) == 0 {
		delete(h.subs, s.user)
	}
}

// Publish signals userID's streams that notification id exists.
func (h *Hub) Publish(userID, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[userID] {
		select {
		case s.C <- id:
		default:
			select {
			case s.Lagged <- struct{}{}:
			default:
			}
		}
	}
}

// LagAll tells every stream it may have missed signals (the listener
// reconnected).
func (h *Hub) LagAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for s := range subs {
			select {
			case s.Lagged <- struct{}{}:
			default:
			}
		}
	}
}

// Listen holds one connection LISTENing on channel and publishes what it
// hears to hub, until ctx ends; it reconnects with backoff (1 s doubling to
// 30 s), and tells the streams they may have missed something.
func Listen(ctx context.Context, log *slog.Logger, dsn, channel string, hub *Hub) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := listenOnce(ctx, dsn, channel, hub, func() { backoff = time.Second })
		if ctx.Err() != nil {
			return
		}
		log.WarnContext(ctx, "notification listener lost its connection, reconnecting", "err", err, "in", backoff.String())
		hub.LagAll()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func listenOnce(ctx context.Context, dsn, channel string, hub *Hub, connected func()) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		user, id, ok := strings.Cut(n.Payload, " ")
		if ok {
			hub.Publish(user, id)
		}
	}
}
