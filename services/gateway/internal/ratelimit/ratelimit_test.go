package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAt(c *clock, perMinute float64, burst, maxClients int) *PerClient {
	p := New(perMinute, burst, maxClients)
	p.now = c.now
	return p
}

func TestBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newAt(c, 10, 10, 100)
	for i := range 10 {
		if ok, _ := p.Allow("a"); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, wait := p.Allow("a")
	if ok || wait <= 0 || wait > 6*time.Second {
		t.Fatalf("11th request: ok=%v wait=%v, want refused with a wait of about 6 s", ok, wait)
	}
	if ok, _ := p.Allow("b"); !ok {
		t.Fatal("another client is limited by a's bucket")
	}
	c.t = c.t.Add(wait)
	if ok, _ := p.Allow("a"); !ok {
		t.Fatal("refused after waiting the advertised time")
	}
	if ok, _ := p.Allow("a"); ok {
		t.Fatal("refilled more than one token in 6 s")
	}
}

func TestRefusedRequestsDoNotDrainTheBucket(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newAt(c, 60, 1, 100)
	p.Allow("a")
	for range 100 {
		p.Allow("a") // hammering while empty must not push the next token further away
	}
	c.t = c.t.Add(time.Second)
	if ok, _ := p.Allow("a"); !ok {
		t.Fatal("refused one token period after the bucket emptied")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newAt(c, 10, 10, 50)
	for i := range 1000 {
		p.Allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := p.Len(); n > 50 {
		t.Fatalf("remembers %d clients, max 50", n)
	}
}

func TestIdleClientsAreForgotten(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newAt(c, 10, 10, 1000)
	for i := range 100 {
		p.Allow(fmt.Sprintf("client-%d", i))
	}
	c.t = c.t.Add(2 * time.Minute) // every bucket is full again: nothing to remember
	p.Allow("late")
	if n := p.Len(); n != 1 {
		t.Fatalf("remembers %d clients after they went idle, want 1", n)
	}
}
