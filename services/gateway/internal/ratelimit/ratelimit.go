// Package ratelimit keeps one token bucket per client (e.g. per IP address)
// in bounded memory.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// PerClient is a set of token buckets keyed by client.
type PerClient struct {
	limit rate.Limit
	burst int
	// idle is how long an unused bucket takes to fill up again: forgetting it
	// after that changes nothing for its client.
	idle       time.Duration
	maxClients int
	now        func() time.Time

	mu        sync.Mutex
	clients   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows each client perMinute requests a minute, in bursts of up to
// burst, remembering at most maxClients clients.
func New(perMinute float64, burst, maxClients int) *PerClient {
	limit := rate.Limit(perMinute / 60)
	idle := time.Minute
	if limit > 0 {
		idle = max(idle, time.Duration(float64(burst)/float64(limit)*float64(time.Second)))
	}
	return &PerClient{
		limit:      limit,
		burst:      burst,
		idle:       idle,
		maxClients: max(maxClients, 1),
		now:        time.Now,
		clients:    map[string]*bucket{},
	}
}

// Allow takes one token from the client's bucket. When it is empty, it
// reports how long until the next token.
func (p *PerClient) Allow(client string) (ok bool, retryAfter time.Duration) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.lastSweep) >= p.idle {
		p.sweep(now)
	}
	b := p.clients[client]
	if b == nil {
		if len(p.clients) >= p.maxClients {
			p.sweep(now)
		}
		for k := range p.clients { // still full: forget an arbitrary client
			if len(p.clients) < p.maxClients {
				break
			}
			delete(p.clients, k)
		}
		b = &bucket{lim: rate.NewLimiter(p.limit, p.burst)}
		p.clients[client] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, p.idle
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Len is the number of clients remembered.
func (p *PerClient) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.clients)
}

func (p *PerClient) sweep(now time.Time) {
	for k, b := range p.clients {
		if now.Sub(b.seen) >= p.idle {
			delete(p.clients, k)
		}
	}
	p.lastSweep = now
}
