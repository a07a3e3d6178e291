package bench

import (
	"os"
	"strconv"
	"testing"
)

// BenchmarkLadder reports the ladder's speed (multiples of real time) both
// ways; -bench only, never in a plain go test. BENCH_LADDER_SECONDS and
// BENCH_LADDER_HEIGHT change the source (default 20 s of 1080p).
//
//	go test -run '^$' -bench Ladder -benchtime 1x ./bench
func BenchmarkLadder(b *testing.B) {
	seconds, height := 20.0, 1080
	if s, err := strconv.ParseFloat(os.Getenv("BENCH_LADDER_SECONDS"), 64); err == nil && s > 0 {
		seconds = s
	}
	if h, err := strconv.Atoi(os.Getenv("BENCH_LADDER_HEIGHT")); err == nil && h > 0 {
		height = h
	}
	for b.Loop() {
		r, err := Ladder(b.Context(), b.TempDir(), seconds, height)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.OneDecodeSpeed(), "x-realtime-one-decode")
		b.ReportMetric(r.SeparateSpeed(), "x-realtime-separate")
		b.Log(r)
	}
}
