// Package mail writes and sends notification emails over SMTP (net/smtp):
// multipart/alternative with a plain-text and an HTML part, both from
// templates (html/template escapes what a movie name or a reason holds),
// and an unsubscribe link that turns email off.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tenflix/services/notification/internal/app"
)

// Config is the SMTP server and the sender (from the secret store).
type Config struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	From     string // "Tenflix <noreply@tenflix.local>"
}

// Unsubscriber signs the token of a user's unsubscribe link.
type Unsubscriber interface {
	UnsubscribeToken(userID string) string
}

// Sender sends one email per notification (app.Mailer).
type Sender struct {
	cfg       Config
	from      *mail.Address
	publicURL string // the gateway's address as users reach it
	unsub     Unsubscriber
}

// NewSender checks the configuration.
func NewSender(cfg Config, publicURL string, unsub Unsubscriber) (*Sender, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", cfg.From, err)
	}
	if cfg.Host == "" || cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp server %s:%d: host and port are required", cfg.Host, cfg.Port)
	}
	if _, err := url.Parse(publicURL); err != nil || publicURL == "" {
		return nil, fmt.Errorf("public url %q: not a URL", publicURL)
	}
	return &Sender{cfg: cfg, from: from, publicURL: strings.TrimRight(publicURL, "/"), unsub: unsub}, nil
}

// Send writes e and hands it to the SMTP server. An address that can never
// be delivered to wraps app.ErrUndeliverable.
func (s *Sender) Send(ctx context.Context, e app.Email) error {
	to, err := mail.ParseAddress(e.To)
	if err != nil {
		return fmt.Errorf("%w: recipient %q: %v", app.ErrUndeliverable, e.To, err)
	}
	to.Name = e.Name
	msg, err := s.message(to, e)
	if err != nil {
		return err
	}
	return s.deliver(ctx, to.Address, msg)
}

// UnsubscribeURL is the link in userID's emails.
func (s *Sender) UnsubscribeURL(userID string) string {
	return s.publicURL + "/api/v1/notifications/unsubscribe?token=" + url.QueryEscape(s.unsub.UnsubscribeToken(userID))
}

func (s *Sender) message(to *mail.Address, e app.Email) ([]byte, error) {
	n := e.Notification
	view := emailView{
		Name: e.Name, Title: n.Title, Body: n.Body,
		Link:        s.publicURL + "/",
		Unsubscribe: s.UnsubscribeURL(n.UserID),
	}
	var text, html bytes.Buffer
	if err := textTemplate.Execute(&text, view); err != nil {
		return nil, fmt.Errorf("text template: %w", err)
	}
	if err := htmlTemplate.Execute(&html, view); err != nil {
		return nil, fmt.Errorf("html template: %w", err)
	}
	boundary := randomHex(16)
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", s.from.String())
	header("To", to.String())
	// No CR or LF from stored text may reach a header (injection).
	header("Subject", mime.QEncoding.Encode("utf-8", strings.Join(strings.Fields(n.Title), " ")))
	header("Date", time.Now().UTC().Format(time.RFC1123Z))
	// The notification's id: a resend after a crash is recognisably the same.
	header("Message-ID", "<"+n.ID+"@"+domainOf(s.from.Address)+">")
	header("List-Unsubscribe", "<"+view.Unsubscribe+">")
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct {
		typ  string
		body []byte
	}{{"text/plain", text.Bytes()}, {"text/html", html.Bytes()}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.typ)
		qp := quotedprintable.NewWriter(&b)
		if _, err := qp.Write(part.body); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// deliver runs one SMTP session, bounded by ctx: STARTTLS when offered,
// AUTH PLAIN when a username is configured (net/smtp sends it only over TLS
// or to localhost).
func (s *Sender) deliver(ctx context.Context, to string, msg []byte) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("tenflix-notification"); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		var te *textprotoError
		if errors.As(err, &te) && te.Code >= 500 {
			return fmt.Errorf("%w: smtp rcpt: %v", app.ErrUndeliverable, err)
		}
		return fmt.Errorf("smtp rcpt: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "tenflix.local"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
