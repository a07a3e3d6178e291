// Package apptest holds in-memory stand-ins of the app's State and Reads for
// the tests of the use cases and of the transports over them. They keep the
// contract the real ones keep (ETags, insert-only creates, the one open
// order per user, newest-first history); the real ones are tested against
// PostgreSQL in internal/postgres.
package apptest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/orders"

	orderv1 "tenflix/proto/order/v1"
)

// Commit is one committed write, as the outbox would publish it.
type Commit struct {
	Key       string
	EventType string
	Create    bool
	ETag      string
	Order     *orderv1.Order
}

// Store is an in-memory order state store (app.State) and its SQL reads
// (app.Reads).
type Store struct {
	mu      sync.Mutex
	docs    map[string][]byte // protojson, as stored
	etags   map[string]int
	nextTag int
	commits []Commit
	// failNext makes the next n commits lose their race (statetx.ErrConflict).
	failNext int
	// hideOpen makes OpenOrder find nothing, as when another instance's
	// create has not committed yet.
	hideOpen bool
	queries  []app.UnsettledQuery
	locks    *statetx.Store // for its per-key locks only
}

// New returns an empty store.
func New() *Store {
	return &Store{docs: map[string][]byte{}, etags: map[string]int{}, locks: statetx.New(nil, "mem", statetx.Options{})}
}

var (
	marshal   = protojson.MarshalOptions{EmitUnpopulated: true}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// Put stores o as is (a fixture), publishing nothing.
func (s *Store) Put(o *orderv1.Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put("order:"+o.GetId(), o)
}

func (s *Store) put(key string, o *orderv1.Order) {
	b, err := marshal.Marshal(o)
	if err != nil {
		panic(err)
	}
	s.nextTag++
	s.docs[key], s.etags[key] = b, s.nextTag
}

// Order is the stored order id (nil when absent).
func (s *Store) Order(id string) *orderv1.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order("order:" + id)
}

func (s *Store) order(key string) *orderv1.Order {
	b, ok := s.docs[key]
	if !ok {
		return nil
	}
	o := &orderv1.Order{}
	if err := unmarshal.Unmarshal(b, o); err != nil {
		panic(err)
	}
	return o
}

// Commits are the writes committed so far.
func (s *Store) Commits() []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commits)
}

// FailNext makes the next n commits fail as lost races.
func (s *Store) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// HideOpenOrders makes OpenOrder miss every open order.
func (s *Store) HideOpenOrders() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hideOpen = true
}

// Queries are the Unsettled queries run so far.
func (s *Store) Queries() []app.UnsettledQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// Get implements app.State.
func (s *Store) Get(_ context.Context, key string, doc proto.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.docs[key]
	if !ok {
		return "", fmt.Errorf("%s: %w", key, statetx.ErrNotFound)
	}
	if err := unmarshal.Unmarshal(b, doc); err != nil {
		return "", err
	}
	return strconv.Itoa(s.etags[key]), nil
}

// Commit implements app.State: all writes or none, each insert-only or
// conditional on its ETag, and at most one open order per user.
func (s *Store) Commit(_ context.Context, writes ...statetx.Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return fmt.Errorf("%w: lost a race (test)", statetx.ErrConflict)
	}
	next := map[string]*orderv1.Order{}
	for _, w := range writes {
		if w.Create == (w.ETag != "") || w.EventType == "" {
			return fmt.Errorf("write %s: blind or untyped", w.Key)
		}
		_, exists := s.docs[w.Key]
		if w.Create && exists || !w.Create && (!exists || w.ETag != strconv.Itoa(s.etags[w.Key])) {
			return fmt.Errorf("%s: %w", w.Key, statetx.ErrConflict)
		}
		next[w.Key] = proto.Clone(w.Doc).(*orderv1.Order)
	}
	// The one open order per user, as the unique index has it after the
	// writes.
	after := map[string]*orderv1.Order{}
	for key := range s.docs {
		after[key] = s.order(key)
	}
	maps.Copy(after, next)
	open := map[string]bool{}
	for _, o := range after {
		if isOpen(o) {
			if open[o.GetUserId()] {
				return orders.ErrOrderPending
			}
			open[o.GetUserId()] = true
		}
	}
	for _, w := range writes {
		o := next[w.Key]
		s.put(w.Key, o)
		s.commits = append(s.commits, Commit{Key: w.Key, EventType: w.EventType, Create: w.Create, ETag: w.ETag, Order: o})
	}
	return nil
}

// Lock implements app.State.
func (s *Store) Lock(keys ...string) func() { return s.locks.Lock(keys...) }

func isOpen(o *orderv1.Order) bool {
	return o.GetStatus() == orderv1.StatusPending || o.GetStatus() == orderv1.StatusPaid
}

func (s *Store) all() []*orderv1.Order {
	var out []*orderv1.Order
	for key := range s.docs {
		if strings.HasPrefix(key, "order:") {
			out = append(out, s.order(key))
		}
	}
	return out
}

// ListByUser implements app.Reads.
func (s *Store) ListByUser(_ context.Context, userID string, p app.Page) ([]*orderv1.Order, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine []*orderv1.Order
	for _, o := range s.all() {
		if o.GetUserId() == userID {
			mine = append(mine, o)
		}
	}
	slices.SortFunc(mine, func(a, b *orderv1.Order) int {
		return -strings.Compare(a.GetCreatedAt()+a.GetId(), b.GetCreatedAt()+b.GetId())
	})
	from := min((p.Page-1)*p.Size, len(mine))
	return mine[from:min(from+p.Size, len(mine))], len(mine), nil
}

// OpenOrder implements app.Reads.
func (s *Store) OpenOrder(_ context.Context, userID string) (*orderv1.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hideOpen {
		return nil, nil
	}
	for _, o := range s.all() {
		if o.GetUserId() == userID && isOpen(o) {
			return o, nil
		}
	}
	return nil, nil
}

// Unsettled implements app.Reads (QuietFor is recorded, not applied: there
// is no row write time here).
func (s *Store) Unsettled(_ context.Context, q app.UnsettledQuery) ([]*orderv1.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
	var out []*orderv1.Order
	for _, o := range s.all() {
		if !orders.Settled(o) && o.GetUpdatedAt() < orders.Stamp(q.MovedBefore) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *orderv1.Order) int {
		return strings.Compare(a.GetUpdatedAt()+a.GetId(), b.GetUpdatedAt()+b.GetId())
	})
	return out[:min(q.Limit, len(out))], nil
}
