package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

const sagaOrders = 200

// BenchmarkSagaWebhookToCompleted: 200 orders paid at once; for each, the
// time from Midtrans' notification (the simulate call that sends it) to the
// order being COMPLETED, and sagas completed per second over the burst. The
// baseline, in the same run, is one outbox hop measured alone (a catalog
// write reaching the query side, paced): the saga is three hops after the
// webhook (payment.paid -> order.paid -> subscription.granted -> order
// completed), so "floor-ratio" = p50 / (3 x hop p50). Run: make bench.
func BenchmarkSagaWebhookToCompleted(b *testing.B) {
	for range b.N {
		hop := measureLag(b, func(name string) {
			mustStatus(b, command(b, http.MethodPost, "/movies", map[string]any{"name": name, "type": "movie", "releaseDate": "2020-01-01"}), http.StatusCreated)
		})
		p := createPlan(b, 60000, 0, 30)
		users := make([]viewer, sagaOrders)
		parallel(b, sagaOrders, 4, func(i int) { users[i] = newViewer(b) })
		ids := make([]string, sagaOrders)
		parallel(b, sagaOrders, 4, func(i int) { ids[i] = placeOrder(b, users[i], p.ID).Order.ID })

		paidAt := make([]time.Time, sagaOrders)
		doneAt := make([]time.Time, sagaOrders)
		start := time.Now()
		parallel(b, sagaOrders, 8, func(i int) {
			paidAt[i] = time.Now()
			pay(b, ids[i], "settlement", "accept", "gopay")
		})
		var mu sync.Mutex
		remaining := map[int]bool{}
		for i := range sagaOrders {
			remaining[i] = true
		}
		deadline := time.Now().Add(5 * time.Minute)
		for len(remaining) > 0 && time.Now().Before(deadline) {
			var wg sync.WaitGroup
			for i := range remaining {
				wg.Go(func() {
					d, r := readOrder(b, users[i], ids[i])
					if r.Status == http.StatusOK && d.Order.Status == "COMPLETED" {
						mu.Lock()
						doneAt[i] = time.Now()
						delete(remaining, i)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			time.Sleep(100 * time.Millisecond)
		}
		if len(remaining) > 0 {
			b.Fatalf("%d of %d sagas not COMPLETED after 5 minutes", len(remaining), sagaOrders)
		}
		var lat []time.Duration
		last := start
		for i := range sagaOrders {
			lat = append(lat, doneAt[i].Sub(paidAt[i]))
			last = later(last, doneAt[i])
		}
		report(b, "webhook-to-completed", lat)
		report(b, "one-hop", hop)
		rate := float64(sagaOrders) / last.Sub(start).Seconds()
		b.ReportMetric(rate, "sagas/s")
		b.ReportMetric(pct(lat, 50).Seconds()/(3*pct(hop, 50).Seconds()), "floor-ratio")
		b.Logf("%d sagas in %s: %.1f sagas/s; p50 %s = %.2f x (3 hops of %s)",
			sagaOrders, last.Sub(start).Round(time.Millisecond), rate, pct(lat, 50), pct(lat, 50).Seconds()/(3*pct(hop, 50).Seconds()), pct(hop, 50))
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
