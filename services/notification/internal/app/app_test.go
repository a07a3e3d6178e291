package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
	"tenflix/services/notification/internal/mail"
	"tenflix/services/notification/internal/mail/mailpittest"
	"tenflix/services/notification/internal/postgres"
	"tenflix/services/notification/internal/token"
	"tenflix/services/notification/migrations"
)

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// An SMTP server that is down delays the emails, never the inbox; once it is
// back every email is sent once.
func TestEmailsRetryWithBackoffAndNeverBlockTheInbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn := pgtest.NewDatabase(t, "notification_app")
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	const users = 30
	for i := range users {
		id := fmt.Sprintf("u%02d", i)
		if err := db.SaveUser(ctx, app.User{ID: id, Email: id + "@example.test"}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := db.SetPreferences(ctx, id, inbox.Preferences{NewMovies: true, Email: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	signer, _ := token.NewSigner("app-test-signing-key-0123")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	down, _ := mail.NewSender(mail.Config{Host: "127.0.0.1", Port: closedPort(t), From: "t@tenflix.local"}, "http://x", signer)
	opt := app.Options{FanOutBatch: 7, Idle: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, Log: log}
	a := app.New(db, down, opt)
	if _, err := a.ApplyMovie(ctx, app.Movie{ID: "m", Version: 1, Name: "Dune", Notify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyVideo(ctx, app.Video{ID: "v", MovieID: "m", Version: 1, Status: "READY"}); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.RunWorkers(wctx); close(done) }()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	scalar := func(q string) int {
		var n int
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for scalar(`SELECT count(*) FROM jobs WHERE kind = 'email' AND attempts >= 2`) < users/3 {
		if time.Now().After(deadline) {
			t.Fatal("emails were not retried")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := scalar(`SELECT count(*) FROM notifications`); n != users {
		t.Fatalf("inbox rows while SMTP is down = %d, want %d", n, users)
	}
	stop()
	<-done

	mp := mailpittest.Start(t)
	up, _ := mail.NewSender(mail.Config{Host: mp.SMTPHost, Port: mp.SMTPPort, From: "t@tenflix.local"}, "http://x", signer)
	a = app.New(db, up, opt)
	go a.RunWorkers(ctx)
	for deadline = time.Now().Add(15 * time.Second); scalar(`SELECT count(*) FROM jobs WHERE outcome = 'sent'`) < users/3; {
		if time.Now().After(deadline) {
			t.Fatal("emails not sent once SMTP was back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(mp.Messages(t, "subject:Dune")); got != users/3 {
		t.Fatalf("mailpit has %d messages, want %d", got, users/3)
	}
}

// A worker whose lease ran short (a slow batch) sends nothing more: the
// rest is handed back at once, for whoever claims it next.
func TestAWorkerNeverSendsPastItsLease(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, "notification_app")
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveUser(ctx, app.User{ID: "u", Email: "u@example.test"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPreferences(ctx, "u", inbox.Preferences{NewMovies: true, Email: true}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"o1", "o2"} {
		if _, err := db.Notify(ctx, "u", inbox.OrderRefunded(o, "Gold", "")); err != nil {
			t.Fatal(err)
		}
	}
	mp := mailpittest.Start(t)
	signer, _ := token.NewSigner("app-test-signing-key-0123")
	sender, _ := mail.NewSender(mail.Config{Host: mp.SMTPHost, Port: mp.SMTPPort, From: "t@tenflix.local"}, "http://x", signer)
	base := time.Now()
	calls := 0
	clock := func() time.Time { // the claim at base, everything after it an hour later
		calls++
		if calls == 1 {
			return base
		}
		return base.Add(time.Hour)
	}
	a := app.New(db, sender, app.Options{EmailLease: time.Minute, Now: clock, Idle: 10 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	wctx, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	a.RunWorkers(wctx)
	if n := len(mp.Messages(t, "to:u@example.test")); n != 0 {
		t.Fatalf("%d emails sent past the lease", n)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var due int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE kind = 'email' AND done_at IS NULL AND run_at <= now() + interval '1 hour 1 minute'`).Scan(&due); err != nil || due != 2 {
		t.Fatalf("handed back: %d, %v", due, err)
	}
}
