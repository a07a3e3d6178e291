// Package statetx writes aggregates through a Dapr state store whose outbox
// is enabled (metadata outboxPublishPubsub / outboxPublishTopic): each upsert
// of a transaction is also published to the store's topic once the
// transaction commits, with the stored document as the event data (or, for a
// document that must not leave the service, the write's Event instead) and
// the write's CloudEvent type. Writes are never blind (insert-only or
// conditional on the ETag read), failures come back as the errors the service
// registered, and the per-key locks (Store.Lock) work around daprd's outbox
// stall.
package statetx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/sidecar"
)

var (
	// ErrNotFound: Get found no value under the key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a write lost a race (its ETag or insert-only check failed,
	// or PostgreSQL aborted it to break a deadlock); reading again and
	// retrying may succeed.
	ErrConflict = errors.New("write conflict")
)

// deadlockDetected is PostgreSQL's SQLSTATE for a transaction it aborted to
// break a deadlock with another one: retrying may succeed.
const deadlockDetected = "SQLSTATE 40P01"

var (
	marshal   = protojson.MarshalOptions{EmitUnpopulated: true}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// Key is the state key of an aggregate of a kind ("movie", "actor", ...);
// SQL over the stored documents splits keys the same way.
func Key(kind, id string) string { return kind + ":" + id }

// Write is one upsert of a transaction.
type Write struct {
	Key       string
	Doc       proto.Message // stored, and published as the event data unless Event is set
	EventType string        // CloudEvent type of the published event
	// Create makes the write insert-only; ETag makes it conditional on the
	// version read. Exactly one of the two is set: no blind overwrites.
	Create bool
	ETag   string
	// Event, when set, is published instead of Doc, and Doc is only stored:
	// for documents holding what must not leave the service (identity's
	// password hash). At most one write of a Commit may have one (projection
	// says why and how daprd is asked).
	Event proto.Message
}

// projectionKey is the operation metadata that makes daprd's outbox publish
// an upsert's value in place of the value stored under the same key.
const projectionKey = "outbox.projection"

// Options are a service's translations of failed transactions.
type Options struct {
	// Constraints maps the name of a unique index or constraint (as the
	// database names it in the error text daprd returns) to the error a
	// transaction that breaks it returns.
	Constraints map[string]error
}

// Store is one state store component, read and written through the sidecar.
type Store struct {
	dapr  *sidecar.Client
	name  string
	opts  Options
	locks keyLocks
}

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string, opts Options) *Store {
	return &Store{dapr: dapr, name: name, opts: opts}
}

