package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// movieQueryApp is movie-query itself (not its sidecar): the baseline.
const movieQueryApp = "http://127.0.0.1:7102"

// BenchmarkGatewayOverhead compares GET /api/v1/movie-query/movies through
// the gateway (gateway -> its sidecar -> movie-query's sidecar -> movie-query,
// with JWT validation) with the same request sent to movie-query directly, in
// the same run: latency p50/p99 over sequential requests and throughput with
// a few concurrent clients. Run: make bench.
func BenchmarkGatewayOverhead(b *testing.B) {
	queryToken := appToken("movie-query")
	direct := func() int {
		// movie-query verifies the bearer token itself, on both paths.
		return call(b, http.MethodGet, movieQueryApp+"/api/v1/movie-query/movies?size=10", nil,
			"dapr-api-token", queryToken, "Authorization", "Bearer "+stack.userToken).Status
	}
	viaGateway := func() int {
		return query(b, http.MethodGet, "/movies?size=10").Status
	}
	for range b.N {
		for _, f := range []func() int{direct, viaGateway} { // warm both paths
			for range 50 {
				if s := f(); s != http.StatusOK {
					b.Fatalf("warm-up: status %d", s)
				}
			}
		}
		dl, gl := latencies(b, direct), latencies(b, viaGateway)
		dt, gt := throughput(b, direct), throughput(b, viaGateway)
		report(b, "direct", dl)
		report(b, "gateway", gl)
		b.ReportMetric(pct(gl, 50).Seconds()/pct(dl, 50).Seconds(), "p50-ratio")
		b.ReportMetric(pct(gl, 99).Seconds()/pct(dl, 99).Seconds(), "p99-ratio")
		b.ReportMetric(dt, "direct-req/s")
		b.ReportMetric(gt, "gateway-req/s")
		b.ReportMetric(gt/dt, "throughput-ratio")
	}
}

const (
	latencyRequests    = 500
	throughputRequests = 2000
	throughputClients  = 8
)

func latencies(b *testing.B, do func() int) []time.Duration {
	out := make([]time.Duration, 0, latencyRequests)
	for range latencyRequests {
		start := time.Now()
		if s := do(); s != http.StatusOK {
			b.Fatalf("status %d", s)
		}
		out = append(out, time.Since(start))
	}
	return out
}

// throughput sends throughputRequests requests from throughputClients
// clients and returns requests per second.
func throughput(b *testing.B, do func() int) float64 {
	var wg sync.WaitGroup
	jobs := make(chan struct{}, throughputRequests)
	for range throughputRequests {
		jobs <- struct{}{}
	}
	close(jobs)
	var failed sync.Once
	start := time.Now()
	for range throughputClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if s := do(); s != http.StatusOK {
					failed.Do(func() { b.Errorf("status %d", s) })
				}
			}
		}()
	}
	wg.Wait()
	return throughputRequests / time.Since(start).Seconds()
}
