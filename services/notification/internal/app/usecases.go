package app

import (
	"context"
	"fmt"
	"time"

	"tenflix/services/notification/internal/inbox"
)

// RecordUser keeps a recipient (identity's user.registered event); a
// redelivery rewrites the same row.
func (a *App) RecordUser(ctx context.Context, u User) error {
	return a.store.SaveUser(ctx, u)
}

// ApplyMovie records a movie change; when it makes the movie announceable
// its fan-out is queued (not done here: the event is acknowledged at once).
func (a *App) ApplyMovie(ctx context.Context, m Movie) (bool, error) {
	announced, err := a.store.ApplyMovie(ctx, m)
	if err != nil {
		return false, fmt.Errorf("apply movie %s: %w", m.ID, err)
	}
	if announced {
		a.kick()
	}
	return announced, nil
}

// ApplyVideo records a video change; its movie's first READY video may
// announce it.
func (a *App) ApplyVideo(ctx context.Context, v Video) (bool, error) {
	announced, err := a.store.ApplyVideo(ctx, v)
	if err != nil {
		return false, fmt.Errorf("apply video %s: %w", v.ID, err)
	}
	if announced {
		a.kick()
	}
	return announced, nil
}

// NotifyUser puts an order outcome in its user's inbox (once).
func (a *App) NotifyUser(ctx context.Context, userID string, n inbox.Notice) (bool, error) {
	created, err := a.store.Notify(ctx, userID, n)
	if err != nil {
		return false, fmt.Errorf("notify %s of %s: %w", userID, n.EventKey, err)
	}
	if created {
		a.kick()
	}
	return created, nil
}

// Inbox is a page of the user's notifications, newest first.
func (a *App) Inbox(ctx context.Context, userID string, p Page) (InboxPage, error) {
	return a.store.Inbox(ctx, userID, p)
}

// Notification is one of the user's own notifications (inbox.ErrNotFound
// for anyone else's).
func (a *App) Notification(ctx context.Context, userID, id string) (inbox.Notification, error) {
	return a.store.Notification(ctx, userID, id)
}

// MarkRead marks one of the user's notifications read (idempotent).
func (a *App) MarkRead(ctx context.Context, userID, id string) (inbox.Notification, error) {
	return a.store.MarkRead(ctx, userID, id)
}

// Preferences are the user's, or the defaults.
func (a *App) Preferences(ctx context.Context, userID string) (inbox.Preferences, error) {
	return a.store.Preferences(ctx, userID)
}

// SetPreferences stores the user's choices, also before identity's event
// about them has arrived.
func (a *App) SetPreferences(ctx context.Context, userID string, p inbox.Preferences) error {
	return a.store.SetPreferences(ctx, userID, p)
}

// Unsubscribe turns the user's email off (the link in every email).
func (a *App) Unsubscribe(ctx context.Context, userID string) error {
	return a.store.DisableEmail(ctx, userID)
}

// StreamStart is where a new stream of the user's begins: after their
// newest notification.
func (a *App) StreamStart(ctx context.Context, userID string) (time.Time, string, error) {
	return a.store.Newest(ctx, userID)
}

// Missed are the user's notifications after a stream position, oldest first.
func (a *App) Missed(ctx context.Context, userID string, at time.Time, id string, limit int) ([]inbox.Notification, error) {
	return a.store.After(ctx, userID, at, id, limit)
}
