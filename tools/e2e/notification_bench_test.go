package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkNotificationFanOut: time from a flagged movie's video being
// added at the gateway (the movie is playable from then on) until every one
// of 1,000 users has it in the inbox, and the emails per second mailpit
// accepted for them (all 1,000 with email on). The users are inserted into
// notification's database directly (registering them through identity
// would measure argon2id); other users of the stack, if any, are counted
// in "users". Two outbox hops (the video's event, >= 1 s in daprd 1.14)
// are part of the inbox figure.
func BenchmarkNotificationFanOut(b *testing.B) {
	users := 1000
	if s := os.Getenv("NOTIFY_BENCH_USERS"); s != "" {
		users, _ = strconv.Atoi(s)
	}
	for range b.N {
		prefix := "bench-" + randomHex(3) + "-"
		notificationSQL(b, `INSERT INTO recipients (user_id, email, name, new_movies, email_enabled)
			SELECT '`+prefix+`' || lpad(g::text, 6, '0'), '`+prefix+`' || g || '@example.test', 'Bench ' || g, true, true
			FROM generate_series(1, `+strconv.Itoa(users)+`) g`)
		m := flaggedMovie(b, "Bench "+randomHex(3))
		time.Sleep(3 * time.Second) // the movie's own event first: the video is what makes it due
		key := "movie:" + m.ID
		addURLVideo(b, m.ID)
		inboxTime := eventually(b, 5*time.Minute, "fan-out complete", func() bool {
			return notificationSQL(b, `SELECT done_at IS NOT NULL FROM jobs WHERE key = 'fanout:`+key+`'`) == "t"
		})
		want, _ := strconv.Atoi(notificationSQL(b, `SELECT count(*) FROM notifications WHERE event_key = '`+key+`'`))
		if n := notificationSQL(b, `SELECT count(*) FROM notifications WHERE event_key = '`+key+`' AND user_id LIKE '`+prefix+`%'`); n != strconv.Itoa(users) {
			b.Fatalf("%s of %d bench users notified", n, users)
		}
		emailed := func() int {
			n, _ := strconv.Atoi(notificationSQL(b, `SELECT count(*) FROM jobs j JOIN notifications n
				ON n.id = (j.payload->>'notificationId')::uuid WHERE n.event_key = '`+key+`' AND j.outcome = 'sent'`))
			return n
		}
		eventually(b, 10*time.Minute, "emails sent", func() bool { return emailed() >= users })
		span, _ := strconv.ParseFloat(notificationSQL(b, `SELECT extract(epoch FROM max(j.done_at) - min(n.created_at))
			FROM jobs j JOIN notifications n ON n.id = (j.payload->>'notificationId')::uuid
			WHERE n.event_key = '`+key+`' AND j.outcome = 'sent'`), 64)
		fanOut, _ := strconv.ParseFloat(notificationSQL(b, `SELECT extract(epoch FROM max(created_at) - min(created_at))
			FROM notifications WHERE event_key = '`+key+`'`), 64)
		sent := emailed()
		b.ReportMetric(float64(want), "users")
		b.ReportMetric(inboxTime.Seconds(), "s-publish-to-all-inboxes")
		b.ReportMetric(fanOut, "s-first-to-last-inbox-row")
		b.ReportMetric(float64(sent)/span, "emails/s")
		b.Logf("%d users: video added -> every inbox %s (fan-out itself %.2f s); %d emails in %.1f s = %.0f/s",
			want, inboxTime.Round(10*time.Millisecond), fanOut, sent, span, float64(sent)/span)
		notificationSQL(b, `UPDATE recipients SET new_movies = false, email_enabled = false WHERE user_id LIKE '`+prefix+`%'`)
	}
}
