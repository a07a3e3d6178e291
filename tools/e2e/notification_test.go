package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifyTimeout: two outbox hops (the movie, then its video: >= 1 s each),
// a fan-out job and an email attempt (its retry, when identity's event about
// the user came after, waits 5 s).
const notifyTimeout = 45 * time.Second

// TestNewMovieReachesOptedInUsersOnce: a flagged movie is announced only once
// it has a READY video (one added by URL is READY at once), to every user
// who opted in, once: in the inbox, live on the stream (through the gateway
// and both sidecars, authenticated by a ticket as EventSource does), and by
// email (mailpit's API) for those with email on. Redelivered events change
// nothing; a user reads only their own notifications.
func TestNewMovieReachesOptedInUsersOnce(t *testing.T) {
	mailer, quiet, optedOut := newViewer(t), newViewer(t), newViewer(t)
	setPreferences(t, mailer, true, true)
	setPreferences(t, optedOut, false, true)
	// quiet keeps the defaults: inbox yes, email no.
	stream := openStream(t, mailer)

	name := "Announced <i>" + randomHex(3) + "</i>"
	m := flaggedMovie(t, name)
	time.Sleep(5 * time.Second) // the movie's event is in, and no video is READY
	if n := about(t, mailer, "new_movie", m.ID); n != 0 {
		t.Fatalf("announced without a READY video: %d", n)
	}

	v := addURLVideo(t, m.ID)
	took := eventually(t, notifyTimeout, "the new movie in the inboxes and on the stream", func() bool {
		return about(t, mailer, "new_movie", m.ID) == 1 && about(t, quiet, "new_movie", m.ID) == 1 && stream.seen("new_movie", m.ID) == 1
	})
	t.Logf("video added -> inbox and stream: %s", took.Round(10*time.Millisecond))
	eventually(t, notifyTimeout, "one email to the user with email on", func() bool {
		return mailsTo(t, mailer.Email, "Announced") == 1
	})

	// Redelivery, as Kafka would: the video's and the movie's events again.
	publishRaw(t, "catalog", map[string]any{
		"specversion": "1.0", "id": "redelivery-v-" + v.ID, "source": "movie-command",
		"type": "tenflix.catalog.video.created.v1", "datacontenttype": "application/json",
		"data": map[string]any{"id": v.ID, "movieId": m.ID, "title": "Feature", "status": "READY", "version": "1"},
	})
	publishRaw(t, "catalog", map[string]any{
		"specversion": "1.0", "id": "redelivery-m-" + m.ID, "source": "movie-command",
		"type": "tenflix.catalog.movie.updated.v1", "datacontenttype": "application/json",
		"data": map[string]any{"id": m.ID, "name": name, "notify": true, "version": "9"},
	})
	// And a change that keeps it flagged and playable: a second READY video.
	addURLVideo(t, m.ID)
	time.Sleep(8 * time.Second)
	for who, v := range map[string]viewer{"mailer": mailer, "quiet": quiet} {
		if n := about(t, v, "new_movie", m.ID); n != 1 {
			t.Errorf("%s has %d notifications of the movie, want 1", who, n)
		}
	}
	if n := stream.seen("new_movie", m.ID); n != 1 {
		t.Errorf("the stream carried the movie %d times, want 1", n)
	}
	if n := mailsTo(t, mailer.Email, "Announced"); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
	if n := about(t, optedOut, "new_movie", m.ID); n != 0 || mailsTo(t, optedOut.Email, "Announced") != 0 {
		t.Errorf("the user who opted out was notified (%d)", n)
	}
	if n := mailsTo(t, quiet.Email, "Announced"); n != 0 {
		t.Errorf("the user without email got %d emails", n)
	}
	if err := stream.ended(); err != nil {
		t.Errorf("stream: %v", err)
	}

	// Own notifications only.
	mine := inbox(t, mailer)[0]
	if r := quiet.do(t, http.MethodPost, "/api/v1/notifications/"+mine.ID+"/read", nil); r.Status != http.StatusNotFound {
		t.Errorf("another user marks it read: %d %s", r.Status, r.Body)
	}
	r := mailer.do(t, http.MethodPost, "/api/v1/notifications/"+mine.ID+"/read", nil)
	mustStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"read":true`) {
		t.Errorf("read: %s", r.Body)
	}
}

// TestSagaOutcomesReachTheBuyersInbox: buying a plan (the saga, through the
// Midtrans emulator) tells the buyer "subscription active"; a cancelled
// payment tells them so. Nobody else hears of it.
func TestSagaOutcomesReachTheBuyersInbox(t *testing.T) {
	buyer, other := newViewer(t), newViewer(t)
	p := createPlan(t, 50000, 0, 30)
	cancelled := placeOrder(t, buyer, p.ID)
	pay(t, cancelled.Order.ID, "pending", "", "gopay") // only a transaction with a payment type can be cancelled
	pay(t, cancelled.Order.ID, "cancel", "", "gopay")
	waitStatus(t, buyer, cancelled.Order.ID, "CANCELLED")
	eventually(t, notifyTimeout, "payment cancelled in the inbox", func() bool {
		return about(t, buyer, "payment_cancelled", cancelled.Order.ID) == 1
	})

	o := placeOrder(t, buyer, p.ID)
	pay(t, o.Order.ID, "settlement", "accept", "bank_transfer")
	waitStatus(t, buyer, o.Order.ID, "COMPLETED")
	eventually(t, notifyTimeout, "subscription active in the inbox", func() bool {
		return about(t, buyer, "subscription_active", o.Order.ID) == 1
	})
	if n := len(inbox(t, other)); n != 0 {
		t.Errorf("another user's inbox has %d items", n)
	}
}

// TestFanOutKilledMidwayNotifiesEachUserOnce: the notification app is killed
// (SIGKILL) while a movie's fan-out to thousands of users is half done;
// devstack restarts it, the fan-out resumes, and every user ends with
// exactly one notification (and one email for those with email on).
func TestFanOutKilledMidwayNotifiesEachUserOnce(t *testing.T) {
	const load = 6000 // recipients inserted directly: identity's argon2id would take minutes
	prefix := "kill-" + randomHex(3) + "-"
	notificationSQL(t, `INSERT INTO recipients (user_id, email, name, new_movies, email_enabled)
		SELECT '`+prefix+`' || lpad(g::text, 5, '0'), '`+prefix+`' || g || '@example.test', 'Load ' || g, true, g <= 20
		FROM generate_series(1, `+strconv.Itoa(load)+`) g`)

	m := flaggedMovie(t, "Killed midway "+randomHex(3))
	addURLVideo(t, m.ID)
	key := "movie:" + m.ID
	countRows := func() int {
		n, _ := strconv.Atoi(notificationSQL(t, `SELECT count(*) FROM notifications WHERE event_key = '`+key+`'`))
		return n
	}
	var atKill int
	eventually(t, notifyTimeout, "the fan-out under way", func() bool {
		atKill = countRows()
		return atKill > 0
	})
	pidFile := filepath.Join(stack.root, ".data", "pids", "notification.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed notification (pid %d) with %d inbox rows of the movie written (%d users)", pid, atKill, load)
	if atKill >= load {
		t.Logf("the fan-out had finished before the kill: the restart path is still checked below")
	}
	eventually(t, 2*time.Minute, "the fan-out job finished after the restart", func() bool {
		return notificationSQL(t, `SELECT done_at IS NOT NULL FROM jobs WHERE key = 'fanout:`+key+`'`) == "t"
	})
	// Every user of the load exactly once (the unique index makes a second
	// row impossible; the count says none was skipped).
	if n := notificationSQL(t, `SELECT count(DISTINCT user_id) FROM notifications
		WHERE event_key = '`+key+`' AND user_id LIKE '`+prefix+`%'`); n != strconv.Itoa(load) {
		t.Fatalf("%s of %d users notified", n, load)
	}
	t.Logf("after the restart: %d inbox rows of the movie in all", countRows())
	// A killed worker's claimed emails wait for their lease (EMAIL_LEASE,
	// 20 s in dapr/dapr.yaml).
	eventually(t, 2*time.Minute, "the 20 emails", func() bool {
		return notificationSQL(t, `SELECT count(*) FROM jobs j JOIN notifications n ON n.id = (j.payload->>'notificationId')::uuid
			WHERE n.event_key = '`+key+`' AND j.outcome = 'sent' AND n.user_id LIKE '`+prefix+`%'`) == "20"
	})
	for _, i := range []int{1, 10, 20} {
		addr := prefix + strconv.Itoa(i) + "@example.test"
		if n := mailsTo(t, addr, "Killed midway"); n != 1 {
			t.Errorf("%s got %d emails, want 1", addr, n)
		}
	}
	// Leave the other tests' fan-outs small.
	notificationSQL(t, `UPDATE recipients SET new_movies = false WHERE user_id LIKE '`+prefix+`%'`)
}

// TestUploadedVideoAnnouncesItsMovieWhenReady: a flagged movie whose only
// video is uploaded is not announced while the video is UPLOADED or
// TRANSCODING (media's progress updates are catalog events too), and is
// announced once, when media marks it READY.
func TestUploadedVideoAnnouncesItsMovieWhenReady(t *testing.T) {
	viewer := newViewer(t)
	m := flaggedMovie(t, "Uploaded "+randomHex(3))
	r := upload(t, stack.adminToken, m.ID, testVideo(t, 320, 240, 4), "Feature")
	mustStatus(t, r, http.StatusAccepted)
	var accepted struct{ ID, Status string }
	r.json(t, &accepted)
	for {
		v := commandSideVideo(t, accepted.ID)
		if v.Status == "READY" {
			break
		}
		if v.Status == "FAILED" {
			t.Fatalf("video FAILED: %s", v.FailureReason)
		}
		if n := about(t, viewer, "new_movie", m.ID); n != 0 {
			t.Fatalf("announced while the video is %s", v.Status)
		}
		time.Sleep(300 * time.Millisecond)
	}
	eventually(t, notifyTimeout, "the movie announced once READY", func() bool {
		return about(t, viewer, "new_movie", m.ID) == 1
	})
	time.Sleep(3 * time.Second)
	if n := about(t, viewer, "new_movie", m.ID); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
}
