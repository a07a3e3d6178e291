package app

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Email outcomes (jobs.outcome).
const (
	EmailSent    = "sent"
	EmailSkipped = "skipped" // the user turned email off meanwhile
	EmailGaveUp  = "gave-up"
)

// errNoAddress: the user wants email, but identity's event with their
// address has not arrived; retried like a failed send.
var errNoAddress = errors.New("no email address known yet")

// RunWorkers runs the fan-out and email workers until ctx ends. Any number
// of instances may run them: jobs are claimed with SKIP LOCKED.
func (a *App) RunWorkers(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.loop(ctx, "fanout", a.wakeFanOut, a.fanOutOnce) }()
	go func() { defer wg.Done(); a.loop(ctx, "email", a.wakeEmail, a.emailOnce) }()
	wg.Wait()
}

// loop runs once until it has nothing to do, then waits for a kick or Idle.
func (a *App) loop(ctx context.Context, name string, wake <-chan struct{}, once func(context.Context) (bool, error)) {
	for ctx.Err() == nil {
		busy, err := once(ctx)
		if err != nil && ctx.Err() == nil {
			a.opt.Log.ErrorContext(ctx, "worker failed", "worker", name, "err", err)
		}
		if busy && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-time.After(a.opt.Idle):
		}
	}
}

// fanOutOnce runs one batch; busy is true when there was one.
func (a *App) fanOutOnce(ctx context.Context) (bool, error) {
	f, ok, err := a.store.FanOutBatch(ctx, a.opt.FanOutBatch)
	if err != nil || !ok {
		return false, err
	}
	a.opt.Log.InfoContext(ctx, "fan-out batch", "job_id", f.JobID, "event_key", f.EventKey,
		"users", f.Users, "inserted", f.Inserted, "done", f.Done)
	if f.Inserted > 0 {
		a.kick() // emails may have been queued
	}
	return true, nil
}

// emailOnce sends one claimed batch. A failure is retried with backoff and
// never touches the inbox row, which exists already.
func (a *App) emailOnce(ctx context.Context) (bool, error) {
	if a.mailer == nil {
		return false, nil
	}
	claimed := a.opt.Now()
	emails, err := a.store.ClaimEmails(ctx, a.opt.EmailBatch, a.opt.EmailLease)
	if err != nil || len(emails) == 0 {
		return false, err
	}
	for i, e := range emails {
		// Never send after the lease could have ended: another instance may
		// have claimed the email by then. What is left is handed back.
		if a.opt.Now().Sub(claimed) > a.opt.EmailLease-a.sendTimeout() {
			for _, rest := range emails[i:] {
				if err := a.store.EmailRetry(ctx, rest.JobID, a.opt.Now(), "lease ran short"); err != nil {
					return true, err
				}
			}
			return true, nil
		}
		if err := a.sendOne(ctx, e); err != nil {
			return true, err
		}
	}
	return true, nil
}

// sendTimeout bounds one SMTP session: a third of the lease, at most 30 s.
func (a *App) sendTimeout() time.Duration {
	return min(30*time.Second, a.opt.EmailLease/3)
}

func (a *App) sendOne(ctx context.Context, e Email) error {
	log := a.opt.Log.With("job_id", e.JobID, "notification_id", e.Notification.ID, "user_id", e.Notification.UserID)
	if !e.Enabled {
		return a.store.EmailDone(ctx, e.JobID, EmailSkipped)
	}
	var sendErr error
	if e.To == "" {
		sendErr = errNoAddress
	} else {
		sendCtx, cancel := context.WithTimeout(ctx, a.sendTimeout())
		sendErr = a.mailer.Send(sendCtx, e)
		cancel()
	}
	if sendErr == nil {
		log.InfoContext(ctx, "email sent", "attempt", e.Attempts)
		return a.store.EmailDone(ctx, e.JobID, EmailSent)
	}
	if ctx.Err() != nil {
		// Shutting down: hand it back now rather than at the lease's end.
		return a.store.EmailRetry(context.WithoutCancel(ctx), e.JobID, a.opt.Now(), "interrupted by shutdown")
	}
	if e.Attempts >= a.opt.MaxAttempts || errors.Is(sendErr, ErrUndeliverable) {
		log.ErrorContext(ctx, "email given up", "attempt", e.Attempts, "err", sendErr)
		return a.store.EmailDone(ctx, e.JobID, EmailGaveUp)
	}
	at := a.opt.Now().Add(a.backoff(e.Attempts))
	log.WarnContext(ctx, "email failed, will retry", "attempt", e.Attempts, "retry_at", at, "err", sendErr)
	return a.store.EmailRetry(ctx, e.JobID, at, sendErr.Error())
}

// backoff after the attempt-th failure: RetryBase doubled per attempt, capped.
func (a *App) backoff(attempt int) time.Duration {
	d := a.opt.RetryBase
	for i := 1; i < attempt && d < a.opt.RetryMax; i++ {
		d *= 2
	}
	return min(d, a.opt.RetryMax)
}

// ErrUndeliverable marks an email that no retry can deliver (a malformed
// address, a permanent SMTP refusal): it is given up at once.
var ErrUndeliverable = errors.New("undeliverable")
