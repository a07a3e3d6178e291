package app

import (
	"context"
	"testing"
	"time"

	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

type recordingCatalog struct{ progress []int32 }

func (c *recordingCatalog) MovieExists(context.Context, string) error { return nil }
func (c *recordingCatalog) PutVideo(_ context.Context, _, _ string, v catalogv1.VideoStatus) error {
	c.progress = append(c.progress, v.Progress)
	return nil
}

// Every progress report is an outbox event in movie-command: one per 10
// points at most, or per 5 s when ffmpeg is slow.
func TestProgressReportsAreThrottled(t *testing.T) {
	cat := &recordingCatalog{}
	a := New(nil, cat, nil, nil, nil, Options{ProgressStep: 10, ProgressEvery: time.Hour})
	p := &progressReporter{app: a, job: job.Job{VideoID: "v", MovieID: "m"}, last: time.Now()}
	for pct := range 100 {
		p.update(pct)
		p.update(pct) // ffmpeg repeats itself
	}
	want := []int32{10, 20, 30, 40, 50, 60, 70, 80, 90}
	if len(cat.progress) != len(want) {
		t.Fatalf("reports %v, want %v", cat.progress, want)
	}
	for i := range want {
		if cat.progress[i] != want[i] {
			t.Fatalf("reports %v, want %v", cat.progress, want)
		}
	}
	cat.progress = nil
	a.opt.ProgressEvery = time.Millisecond
	p = &progressReporter{app: a, job: job.Job{VideoID: "v", MovieID: "m"}, last: time.Now()}
	time.Sleep(2 * time.Millisecond)
	p.update(3)
	if len(cat.progress) != 1 || cat.progress[0] != 3 {
		t.Fatalf("a slow transcode's progress after ProgressEvery: %v", cat.progress)
	}
}
