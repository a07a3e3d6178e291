package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
	"tenflix/services/notification/internal/postgres"
	"tenflix/services/notification/migrations"
)

// newDB is a fresh, migrated database of the test's own.
func newDB(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t, "notification_test")
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(context.Background(), migrations.FS); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

// must returns a call's value, failing the test on its error:
// must[T](t)(call()).
func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func count(t testing.TB, dsn, q string, args ...any) int {
	t.Helper()
	conn := must[*pgx.Conn](t)(pgx.Connect(context.Background(), dsn))
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMovieIsAnnouncedOnceWhenFlaggedAndPlayable(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		steps []any // app.Movie or app.Video, in delivery order
		want  []bool
	}{
		{"flag, then READY video", []any{
			app.Movie{ID: "m", Version: 1, Name: "M", Notify: true},
			app.Video{ID: "v", MovieID: "m", Version: 1, Status: "TRANSCODING"},
			app.Video{ID: "v", MovieID: "m", Version: 2, Status: "READY"},
			app.Video{ID: "v", MovieID: "m", Version: 2, Status: "READY"}, // redelivered
			app.Video{ID: "v2", MovieID: "m", Version: 1, Status: "READY"},
		}, []bool{false, false, true, false, false}},
		{"READY video before the movie event", []any{
			app.Video{ID: "v", MovieID: "m", Version: 1, Status: "READY"},
			app.Movie{ID: "m", Version: 1, Name: "M", Notify: true},
			app.Movie{ID: "m", Version: 2, Name: "M2", Notify: true},
		}, []bool{false, true, false}},
		{"flag later", []any{
			app.Movie{ID: "m", Version: 1, Name: "M"},
			app.Video{ID: "v", MovieID: "m", Version: 1, Status: "ready"}, // legacy lower case
			app.Movie{ID: "m", Version: 2, Name: "M", Notify: true},
			app.Movie{ID: "m", Version: 3, Name: "M", Notify: false},
			app.Movie{ID: "m", Version: 4, Name: "M", Notify: true}, // flagged again: never twice
		}, []bool{false, false, true, false, false}},
		{"never without a READY video", []any{
			app.Movie{ID: "m", Version: 1, Name: "M", Notify: true},
			app.Video{ID: "v", MovieID: "m", Version: 1, Status: "FAILED"},
			app.Video{ID: "w", MovieID: "m", Version: 2, Status: "READY", Deleted: true},
			app.Video{ID: "x", MovieID: "other", Version: 1, Status: "READY"},
		}, []bool{false, false, false, false}},
		{"stale event changes nothing", []any{
			app.Movie{ID: "m", Version: 3, Name: "M", Notify: false},
			app.Movie{ID: "m", Version: 2, Name: "M", Notify: true}, // older, out of order
			app.Video{ID: "v", MovieID: "m", Version: 1, Status: "READY"},
		}, []bool{false, false, false}},
		{"deleted movie", []any{
			app.Movie{ID: "m", Version: 1, Name: "M", Notify: true, Deleted: true},
			app.Video{ID: "v", MovieID: "m", Version: 1, Status: "READY"},
		}, []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, dsn := newDB(t)
			for i, step := range tc.steps {
				var got bool
				switch s := step.(type) {
				case app.Movie:
					got = must[bool](t)(db.ApplyMovie(ctx, s))
				case app.Video:
					got = must[bool](t)(db.ApplyVideo(ctx, s))
				}
				if got != tc.want[i] {
					t.Errorf("step %d %+v: announced = %v, want %v", i, step, got, tc.want[i])
				}
			}
			want := 0
			for _, w := range tc.want {
				if w {
					want = 1
				}
			}
			if n := count(t, dsn, `SELECT count(*) FROM jobs WHERE kind = 'fanout'`); n != want {
				t.Errorf("fan-out jobs = %d, want %d", n, want)
			}
		})
	}
}

