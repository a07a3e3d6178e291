package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
)

type handlers struct {
	d   Deps
	log *slog.Logger
}

// fail maps the service's errors to the envelope, in one table.
func fail(c *gin.Context, err error) {
	if errors.Is(err, inbox.ErrNotFound) {
		err = apierror.New(apierror.NotFound, "notification not found")
	}
	httpserver.Fail(c, err)
}

// caller is the authenticated user (authn.Authenticate ran).
func caller(c *gin.Context) string {
	claims, _ := authn.CallerFrom(c)
	return claims.Subject
}

func page(c *gin.Context) (app.Page, bool) {
	p := app.Page{Page: 1, Size: 20}
	for _, q := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"page", &p.Page, 1, 1_000_000}, {"size", &p.Size, 1, 100}} {
		s := c.Query(q.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < q.min || n > q.max {
			httpserver.Fail(c, apierror.New(apierror.Invalid, "%s must be an integer from %d to %d", q.name, q.min, q.max))
			return p, false
		}
		*q.dst = n
	}
	return p, true
}

func (h *handlers) list(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	in, err := h.d.App.Inbox(c, caller(c), p)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, inboxViewOf(in, p))
}

func (h *handlers) markRead(c *gin.Context) {
	n, err := h.d.App.MarkRead(c, caller(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewOf(n))
}

func (h *handlers) getPreferences(c *gin.Context) {
	p, err := h.d.App.Preferences(c, caller(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, preferencesViewOf(p))
}

func (h *handlers) putPreferences(c *gin.Context) {
	var body preferencesView
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	if body.NewMovies == nil || body.Email == nil {
		httpserver.Fail(c, apierror.New(apierror.Invalid, "newMovies and email are required (true or false)"))
		return
	}
	p := inbox.Preferences{NewMovies: *body.NewMovies, Email: *body.Email}
	if err := h.d.App.SetPreferences(c, caller(c), p); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, preferencesViewOf(p))
}

// streamTicket gives the caller a short-lived ticket for the stream's URL,
// so that the access token itself never appears in a URL (or a log).
func (h *handlers) streamTicket(c *gin.Context) {
	exp := h.d.Now().Add(h.d.TicketTTL).Truncate(time.Second)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, ticketView{
		Ticket: h.d.Tokens.StreamTicket(caller(c), exp), ExpiresAt: exp.UTC().Format(time.RFC3339),
	})
}

// unsubscribe is the target of the link in every email: it turns the
// user's email off and says so on a small page.
func (h *handlers) unsubscribe(c *gin.Context) {
	userID, err := h.d.Tokens.VerifyUnsubscribe(c.Query("token"))
	if err != nil {
		httpserver.Fail(c, apierror.New(apierror.Invalid, "this unsubscribe link is not valid"))
		return
	}
	if err := h.d.App.Unsubscribe(c, userID); err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body style="font-family:sans-serif"><h1>Email notifications are off</h1>
<p>You will not receive Tenflix notifications by email any more. Your inbox on Tenflix still
shows them; you can turn email back on in your notification preferences.</p></body></html>
`))
}
