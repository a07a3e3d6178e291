package httpapi_test

import (
	"bufio"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tenflix/services/identity/internal/app"
	"tenflix/services/identity/internal/password"
)

var signIns = flag.Int("signins", 500, "concurrent sign-ins in BenchmarkConcurrentSignIns")

// BenchmarkConcurrentSignIns sends -signins sign-ins at once (each for its
// own account with the right password, from its own client address, as a
// busy evening would) through a real HTTP server
// to the real handler, with the production argon2id costs, and reports the
// process's peak RSS and peak Go heap during the wave: with the hashing
// bound (the default, 2 x GOMAXPROCS) and without it (a bound as large as
// the wave). Run alone, it measures the memory figure in the README:
//
//	GOWORK=off go test -run '^$' -bench ConcurrentSignIns -benchtime 1x ./internal/httpapi/
func BenchmarkConcurrentSignIns(b *testing.B) {
	n := *signIns
	for _, tc := range []struct {
		name   string
		limits password.Limits
	}{
		{"bounded", password.Limits{}},
		{"unbounded", password.Limits{Concurrent: n, Wait: time.Minute}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.limits.Concurrent >= n {
				need := uint64(n) * uint64(password.Recommended.Memory) << 10 * 3 / 2
				if avail := memAvailable(b); avail < need {
					b.Skipf("needs about %d MiB free for %d unbounded hashes, %d MiB available", need>>20, n, avail>>20)
				}
			}
			e := newEnvWith(b, func(o *app.Options) {
				o.PasswordParams = password.Recommended
				o.HashLimits = tc.limits
			})
			e.register("ann@example.com", goodPW, "Ann").status(http.StatusCreated)
			// n accounts with Ann's password (hashed once: the wave is what is measured).
			// Copies of Ann's document, in daprd's shape (no event: not measured).
			e.db.Exec(b, `
				WITH c AS (SELECT gen_random_uuid()::text AS id, i FROM generate_series(0, $1 - 1) AS i)
				INSERT INTO identity_state (key, value, isbinary)
				SELECT 'user:' || c.id, value || jsonb_build_object('id', c.id, 'email', 'viewer' || c.i || '@example.com'), false
				FROM identity_state, c
				WHERE key LIKE 'user:%' AND value->>'email' = 'ann@example.com'`, n)
			srv := httptest.NewServer(e.h)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
			defer client.CloseIdleConnections()

			var worst wave
			for b.Loop() {
				w := signInWave(b, srv.URL, client, n)
				worst = worst.max(w)
				// The next wave's clients must not be slowed by this one's.
				e.db.Exec(b, `DELETE FROM login_attempts`)
			}
			b.ReportMetric(float64(worst.peakRSS)/(1<<20), "peak-rss-MiB")
			b.ReportMetric(float64(worst.peakHeap)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(worst.ok), "ok")
			b.ReportMetric(float64(worst.busy), "busy-503")
			b.ReportMetric(worst.elapsed.Seconds(), "wave-s")
			if worst.other > 0 {
				b.Fatalf("%d answers neither 200 nor 503", worst.other)
			}
		})
	}
}

type wave struct {
	peakRSS, peakHeap uint64
	ok, busy, other   int
	elapsed           time.Duration
}

func (w wave) max(o wave) wave {
	return wave{
		peakRSS: max(w.peakRSS, o.peakRSS), peakHeap: max(w.peakHeap, o.peakHeap),
		ok: max(w.ok, o.ok), busy: max(w.busy, o.busy), other: max(w.other, o.other),
		elapsed: max(w.elapsed, o.elapsed),
	}
}

// signInWave starts n sign-ins at the same moment and waits for all the
// answers, sampling the Go heap meanwhile; peak RSS is the kernel's
// high-water mark, reset just before.
func signInWave(b *testing.B, base string, client *http.Client, n int) wave {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS(b)

	stop := make(chan struct{})
	var peakHeap atomic.Uint64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peakHeap.Load() {
				peakHeap.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	start := make(chan struct{})
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			form := url.Values{"grant_type": {"password"}, "username": {fmt.Sprintf("viewer%d@example.com", i)}, "password": {goodPW}}
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/auth/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("dapr-api-token", appToken)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
			<-start
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	close(stop)
	sampler.Wait()
	close(statuses)

	w := wave{peakRSS: peakRSS(b), peakHeap: peakHeap.Load(), elapsed: elapsed}
	for s := range statuses {
		switch s {
		case http.StatusOK:
			w.ok++
		case http.StatusServiceUnavailable:
			w.busy++
		default:
			w.other++
		}
	}
	return w
}

// resetPeakRSS sets the kernel's peak-RSS mark (VmHWM) back to the current
// RSS (proc(5), clear_refs value 5).
func resetPeakRSS(tb testing.TB) {
	tb.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Skipf("cannot reset peak RSS: %v", err)
	}
}

func peakRSS(tb testing.TB) uint64 { return procField(tb, "/proc/self/status", "VmHWM:") }

func memAvailable(tb testing.TB) uint64 { return procField(tb, "/proc/meminfo", "MemAvailable:") }

// procField reads a "Name:   123 kB" line of a /proc file, in bytes.
func procField(tb testing.TB, path, name string) uint64 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), name); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("%s %s: %v", path, name, err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("%s: no %s", path, name)
	return 0
}
