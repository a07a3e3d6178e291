// Package outbox publishes events written to the database's outbox table:
// the change and its event commit in one transaction, and a relay sends
// pending events through the Dapr sidecar afterwards (at least once).
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Message is one event waiting in the outbox.
type Message struct {
	ID        string          // CloudEvent id: consumers deduplicate on it
	Topic     string          // pub/sub topic
	Type      string          // CloudEvent type
	Data      json.RawMessage // CloudEvent data (JSON)
	CreatedAt time.Time
}

// New makes a message of data, encoded as JSON.
func New(id, topic, eventType string, data any, createdAt time.Time) (Message, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Message{}, fmt.Errorf("encode %s event: %w", eventType, err)
	}
	return Message{ID: id, Topic: topic, Type: eventType, Data: b, CreatedAt: createdAt}, nil
}

// Store hands out pending messages. Drain locks up to limit of them, calls
// send for each in order, marks those that succeeded as published and
// stops at the first failure (recorded for the logs); it returns how many
// were sent. Locked messages are skipped by concurrent drains, so several
// instances do not send the same message at the same time.
type Store interface {
	Drain(ctx context.Context, limit int, send func(context.Context, Message) error) (int, error)
}

// Publisher publishes to a topic through the sidecar (sidecar.Client).
type Publisher interface {
	Publish(ctx context.Context, pubsub, topic string, data any, header http.Header) error
}

// Relay moves messages from the outbox to the pub/sub component.
type Relay struct {
	store    Store
	pub      Publisher
	pubsub   string
	source   string
	log      *slog.Logger
	interval time.Duration
	batch    int
	wake     chan struct{}
}

// NewRelay publishes to the pub/sub component pubsub; source is the
// CloudEvent source (the app id). It polls every interval, and at once
// after Notify.
func NewRelay(store Store, pub Publisher, pubsub, source string, log *slog.Logger, interval time.Duration) *Relay {
	return &Relay{store: store, pub: pub, pubsub: pubsub, source: source, log: log,
		interval: interval, batch: 50, wake: make(chan struct{}, 1)}
}

// Notify asks the relay to look for messages now (a commit just wrote one).
// It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends. Failures are logged and retried with backoff;
// polling also picks up messages left by a crash or by other instances.
func (r *Relay) Run(ctx context.Context) {
	wait := r.interval
	for {
		if _, err := r.Flush(ctx); err != nil && ctx.Err() == nil {
			wait = min(wait*2, time.Minute)
			r.log.WarnContext(ctx, "outbox relay failed, will retry", "err", err, "retry_in", wait.String())
		} else {
			wait = r.interval
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(wait):
		}
	}
}

// Flush publishes every pending message now and returns how many it sent.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.store.Drain(ctx, r.batch, r.send)
		total += n
		if err != nil || n < r.batch {
			return total, err
		}
	}
}

// cloudEvent is the envelope sent: with content type
// application/cloudevents+json, Dapr keeps our id and type (and adds tracing).
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

func (r *Relay) send(ctx context.Context, m Message) error {
	ev := cloudEvent{
		SpecVersion: "1.0", ID: m.ID, Source: r.source, Type: m.Type,
		Time: m.CreatedAt.UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: m.Data,
	}
	h := http.Header{"Content-Type": {"application/cloudevents+json"}}
	// The batch's rows stay locked while publishing: do not wait long.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.pub.Publish(ctx, r.pubsub, m.Topic, ev, h); err != nil {
		return fmt.Errorf("event %s: %w", m.ID, err)
	}
	r.log.DebugContext(ctx, "event published", "event_id", m.ID, "event_type", m.Type, "topic", m.Topic)
	return nil
}
