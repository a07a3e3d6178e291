// Package statestoretest stands in for daprd's HTTP state API in tests: a
// state store with ETags, first-write (insert-only) upserts, atomic
// transactions, and the outbox's effect recorded (every upsert of a
// committed transaction is an event with its type and the stored value),
// plus the readiness probe. It is what platform/statetx talks to.
package statestoretest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Event is what the outbox would publish for one upsert.
type Event struct {
	Key, Type string
	Data      json.RawMessage
}

type item struct {
	value json.RawMessage
	etag  int
}

// Store is the stand-in. Port is its DAPR_HTTP_PORT.
type Store struct {
	Port string

	mu       sync.Mutex
	items    map[string]item
	etags    int
	events   []Event
	commits  int
	failNext []string // daprd error messages of the next transactions
}

// New starts a stand-in, stopped when the test ends.
func New(tb testing.TB) *Store {
	s := &Store{items: map[string]item{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/healthz/outbound", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /v1.0/state/{store}/{key}", s.get)
	mux.HandleFunc("POST /v1.0/state/{store}/transaction", s.transact)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	s.Port = srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	return s
}

func (s *Store) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[r.PathValue("key")]
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("ETag", strconv.Itoa(it.etag))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(it.value)
}

type operation struct {
	Operation string `json:"operation"`
	Request   struct {
		Key         string            `json:"key"`
		Value       json.RawMessage   `json:"value"`
		ETag        string            `json:"etag"`
		ContentType string            `json:"contentType"`
		Metadata    map[string]string `json:"metadata"`
		Options     struct {
			Concurrency string `json:"concurrency"`
		} `json:"options"`
	} `json:"request"`
}

func daprError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": "ERR_STATE_TRANSACTION", "message": message})
}

// transact applies every operation or none, as daprd's PostgreSQL store
// does in one database transaction.
func (s *Store) transact(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Operations []operation `json:"operations"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		daprError(w, http.StatusBadRequest, "ERR_MALFORMED_REQUEST: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		msg := s.failNext[0]
		s.failNext = s.failNext[1:]
		daprError(w, http.StatusInternalServerError, msg)
		return
	}
	for _, op := range body.Operations {
		req := op.Request
		if op.Operation != "upsert" || req.ContentType != "application/json" || req.Options.Concurrency != "first-write" {
			daprError(w, http.StatusBadRequest, "stand-in: only first-write JSON upserts are expected, got "+op.Operation)
			return
		}
		it, exists := s.items[req.Key]
		if (req.ETag == "" && exists) || (req.ETag != "" && (!exists || req.ETag != strconv.Itoa(it.etag))) {
			daprError(w, http.StatusConflict, "error while executing state transaction: possible etag mismatch. error from state store: no item was updated")
			return
		}
	}
	for _, op := range body.Operations {
		s.etags++
		s.items[op.Request.Key] = item{value: op.Request.Value, etag: s.etags}
		s.events = append(s.events, Event{Key: op.Request.Key, Type: op.Request.Metadata["type"], Data: op.Request.Value})
	}
	s.commits++
	w.WriteHeader(http.StatusNoContent)
}

// Events is every event the outbox would have published, in order.
func (s *Store) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Value is the stored value of key (nil: none).
func (s *Store) Value(key string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[key].value
}

// Commits is how many transactions committed.
func (s *Store) Commits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits
}

// FailNext makes the next transaction fail with daprd's error message msg
// (e.g. a unique index's violation as PostgreSQL words it).
func (s *Store) FailNext(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, msg)
}

// Put stores value under key outside any transaction (no event), as if it
// were written before the test.
func (s *Store) Put(key string, value json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.etags++
	s.items[key] = item{value: value, etag: s.etags}
}
