package statetx

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"tenflix/platform/sidecar"
)

// transactions is a stand-in of the sidecar's HTTP transaction API that keeps
// the operations of each transaction as sent.
type transactions struct {
	mu  sync.Mutex
	got [][]sidecar.Op
}

func (tr *transactions) store(t *testing.T) *Store {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1.0/state/state/transaction" {
			http.NotFound(w, r)
			return
		}
		var body struct{ Operations []sidecar.Op }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tr.mu.Lock()
		tr.got = append(tr.got, body.Operations)
		tr.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return New(sidecar.New(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:], ""), "state", Options{})
}

func (tr *transactions) last(t *testing.T) []sidecar.Op {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.got) == 0 {
		t.Fatal("no transaction reached the sidecar")
	}
	return tr.got[len(tr.got)-1]
}

func doc(t *testing.T, fields map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// daprOutbox does what daprd 1.14.0's outbox does with a transaction's
// operations (pkg/runtime/pubsub/outbox.go PublishInternal, its projection
// loop copied as it is, shifted indexes included): it returns the upserts the
// state store runs and, per key, the data published.
func daprOutbox(operations []sidecar.Op) (stored []sidecar.Op, published map[string]string) {
	projections := map[string]sidecar.Op{}
	for i, op := range operations {
		for k, v := range op.Request.Metadata {
			if k == "outbox.projection" && v == "true" {
				projections[op.Request.Key] = op
				operations = append(operations[:i], operations[i+1:]...)
			}
		}
	}
	published = map[string]string{}
	for _, op := range operations {
		payload := op
		if p, ok := projections[op.Request.Key]; ok {
			payload = p
		}
		if payload.Request.ContentType != "application/json" {
			published[op.Request.Key] = "(not JSON)"
			continue
		}
		b, _ := json.Marshal(payload.Request.Value)
		published[op.Request.Key] = string(b)
	}
	return operations, published
}

// The exact operations of a write with an Event: the document stored with
// its checks and the event type, then the event flagged as the projection.
func TestCommitSendsTheEventAsTheProjection(t *testing.T) {
	tr := &transactions{}
	s := tr.store(t)
	stored := doc(t, map[string]any{"id": "1", "secret": "hash"})
	event := doc(t, map[string]any{"id": "1"})
	plain := doc(t, map[string]any{"id": "2"})
	err := s.Commit(context.Background(),
		Write{Key: "user:1", Doc: stored, EventType: "user.registered", Create: true, Event: event},
		Write{Key: "thing:2", Doc: plain, EventType: "thing.updated", ETag: "7"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(tr.last(t))
	want := `[` +
		`{"operation":"upsert","request":{"key":"user:1","value":{"id":"1","secret":"hash"},"contentType":"application/json",` +
		`"metadata":{"type":"user.registered"},"options":{"concurrency":"first-write","consistency":"strong"}}},` +
		`{"operation":"upsert","request":{"key":"user:1","value":{"id":"1"},"contentType":"application/json",` +
		`"metadata":{"outbox.projection":"true"},"options":{"concurrency":"first-write","consistency":"strong"}}},` +
		`{"operation":"upsert","request":{"key":"thing:2","value":{"id":"2"},"contentType":"application/json","etag":"7",` +
		`"metadata":{"type":"thing.updated"},"options":{"concurrency":"first-write","consistency":"strong"}}}]`
	if string(got) != want {
		t.Fatalf("operations\n got %s\nwant %s", got, want)
	}
}

// Wherever the write with an Event sits in the transaction, daprd stores
// every document and publishes the event in place of that one document.
func TestTheEventIsPublishedAndTheDocumentStored(t *testing.T) {
	for at := range 3 {
		tr := &transactions{}
		s := tr.store(t)
		writes := []Write{
			{Key: "a:1", Doc: doc(t, map[string]any{"n": "a"}), EventType: "a", Create: true},
			{Key: "b:1", Doc: doc(t, map[string]any{"n": "b"}), EventType: "b", ETag: "3"},
			{Key: "c:1", Doc: doc(t, map[string]any{"n": "c"}), EventType: "c", Create: true},
		}
		secret := writes[at].Key
		writes[at].Doc = doc(t, map[string]any{"n": "stored", "hash": "x"})
		writes[at].Event = doc(t, map[string]any{"n": "event"})
		if err := s.Commit(context.Background(), writes...); err != nil {
			t.Fatal(err)
		}
		stored, published := daprOutbox(tr.last(t))
		if len(stored) != 3 {
			t.Fatalf("event at %d: daprd would store %d upserts, want the 3 documents: %v", at, len(stored), stored)
		}
		for _, op := range stored {
			if op.Request.Metadata["outbox.projection"] != "" {
				t.Fatalf("event at %d: the projection would be stored: %v", at, op)
			}
		}
		for _, w := range writes {
			want := `{"n":"` + strings.TrimSuffix(w.Key, ":1") + `"}`
			if w.Key == secret {
				want = `{"n":"event"}`
			}
			if published[w.Key] != want {
				t.Errorf("event at %d: %s publishes %s, want %s", at, w.Key, published[w.Key], want)
			}
		}
	}
}

func TestCommitRefusesTwoEvents(t *testing.T) {
	tr := &transactions{}
	s := tr.store(t)
	d := doc(t, map[string]any{"n": "x"})
	err := s.Commit(context.Background(),
		Write{Key: "a:1", Doc: d, EventType: "a", Create: true, Event: d},
		Write{Key: "b:1", Doc: d, EventType: "b", Create: true, Event: d})
	if err == nil || !strings.Contains(err.Error(), "at most one") {
		t.Fatalf("Commit = %v, want a refusal of the second Event", err)
	}
	if len(tr.got) != 0 {
		t.Fatal("the refused transaction reached the sidecar")
	}
}