// The movie flag and the READY video arriving at once on two partitions must
// not both miss each other.
func TestConcurrentFlagAndReadyAnnounceOnce(t *testing.T) {
	ctx := context.Background()
	db, dsn := newDB(t)
	for i := range 20 {
		id := fmt.Sprint("m", i)
		var wg sync.WaitGroup
		wg.Go(func() { must[bool](t)(db.ApplyMovie(ctx, app.Movie{ID: id, Version: 1, Name: id, Notify: true})) })
		wg.Go(func() {
			must[bool](t)(db.ApplyVideo(ctx, app.Video{ID: "v" + id, MovieID: id, Version: 1, Status: "READY"}))
		})
		wg.Wait()
	}
	if n := count(t, dsn, `SELECT count(*) FROM jobs WHERE kind = 'fanout'`); n != 20 {
		t.Fatalf("fan-out jobs = %d, want 20", n)
	}
}

func TestFanOutReachesOptedInUsersOnceInBatches(t *testing.T) {
	ctx := context.Background()
	db, dsn := newDB(t)
	for i := range 25 {
		check(t, db.SaveUser(ctx, app.User{ID: fmt.Sprintf("u%02d", i), Email: fmt.Sprintf("u%02d@example.test", i)}))
	}
	// u00 opted out of new movies; u01 wants email; u99 set preferences
	// before identity's event (no address yet) and is reached too.
	check(t, db.SetPreferences(ctx, "u00", inbox.Preferences{NewMovies: false, Email: true}))
	check(t, db.SetPreferences(ctx, "u01", inbox.Preferences{NewMovies: true, Email: true}))
	check(t, db.SetPreferences(ctx, "u99", inbox.Preferences{NewMovies: true, Email: false}))
	must[bool](t)(db.ApplyMovie(ctx, app.Movie{ID: "m", Version: 1, Name: "<b>Dune</b>", Notify: true}))
	must[bool](t)(db.ApplyVideo(ctx, app.Video{ID: "v", MovieID: "m", Version: 1, Status: "READY"}))

	// A batch whose transaction dies changes nothing; the next one redoes it.
	batches := 0
	for {
		f, ok, err := db.FanOutBatch(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		batches++
		if f.Done {
			break
		}
	}
	if batches != 3 {
		t.Errorf("batches = %d, want 3 (25 users, 10 a batch)", batches)
	}
	if _, ok, _ := db.FanOutBatch(ctx, 10); ok {
		t.Error("a finished job ran again")
	}
	if n := count(t, dsn, `SELECT count(*) FROM notifications WHERE event_key = 'movie:m'`); n != 25 {
		t.Errorf("inbox rows = %d, want 25 (24 registered opted in + u99)", n)
	}
	if n := count(t, dsn, `SELECT count(*) FROM notifications WHERE user_id = 'u00'`); n != 0 {
		t.Errorf("opted-out user notified")
	}
	if n := count(t, dsn, `SELECT count(*) FROM jobs WHERE kind = 'email'`); n != 1 {
		t.Errorf("email jobs = %d, want 1 (u01)", n)
	}

	// A re-run of the whole job (its cursor lost, as after a crash before
	// the cursor committed) inserts nothing twice.
	conn := must[*pgx.Conn](t)(pgx.Connect(ctx, dsn))
	defer conn.Close(ctx)
	must[pgconn.CommandTag](t)(conn.Exec(ctx, `UPDATE jobs SET cursor = '', done_at = NULL WHERE kind = 'fanout'`))
	for {
		f, ok, err := db.FanOutBatch(ctx, 7)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if f.Inserted != 0 {
			t.Errorf("re-run inserted %d", f.Inserted)
		}
		if f.Done {
			break
		}
	}
	if n := count(t, dsn, `SELECT count(*) FROM jobs WHERE kind = 'email'`); n != 1 {
		t.Errorf("email jobs after re-run = %d, want 1", n)
	}
}

func TestNotifyOnceAndOnlyTheOwnerReads(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	n := inbox.SubscriptionGranted("o1", "Gold", time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC))
	if !must[bool](t)(db.Notify(ctx, "alice", n)) {
		t.Fatal("first notify created nothing")
	}
	if must[bool](t)(db.Notify(ctx, "alice", n)) {
		t.Fatal("redelivered notify created a second row")
	}
	page := must[app.InboxPage](t)(db.Inbox(ctx, "alice", app.Page{Page: 1, Size: 10}))
	if page.Total != 1 || page.Unread != 1 || page.Items[0].OrderID != "o1" || page.Items[0].Type != inbox.SubscriptionActive {
		t.Fatalf("inbox = %+v", page)
	}
	id := page.Items[0].ID
	if _, err := db.Notification(ctx, "bob", id); err != inbox.ErrNotFound {
		t.Fatalf("bob reads alice's: %v", err)
	}
	if _, err := db.MarkRead(ctx, "bob", id); err != inbox.ErrNotFound {
		t.Fatalf("bob marks alice's read: %v", err)
	}
	if _, err := db.MarkRead(ctx, "alice", "not-a-uuid"); err != inbox.ErrNotFound {
		t.Fatalf("bad id: %v", err)
	}
	r := must[inbox.Notification](t)(db.MarkRead(ctx, "alice", id))
	if r.ReadAt == nil {
		t.Fatal("not read")
	}
	if p := must[app.InboxPage](t)(db.Inbox(ctx, "alice", app.Page{Page: 1, Size: 10})); p.Unread != 0 {
		t.Fatalf("unread = %d", p.Unread)
	}
	if p := must[app.InboxPage](t)(db.Inbox(ctx, "bob", app.Page{Page: 1, Size: 10})); p.Total != 0 || len(p.Items) != 0 {
		t.Fatalf("bob's inbox = %+v", p)
	}
}

