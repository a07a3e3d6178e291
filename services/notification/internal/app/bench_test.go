package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/mail"
	"tenflix/services/notification/internal/mail/mailpittest"
	"tenflix/services/notification/internal/postgres"
	"tenflix/services/notification/internal/token"
	"tenflix/services/notification/migrations"
)

// BenchmarkFanOutAndEmails: the service's own part of announcing a movie to
// 1,000 users who all want email, on the machine's PostgreSQL and a real
// mailpit: from the READY video's event to every inbox row, and the emails
// per second (one SMTP session each, one worker). The stack's benchmark
// (tools/e2e) adds the outbox and Kafka hops.
func BenchmarkFanOutAndEmails(b *testing.B) {
	const users = 1000
	ctx := context.Background()
	mp := mailpittest.Start(b)
	signer, _ := token.NewSigner("bench-signing-key-0123456")
	sender, _ := mail.NewSender(mail.Config{Host: mp.SMTPHost, Port: mp.SMTPPort, Username: "u", Password: "p",
		From: "Tenflix <noreply@tenflix.local>"}, "http://127.0.0.1:8080", signer)
	for i := range b.N {
		dsn := pgtest.NewDatabase(b, "notification_bench")
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Migrate(ctx, migrations.FS); err != nil {
			b.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO recipients (user_id, email, email_enabled)
			SELECT 'u' || lpad(g::text, 5, '0'), 'u' || g || '@example.test', true FROM generate_series(1, $1) g`, users); err != nil {
			b.Fatal(err)
		}
		a := app.New(db, sender, app.Options{Idle: 5 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		wctx, stop := context.WithCancel(ctx)
		go a.RunWorkers(wctx)
		movie := fmt.Sprint("m", i)
		if _, err := a.ApplyMovie(ctx, app.Movie{ID: movie, Version: 1, Name: "Bench", Notify: true}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := a.ApplyVideo(ctx, app.Video{ID: "v" + movie, MovieID: movie, Version: 1, Status: "READY"}); err != nil {
			b.Fatal(err)
		}
		handled := time.Since(start)
		scalar := func(q string) int {
			var n int
			if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
				b.Fatal(err)
			}
			return n
		}
		for scalar(`SELECT count(*) FROM notifications`) < users {
			time.Sleep(2 * time.Millisecond)
		}
		inboxes := time.Since(start)
		for scalar(`SELECT count(*) FROM jobs WHERE outcome = 'sent'`) < users {
			time.Sleep(10 * time.Millisecond)
		}
		emails := time.Since(start)
		stop()
		b.ReportMetric(handled.Seconds()*1000, "ms-event-handled")
		b.ReportMetric(inboxes.Seconds()*1000, "ms-to-1000-inboxes")
		b.ReportMetric(float64(users)/emails.Seconds(), "emails/s")
		b.Logf("event handled (fan-out queued) in %s; 1,000 inboxes in %s; 1,000 emails in %s (%.0f/s)",
			handled.Round(time.Millisecond), inboxes.Round(time.Millisecond), emails.Round(time.Millisecond), float64(users)/emails.Seconds())
		conn.Close(ctx)
		db.Close()
	}
}
