package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tenflix/services/media/internal/job"
	"tenflix/services/media/internal/postgres"
	"tenflix/services/media/internal/postgres/postgrestest"
)

func newJob(t *testing.T, db *postgres.DB) job.Job {
	t.Helper()
	j := job.Job{VideoID: uuid.NewString(), MovieID: uuid.NewString(), Title: "t", LengthSeconds: 5}
	if err := db.Create(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestHeldJobsAreNotClaimedUntilAccepted(t *testing.T) {
	ctx := context.Background()
	db := postgrestest.New(t)
	j := newJob(t, db)
	if _, ok, err := db.Claim(ctx, "w1", time.Minute, 3); err != nil || ok {
		t.Fatalf("claimed a held job: %v %v", ok, err)
	}
	if err := db.Accept(ctx, j.VideoID); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Claim(ctx, "w1", time.Minute, 3)
	if err != nil || !ok || got.VideoID != j.VideoID || got.Status != job.Transcoding || got.Attempts != 1 || got.Reported != job.Uploaded {
		t.Fatalf("claim = %+v %v %v", got, ok, err)
	}
	if _, ok, _ := db.Claim(ctx, "w2", time.Minute, 3); ok {
		t.Fatal("a leased job was claimed by another worker")
	}
}

// Two workers racing for jobs never get the same one (SKIP LOCKED).
func TestConcurrentClaimsTakeDifferentJobs(t *testing.T) {
	ctx := context.Background()
	db := postgrestest.New(t)
	for range 6 {
		j := newJob(t, db)
		if err := db.Accept(ctx, j.VideoID); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for {
				j, ok, err := db.Claim(ctx, string(rune('a'+w)), time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := got[j.VideoID]; dup {
					t.Errorf("job %s claimed by %s and %c", j.VideoID, prev, 'a'+w)
				}
				got[j.VideoID] = string(rune('a' + w))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != 6 {
		t.Fatalf("claimed %d jobs, want 6", len(got))
	}
}

// A worker that died leaves its lease to run out; the job is then claimed
// again, and the dead worker can record nothing any more.
func TestExpiredLeaseIsResumedAndTheOldOwnerIsLockedOut(t *testing.T) {
	ctx := context.Background()
	db := postgrestest.New(t)
	j := newJob(t, db)
	_ = db.Accept(ctx, j.VideoID)
	if _, ok, _ := db.Claim(ctx, "dead", 200*time.Millisecond, 3); !ok {
		t.Fatal("no claim")
	}
	if err := db.Renew(ctx, j.VideoID, "dead", 200*time.Millisecond, 40); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	got, ok, err := db.Claim(ctx, "alive", time.Minute, 3)
	if err != nil || !ok || got.Attempts != 2 || got.LeaseOwner != "alive" || got.Progress != 0 {
		t.Fatalf("resume = %+v %v %v", got, ok, err)
	}
	for _, f := range []func() error{
		func() error { return db.Renew(ctx, j.VideoID, "dead", time.Minute, 50) },
		func() error {
			return db.Finish(ctx, j.VideoID, "dead", job.Result{Playback: "hls", URL: "x", Length: 5})
		},
		func() error { return db.Fail(ctx, j.VideoID, "dead", "x") },
	} {
		if err := f(); !errors.Is(err, job.ErrLeaseLost) {
			t.Fatalf("the old owner wrote: %v", err)
		}
	}
	if err := db.Finish(ctx, j.VideoID, "alive", job.Result{Playback: "hls", URL: "x", Length: 5}); err != nil {
		t.Fatal(err)
	}
	done, _ := db.Get(ctx, j.VideoID)
	if done.Status != job.Ready || done.Progress != 100 || done.LeaseOwner != "" {
		t.Fatalf("finished job %+v", done)
	}
	un, err := db.Unreported(ctx, 10)
	if err != nil || len(un) != 1 {
		t.Fatalf("unreported %v %v", un, err)
	}
	if err := db.MarkReported(ctx, j.VideoID, job.Ready); err != nil {
		t.Fatal(err)
	}
	if un, _ := db.Unreported(ctx, 10); len(un) != 0 {
		t.Fatalf("still unreported: %v", un)
	}
}

func TestAJobThatKeepsKillingItsWorkerFails(t *testing.T) {
	ctx := context.Background()
	db := postgrestest.New(t)
	j := newJob(t, db)
	_ = db.Accept(ctx, j.VideoID)
	for range 2 {
		if _, ok, _ := db.Claim(ctx, "w", time.Millisecond, 2); !ok {
			t.Fatal("no claim")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok, _ := db.Claim(ctx, "w", time.Millisecond, 2); ok {
		t.Fatal("claimed a third time past maxAttempts 2")
	}
	got, _ := db.Get(ctx, j.VideoID)
	if got.Status != job.Failed || got.Reason == "" {
		t.Fatalf("job %+v, want FAILED with a reason", got)
	}
}

func TestRetryOnlyFailedJobs(t *testing.T) {
	ctx := context.Background()
	db := postgrestest.New(t)
	j := newJob(t, db)
	_ = db.Accept(ctx, j.VideoID)
	if _, err := db.Retry(ctx, j.MovieID, j.VideoID); !errors.Is(err, job.ErrNotFailed) {
		t.Fatalf("retry of an UPLOADED job: %v", err)
	}
	if _, err := db.Retry(ctx, uuid.NewString(), j.VideoID); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("retry under another movie: %v", err)
	}
	_, _, _ = db.Claim(ctx, "w", time.Minute, 3)
	if err := db.Fail(ctx, j.VideoID, "w", "ffmpeg failed: boom"); err != nil {
		t.Fatal(err)
	}
	r, err := db.Retry(ctx, j.MovieID, j.VideoID)
	if err != nil || r.Status != job.Uploaded || r.Attempts != 0 || r.Reason != "" {
		t.Fatalf("retry = %+v %v", r, err)
	}
	if _, ok, _ := db.Claim(ctx, "w", time.Minute, 3); ok {
		t.Fatal("a retry was claimed before movie-command accepted it")
	}
	if err := db.Unretry(ctx, j.VideoID, "ffmpeg failed: boom"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get(ctx, j.VideoID); got.Status != job.Failed || got.Reason != "ffmpeg failed: boom" {
		t.Fatalf("after unretry %+v", got)
	}
}
