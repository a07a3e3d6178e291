// Package app is the notification service's use cases: it turns events into
// notices (recipients, catalog, order outcomes), serves a user's inbox and
// preferences, and runs the workers that fan a movie out to everyone and
// send the emails. It declares what it needs from the store and the mailer.
package app

import (
	"context"
	"log/slog"
	"time"

	"tenflix/services/notification/internal/inbox"
)

// Movie is what a catalog movie event says that matters here.
type Movie struct {
	ID       string
	Version  int64
	Name     string
	Synopsis string
	Notify   bool
	Deleted  bool
}

// Video is what a catalog video event says that matters here.
type Video struct {
	ID      string
	MovieID string
	Version int64
	Status  string // catalogv1.Video* (upper case)
	Deleted bool
}

// User is a recipient as identity announced it.
type User struct {
	ID           string
	Email        string
	Name         string
	RegisteredAt time.Time
}

// Page asks for one page of a list (1-based).
type Page struct{ Page, Size int }

// InboxPage is one page of a user's inbox, newest first.
type InboxPage struct {
	Items  []inbox.Notification
	Total  int
	Unread int
}

// Email is a claimed email job with what it needs to be written.
type Email struct {
	JobID        int64
	Attempts     int // including this one
	Notification inbox.Notification
	To           string // empty: identity's event has not arrived yet
	Name         string
	Enabled      bool // the user's email preference now
}

// FanOut reports one fan-out batch.
type FanOut struct {
	JobID    int64
	EventKey string
	Users    int  // users of the batch
	Inserted int  // new inbox rows (the others existed: a re-run)
	Done     bool // the job is finished
}

// Store is the service's database. Each method is one transaction; the
// uniqueness of (user, event) and of job keys is enforced there.
type Store interface {
	SaveUser(ctx context.Context, u User) error
	Preferences(ctx context.Context, userID string) (inbox.Preferences, error)
	SetPreferences(ctx context.Context, userID string, p inbox.Preferences) error
	DisableEmail(ctx context.Context, userID string) error

	// ApplyMovie and ApplyVideo store the change when it is newer than what
	// is held and, when the movie has just become flagged and playable,
	// record its announcement and its fan-out job, in the same transaction.
	ApplyMovie(ctx context.Context, m Movie) (announced bool, err error)
	ApplyVideo(ctx context.Context, v Video) (announced bool, err error)

	// Notify puts n in one user's inbox (and an email job when they want
	// email) unless it is there already.
	Notify(ctx context.Context, userID string, n inbox.Notice) (created bool, err error)
	Inbox(ctx context.Context, userID string, p Page) (InboxPage, error)
	Notification(ctx context.Context, userID, id string) (inbox.Notification, error)
	MarkRead(ctx context.Context, userID, id string) (inbox.Notification, error)
	// Newest and After position a stream: the newest notification (or the
	// clock), and what came after a position.
	Newest(ctx context.Context, userID string) (at time.Time, id string, err error)
	After(ctx context.Context, userID string, at time.Time, id string, limit int) ([]inbox.Notification, error)

	// FanOutBatch runs one batch of the oldest due fan-out job that no other
	// worker holds; ok is false when there is none.
	FanOutBatch(ctx context.Context, size int) (f FanOut, ok bool, err error)
	ClaimEmails(ctx context.Context, n int, lease time.Duration) ([]Email, error)
	EmailDone(ctx context.Context, jobID int64, outcome string) error
	EmailRetry(ctx context.Context, jobID int64, at time.Time, reason string) error
}

// Mailer sends one notification email.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// Options tune the workers; zero values take the defaults.
type Options struct {
	FanOutBatch int           // users per fan-out transaction (500)
	EmailBatch  int           // emails claimed at once (20)
	EmailLease  time.Duration // a claimed email is retried after this if its worker died (2 min)
	MaxAttempts int           // an email is given up after this many tries (8)
	RetryBase   time.Duration // first backoff (5 s), doubled per attempt
	RetryMax    time.Duration // backoff ceiling (30 min)
	Idle        time.Duration // a worker with nothing to do looks again after this (1 s)
	Log         *slog.Logger
	Now         func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.FanOutBatch, 500)
	def(&o.EmailBatch, 20)
	def(&o.MaxAttempts, 8)
	defDur(&o.EmailLease, 2*time.Minute)
	defDur(&o.RetryBase, 5*time.Second)
	defDur(&o.RetryMax, 30*time.Minute)
	defDur(&o.Idle, time.Second)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// App holds the use cases.
type App struct {
	store  Store
	mailer Mailer
	opt    Options
	// One wake-up per worker, so that a kick reaches both.
	wakeFanOut, wakeEmail chan struct{}
}

// New wires the use cases; mailer may be nil (no SMTP configured: email
// jobs stay queued).
func New(store Store, mailer Mailer, opt Options) *App {
	return &App{store: store, mailer: mailer, opt: opt.withDefaults(),
		wakeFanOut: make(chan struct{}, 1), wakeEmail: make(chan struct{}, 1)}
}

// kick wakes the workers now rather than at their next look.
func (a *App) kick() {
	for _, c := range []chan struct{}{a.wakeFanOut, a.wakeEmail} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}
