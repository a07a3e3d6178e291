package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkCommandToQueryLag measures how long an admin's write takes to be
// visible on the query side (movie-command -> outbox -> Kafka -> movie-query)
// over lagWrites writes paced below the outbox's throughput floor, and, in
// the same run, the baseline: the same event published straight to Kafka
// through the Dapr publish API (no outbox). Run: make bench.
func BenchmarkCommandToQueryLag(b *testing.B) {
	for range b.N {
		outbox := measureLag(b, func(name string) {
			r := command(b, http.MethodPost, "/movies", map[string]any{"name": name, "type": "movie", "releaseDate": "2020-01-01"})
			mustStatus(b, r, http.StatusCreated)
		})
		direct := measureLag(b, func(name string) {
			id := randomHex(16)
			ev := map[string]any{
				"specversion": "1.0", "id": "bench-" + id, "source": "bench",
				"type": "tenflix.catalog.movie.created.v1", "datacontenttype": "application/json",
				"data": map[string]any{"id": id, "name": name, "type": "movie", "releaseDate": "2020-01-01", "version": "1"},
			}
			publishRaw(b, "catalog", ev)
		})
		report(b, "outbox", outbox)
		report(b, "direct", direct)
		b.ReportMetric(pct(outbox, 50).Seconds()/pct(direct, 50).Seconds(), "p50-ratio")
		b.ReportMetric(pct(outbox, 99).Seconds()/pct(direct, 99).Seconds(), "p99-ratio")
	}
}

const (
	lagWrites   = 100
	lagInterval = 250 * time.Millisecond // 4 writes/s: below the outbox floor of ~8/s
	pollEvery   = 25 * time.Millisecond
)

// measureLag performs lagWrites writes and returns, for each, the time from
// the write's acknowledgement to its first sighting on the query side. One
// poller lists the batch's movies, so polling costs the same for every write.
func measureLag(b *testing.B, write func(name string)) []time.Duration {
	b.Helper()
	batch := randomHex(4)
	var mu sync.Mutex
	acked := map[string]time.Time{}
	lags := []time.Duration{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := map[string]bool{}
		deadline := time.Now().Add(lagWrites*lagInterval + 60*time.Second)
		for len(seen) < lagWrites && time.Now().Before(deadline) {
			r := query(b, http.MethodGet, "/movies?size=100&sort=name&q="+url.QueryEscape("lag "+batch))
			now := time.Now()
			var l movieList
			if r.Status == http.StatusOK {
				r.json(b, &l)
			}
			mu.Lock()
			for _, m := range l.Items {
				if t, ok := acked[m.Name]; ok && !seen[m.Name] {
					seen[m.Name] = true
					lags = append(lags, now.Sub(t))
				}
			}
			mu.Unlock()
			time.Sleep(pollEvery)
		}
	}()
	tick := time.NewTicker(lagInterval)
	defer tick.Stop()
	for i := range lagWrites {
		name := fmt.Sprintf("lag %s %03d", batch, i)
		write(name)
		mu.Lock()
		acked[name] = time.Now()
		mu.Unlock()
		<-tick.C
	}
	<-done
	if len(lags) < lagWrites {
		b.Fatalf("only %d of %d writes became visible", len(lags), lagWrites)
	}
	return lags
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func report(b *testing.B, name string, d []time.Duration) {
	b.ReportMetric(pct(d, 50).Seconds()*1000, name+"-p50-ms")
	b.ReportMetric(pct(d, 99).Seconds()*1000, name+"-p99-ms")
	b.Logf("%s: n=%d p50=%s p99=%s max=%s", name, len(d), pct(d, 50), pct(d, 99), pct(d, 100))
}