func TestPreferencesBeforeRegistrationSurvive(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	if p := must[inbox.Preferences](t)(db.Preferences(ctx, "u")); p != inbox.DefaultPreferences {
		t.Fatalf("defaults = %+v", p)
	}
	check(t, db.SetPreferences(ctx, "u", inbox.Preferences{NewMovies: false, Email: true}))
	check(t, db.SaveUser(ctx, app.User{ID: "u", Email: "u@example.test", Name: "U"}))
	if p := must[inbox.Preferences](t)(db.Preferences(ctx, "u")); p != (inbox.Preferences{NewMovies: false, Email: true}) {
		t.Fatalf("after registration = %+v", p)
	}
	check(t, db.DisableEmail(ctx, "u"))
	if p := must[inbox.Preferences](t)(db.Preferences(ctx, "u")); p != (inbox.Preferences{NewMovies: false, Email: false}) {
		t.Fatalf("after unsubscribe = %+v", p)
	}
}

func TestEmailJobsLeaseAndRetry(t *testing.T) {
	ctx := context.Background()
	db, dsn := newDB(t)
	check(t, db.SaveUser(ctx, app.User{ID: "u", Email: "u@example.test", Name: "U"}))
	check(t, db.SetPreferences(ctx, "u", inbox.Preferences{NewMovies: true, Email: true}))
	must[bool](t)(db.Notify(ctx, "u", inbox.OrderRefunded("o", "Gold", "")))
	claimed := must[[]app.Email](t)(db.ClaimEmails(ctx, 10, time.Hour))
	if len(claimed) != 1 || claimed[0].To != "u@example.test" || !claimed[0].Enabled || claimed[0].Attempts != 1 {
		t.Fatalf("claimed = %+v", claimed)
	}
	if again := must[[]app.Email](t)(db.ClaimEmails(ctx, 10, time.Hour)); len(again) != 0 {
		t.Fatalf("a leased email was claimed again: %+v", again)
	}
	check(t, db.EmailRetry(ctx, claimed[0].JobID, time.Now().Add(-time.Second), "smtp down"))
	retry := must[[]app.Email](t)(db.ClaimEmails(ctx, 10, time.Hour))
	if len(retry) != 1 || retry[0].Attempts != 2 {
		t.Fatalf("retry = %+v", retry)
	}
	check(t, db.EmailDone(ctx, retry[0].JobID, app.EmailSent))
	check(t, db.EmailRetry(ctx, retry[0].JobID, time.Now().Add(-time.Second), "late"))
	if n := count(t, dsn, `SELECT count(*) FROM jobs WHERE kind = 'email' AND done_at IS NULL`); n != 0 {
		t.Fatalf("a sent email became due again")
	}
}
