package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A registration leaves identity as UserRegistered through daprd's outbox
// (a projection of the stored account): the event carries id, email, name
// and registeredAt, never the password hash the stored document holds.
func TestUserRegisteredIsPublishedWithoutTheHash(t *testing.T) {
	email := "event-" + randomHex(5) + "@tenflix.test"
	mustStatus(t, call(t, http.MethodPost, gateway+"/api/v1/auth/register",
		map[string]string{"email": email, "password": "event-password-0123", "name": "Event Viewer"}), http.StatusCreated)

	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:9092"), kgo.ConsumeTopics("users"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		for _, r := range fetches.Records() {
			var ev struct {
				Type            string                     `json:"type"`
				DataContentType string                     `json:"datacontenttype"`
				Data            map[string]json.RawMessage `json:"data"`
			}
			if json.Unmarshal(r.Value, &ev) != nil || string(ev.Data["email"]) != `"`+email+`"` {
				continue
			}
			if ev.Type != "tenflix.identity.user.registered.v1" || ev.DataContentType != "application/json" {
				t.Errorf("event type %q, content type %q", ev.Type, ev.DataContentType)
			}
			var keys []string
			for k := range ev.Data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"email", "id", "name", "registeredAt"}) {
				t.Errorf("event data has %v, want exactly email, id, name, registeredAt: %s", keys, r.Value)
			}
			return
		}
	}
	t.Fatalf("no UserRegistered for %s on topic users within 30 s", email)
}