// Get reads key into msg and returns its ETag. A missing key is ErrNotFound;
// tombstones are returned as stored (callers check).
func (s *Store) Get(ctx context.Context, key string, msg proto.Message) (etag string, err error) {
	raw, etag, err := s.dapr.GetState(ctx, s.name, key)
	if errors.Is(err, sidecar.ErrNotFound) {
		return "", fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	if err := unmarshal.Unmarshal(raw, msg); err != nil {
		return "", fmt.Errorf("decode %s: %w", key, err)
	}
	return etag, nil
}

// Commit runs the writes in one transaction (and so publishes their events).
// A lost race is ErrConflict, a broken constraint the error Options register
// for it.
func (s *Store) Commit(ctx context.Context, writes ...Write) error {
	ops := make([]sidecar.Op, 0, len(writes)+1)
	projected := ""
	for _, w := range writes {
		if w.Create == (w.ETag != "") {
			return fmt.Errorf("write %s: set exactly one of Create and ETag (no blind overwrites)", w.Key)
		}
		if w.EventType == "" {
			return fmt.Errorf("write %s: no event type (every upsert is published)", w.Key)
		}
		if w.Event != nil && projected != "" {
			return fmt.Errorf("write %s: %s has an Event already: at most one per transaction (daprd 1.14.0 mishandles two)", w.Key, projected)
		}
		b, err := marshal.Marshal(w.Doc)
		if err != nil {
			return fmt.Errorf("encode %s: %w", w.Key, err)
		}
		ops = append(ops, sidecar.Op{
			Operation: "upsert",
			Request: sidecar.OpRequest{
				Key:         w.Key,
				Value:       json.RawMessage(b),
				ETag:        w.ETag, // empty with first-write: insert-only
				ContentType: "application/json",
				// Operation metadata becomes CloudEvent attributes: the type.
				Metadata: map[string]string{"type": w.EventType},
				Options:  &sidecar.OpOptions{Concurrency: "first-write", Consistency: "strong"},
			},
		})
		if w.Event != nil {
			op, err := projection(w)
			if err != nil {
				return err
			}
			ops, projected = append(ops, op), w.Key
		}
	}
	return s.commitErr(s.dapr.Transact(ctx, s.name, ops))
}

// projection is the operation that has daprd publish w.Event in place of
// w.Doc. What daprd 1.14.0 does with it (pkg/runtime/pubsub/outbox.go
// PublishInternal, called by the HTTP handler onPostStateTransaction in
// pkg/api/http/http.go before the state store's Multi):
//   - an upsert whose metadata has "outbox.projection" truthy is taken out of
//     the operations and never reaches the state store: it is not stored;
//   - every remaining upsert is published to the internal outbox topic with,
//     as data, the value of the projection of the same key (keys compared
//     after daprd's key prefixing, the same for both) and the projection's
//     contentType, else its own value and contentType. So the projection
//     carries contentType application/json, or the event arrives as Go's
//     fmt rendering of a map;
//   - the CloudEvent attributes come from the metadata of the STORED upsert
//     (its "type"), not the projection's: only the projection flag is set
//     here; the stored upsert keeps the ETag or first-write check;
//   - a projection whose key no stored upsert has publishes nothing.
//
// At most one projection per transaction: the loop that takes them out
// removes elements from the slice it ranges over, so with two the second
// removal works on shifted indexes: it panics (slice bounds out of range)
// or leaves a projection in place, to be stored, and its stored upsert
// published with its own value, the very thing the projection hides.
//
// The projection is insert-only without an ETag: should the store's outbox be
// off (no outboxPublishTopic), daprd would run it as a plain upsert, and as
// an insert of a key this transaction writes it fails the transaction (no
// item was updated) instead of overwriting the document with the event.
func projection(w Write) (sidecar.Op, error) {
	b, err := marshal.Marshal(w.Event)
	if err != nil {
		return sidecar.Op{}, fmt.Errorf("encode the event of %s: %w", w.Key, err)
	}
	return sidecar.Op{
		Operation: "upsert",
		Request: sidecar.OpRequest{
			Key:         w.Key,
			Value:       json.RawMessage(b),
			ContentType: "application/json",
			Metadata:    map[string]string{projectionKey: "true"},
			Options:     &sidecar.OpOptions{Concurrency: "first-write", Consistency: "strong"},
		},
	}, nil
}

// commitErr translates a failed transaction by what daprd's error text
// names: a registered constraint, or a deadlock.
func (s *Store) commitErr(err error) error {
	var apiErr *sidecar.APIError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sidecar.ErrETagMismatch):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case !errors.As(err, &apiErr):
		return err
	}
	if name := s.brokenConstraint(apiErr.Message); name != "" {
		return s.opts.Constraints[name]
	}
	if strings.Contains(apiErr.Message, deadlockDetected) {
		return fmt.Errorf("%w: %s", ErrConflict, apiErr.Message)
	}
	return err
}

// brokenConstraint is the registered constraint that msg names: the longest
// match, should one name contain another.
func (s *Store) brokenConstraint(msg string) string {
	found := ""
	for name := range s.opts.Constraints {
		if len(name) > len(found) && strings.Contains(msg, name) {
			found = name
		}
	}
	return found
}

// Lock takes this instance's locks of keys and returns the function that
// releases them; calling it again does nothing. Every read-modify-write
// should hold the locks of the keys it writes, from Get to Commit.
//
// Why: daprd 1.14 publishes a transaction's internal outbox message before it
// runs the transaction. When the transaction then fails (an ETag conflict, a
// name taken meanwhile) that message's partition of the internal outbox topic
// stalls for about 11 s while daprd looks for state that never comes. Taking
// turns per key turns most such conflicts into plain sequential writes (two
// instances can still race: the ETag check stays the guard).
//
// Keys of one call are taken in a fixed order, so two callers never
// deadlock; a caller that locks more keys later must take them in the same
// order in every use case.
func (s *Store) Lock(keys ...string) (unlock func()) { return s.locks.lock(keys...) }
