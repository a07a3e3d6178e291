package httpapi

import (
	"time"

	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
)

// notificationView is an inbox item as clients see it; movieId or orderId
// is set, by type.
type notificationView struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	MovieID   string `json:"movieId,omitempty"`
	OrderID   string `json:"orderId,omitempty"`
	CreatedAt string `json:"createdAt"`
	Read      bool   `json:"read"`
}

func viewOf(n inbox.Notification) notificationView {
	return notificationView{
		ID: n.ID, Type: string(n.Type), Title: n.Title, Body: n.Body, MovieID: n.MovieID, OrderID: n.OrderID,
		CreatedAt: n.CreatedAt.UTC().Format(time.RFC3339Nano), Read: n.ReadAt != nil,
	}
}

// inboxView is a page of the inbox: the list envelope of every service, and
// how many are unread in all.
type inboxView struct {
	Items  []notificationView `json:"items"`
	Page   int                `json:"page"`
	Size   int                `json:"size"`
	Total  int                `json:"total"`
	Unread int                `json:"unread"`
}

func inboxViewOf(p app.InboxPage, page app.Page) inboxView {
	v := inboxView{Items: make([]notificationView, 0, len(p.Items)), Page: page.Page, Size: page.Size,
		Total: p.Total, Unread: p.Unread}
	for _, n := range p.Items {
		v.Items = append(v.Items, viewOf(n))
	}
	return v
}

// preferencesView is both the answer and the PUT body; on PUT both fields
// are required (it replaces).
type preferencesView struct {
	NewMovies *bool `json:"newMovies"`
	Email     *bool `json:"email"`
}

func preferencesViewOf(p inbox.Preferences) preferencesView {
	return preferencesView{NewMovies: &p.NewMovies, Email: &p.Email}
}

// ticketView is a stream ticket: GET <Prefix>/stream?ticket=<ticket>.
type ticketView struct {
	Ticket    string `json:"ticket"`
	ExpiresAt string `json:"expiresAt"`
}
