package e2e

import (
	"os"
	"testing"
	"time"
)

// TestNotificationStreamLivesThroughTheSidecars: the SSE stream goes
// gateway -> gateway's daprd -> notification's daprd -> notification, read
// as EventSource does, for longer than every timeout on that path (the
// gateway's and the app's 60 s write timeouts, the gateway's 30 s upstream
// timeout, daprd's 30 s delivery timeout). daprd 1.14 relays an invoked
// app's response only once it is complete, so the service answers in
// STREAM_MODE=poll: each response ends after its events or one keep-alive
// (15 s) and EventSource reconnects with Last-Event-ID. Events must arrive
// within a second or two of being published, and the keep-alives every
// ~15 s. NOTIFY_STREAM_MINUTES makes it longer (the report's 10-minute run).
func TestNotificationStreamLivesThroughTheSidecars(t *testing.T) {
	hold := 75 * time.Second
	if m := os.Getenv("NOTIFY_STREAM_MINUTES"); m != "" {
		d, err := time.ParseDuration(m + "m")
		if err != nil {
			t.Fatal(err)
		}
		hold = d
	}
	v := newViewer(t)
	s := openStream(t, v)
	var latencies []time.Duration
	deadline := time.Now().Add(hold)
	for i := 0; time.Now().Before(deadline); i++ {
		// An outcome of the viewer's own, as the saga's subscription service
		// would publish it (a fresh order id each time).
		order := "stream-" + randomHex(4)
		sent := time.Now()
		publishRaw(t, "subscriptions", map[string]any{
			"specversion": "1.0", "id": "stream-" + order, "source": "subscription",
			"type": "tenflix.subscription.granted.v1", "datacontenttype": "application/json",
			"data": map[string]any{"id": order, "userId": v.ID, "orderId": order, "planName": "Stream test",
				"status": "ACTIVE", "endAt": "2030-01-01T00:00:00Z", "version": "1"},
		})
		eventually(t, 30*time.Second, "event "+order+" on the stream", func() bool {
			return !s.arrivalOf(order).IsZero()
		})
		latencies = append(latencies, s.arrivalOf(order).Sub(sent))
		if err := s.ended(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(min(20*time.Second, time.Until(deadline)))
	}
	if err := s.ended(); err != nil {
		t.Fatal(err)
	}
	ka := s.keepAlives()
	var maxGap time.Duration
	for i := 1; i < len(ka); i++ {
		maxGap = max(maxGap, ka[i].Sub(ka[i-1]))
	}
	t.Logf("stream read for %s in %d responses: %d events, publish->stream latencies %v; %d comments, largest gap %s",
		time.Since(s.opened).Round(time.Second), s.count(), len(latencies), latencies, len(ka), maxGap.Round(time.Millisecond))
	for i, d := range latencies {
		if d > 5*time.Second {
			t.Errorf("event %d took %s to reach the stream", i, d)
		}
	}
	if want := int(hold/(15*time.Second)) - 1; len(ka) < want {
		t.Errorf("%d keep-alives in %s, want >= %d (every 15 s, flushed)", len(ka), hold, want)
	}
	if maxGap > 20*time.Second {
		t.Errorf("keep-alive gap %s: buffered somewhere", maxGap)
	}
}
