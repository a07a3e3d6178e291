package outbox_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tenflix/platform/sidecar"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/outbox"
)

// fakeSidecar stands in for daprd's publish API (gRPC, through
// platform/sidecar/sidecartest; the database is real).
type fakeSidecar struct {
	*sidecartest.Sidecar
	t *testing.T
}

func newFakeSidecar(t *testing.T) *fakeSidecar {
	return &fakeSidecar{Sidecar: sidecartest.New(t, nil), t: t}
}

func (f *fakeSidecar) client() *sidecar.Client { return f.Client(f.t, "dapr-token") }

// published is every event published, each checked as daprd would get it.
func (f *fakeSidecar) published() []map[string]any {
	var events []map[string]any
	for _, p := range f.Published() {
		if p.PubSub != "pubsub" || p.Topic != "users" {
			f.t.Errorf("published to %s/%s", p.PubSub, p.Topic)
		}
		if p.Token != "dapr-token" {
			f.t.Errorf("dapr-api-token %q", p.Token)
		}
		if p.ContentType != "application/cloudevents+json" {
			f.t.Errorf("content type %q", p.ContentType)
		}
		var ev map[string]any
		if err := json.Unmarshal(p.Data, &ev); err != nil {
			f.t.Errorf("data: %v", err)
		}
		events = append(events, ev)
	}
	return events
}

// register writes a user and its event like the app does.
func register(t *testing.T, db *dbtest.Database, email string) (account.User, outbox.Message) {
	t.Helper()
	u := account.User{ID: uuid.NewString(), Email: email, Name: "N", PasswordHash: "h",
		Roles: []string{"user"}, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	ev, err := outbox.New(uuid.NewString(), "users", "tenflix.identity.user.registered.v1",
		map[string]any{"id": u.ID, "email": u.Email}, u.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(context.Background(), u, ev); err != nil {
		t.Fatal(err)
	}
	return u, ev
}

func newRelay(db *dbtest.Database, f *fakeSidecar, interval time.Duration) *outbox.Relay {
	return outbox.NewRelay(db, f.client(), "pubsub", "identity", slog.New(slog.DiscardHandler), interval)
}

func TestRelayPublishesEachEventOnce(t *testing.T) {
	db := dbtest.New(t)
	f := newFakeSidecar(t)
	relay := newRelay(db, f, time.Hour)
	ctx := context.Background()

	var msgs []outbox.Message
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_, m := register(t, db, e)
		msgs = append(msgs, m)
	}
	if n, err := relay.Flush(ctx); err != nil || n != 3 {
		t.Fatalf("flush: %d %v", n, err)
	}
	if n, err := relay.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("second flush sent %d again (%v)", n, err)
	}
	got := f.published()
	if len(got) != 3 {
		t.Fatalf("%d events published, want 3", len(got))
	}
	for i, ev := range got {
		data, _ := ev["data"].(map[string]any)
		if ev["id"] != msgs[i].ID || ev["type"] != "tenflix.identity.user.registered.v1" || ev["source"] != "identity" ||
			ev["specversion"] != "1.0" || ev["datacontenttype"] != "application/json" || data["email"] == nil {
			t.Errorf("event %d: %v", i, ev)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev["time"].(string)); err != nil {
			t.Errorf("event %d time: %v", i, err)
		}
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 0 {
		t.Fatalf("%d events left pending", n)
	}
}

func TestRelayRetriesAFailedPublish(t *testing.T) {
	db := dbtest.New(t)
	f := newFakeSidecar(t)
	f.FailPublishes(1)
	relay := newRelay(db, f, time.Hour)
	register(t, db, "a@example.com")
	register(t, db, "b@example.com")

	n, err := relay.Flush(context.Background())
	if err == nil || n != 0 {
		t.Fatalf("flush with the broker down: %d %v", n, err)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM outbox WHERE attempts = 1 AND last_error LIKE '%broker down%'`); n != 1 {
		t.Fatal("the failure was not recorded on the first event")
	}
	if n, err := relay.Flush(context.Background()); err != nil || n != 2 {
		t.Fatalf("retry: %d %v", n, err)
	}
	if len(f.published()) != 2 {
		t.Fatalf("published %d, want 2", len(f.published()))
	}
}

// Instances relay concurrently: each event still goes out once.
func TestConcurrentRelaysDoNotPublishTwice(t *testing.T) {
	db := dbtest.New(t)
	f := newFakeSidecar(t)
	for range 30 {
		register(t, db, uuid.NewString()+"@example.com")
	}
	var wg sync.WaitGroup
	for range 3 {
		relay := newRelay(db, f, time.Hour)
		wg.Go(func() {
			if _, err := relay.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[any]int{}
	for _, ev := range f.published() {
		seen[ev["id"]]++
	}
	if len(seen) != 30 || len(f.published()) != 30 {
		t.Fatalf("%d publishes of %d distinct events, want 30 of 30", len(f.published()), len(seen))
	}
}

func TestRunPublishesSoonAfterNotify(t *testing.T) {
	db := dbtest.New(t)
	f := newFakeSidecar(t)
	relay := newRelay(db, f, time.Hour) // polling alone would take an hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	time.Sleep(50 * time.Millisecond) // let Run do its first, empty pass
	register(t, db, "a@example.com")
	relay.Notify()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.published()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not published within 5s of Notify")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
