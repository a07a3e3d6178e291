package mail_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/inbox"
	"tenflix/services/notification/internal/mail"
	"tenflix/services/notification/internal/mail/mailpittest"
	"tenflix/services/notification/internal/token"
)

func TestSendEscapesAndLinksUnsubscribe(t *testing.T) {
	mp := mailpittest.Start(t)
	signer, _ := token.NewSigner("test-signing-key-0123456789")
	s, err := mail.NewSender(mail.Config{Host: mp.SMTPHost, Port: mp.SMTPPort, Username: "tenflix", Password: "secret",
		From: "Tenflix <noreply@tenflix.local>"}, "http://127.0.0.1:8080", signer)
	if err != nil {
		t.Fatal(err)
	}
	n := inbox.MovieAnnounced("m1", "<script>alert(1)</script>\r\nBcc: evil@example.test", "A \"quoted\" & <b>bold</b> synopsis")
	e := app.Email{JobID: 1, Attempts: 1, To: "ann@example.test", Name: "Ann <Admin>", Enabled: true,
		Notification: inbox.Notification{ID: "0190d2a4-0000-7000-8000-000000000001", UserID: "user-ann",
			Type: n.Type, Title: n.Title, Body: n.Body, MovieID: n.MovieID, CreatedAt: time.Now()}}
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	msgs := mp.Messages(t, "to:ann@example.test")
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	if len(mp.Messages(t, "to:evil@example.test")) != 0 {
		t.Fatal("a header was injected through the title")
	}
	full := mp.Message(t, msgs[0].ID)
	if strings.Contains(full.HTML, "<script>") || strings.Contains(full.HTML, "<b>bold") {
		t.Errorf("HTML part not escaped:\n%s", full.HTML)
	}
	if !strings.Contains(full.HTML, "&lt;script&gt;") || !strings.Contains(full.Text, "<script>alert(1)</script>") {
		t.Errorf("parts:\nHTML %s\nText %s", full.HTML, full.Text)
	}
	h := mp.Headers(t, msgs[0].ID)
	unsub := strings.Trim(strings.Join(h["List-Unsubscribe"], ""), "<>")
	u, err := url.Parse(unsub)
	if err != nil || u.Path != "/api/v1/notifications/unsubscribe" {
		t.Fatalf("List-Unsubscribe = %q", unsub)
	}
	if user, err := signer.VerifyUnsubscribe(u.Query().Get("token")); err != nil || user != "user-ann" {
		t.Fatalf("unsubscribe token: %q %v", user, err)
	}
	if !strings.Contains(full.Text, unsub) || !strings.Contains(full.HTML, "unsubscribe?token=") {
		t.Error("the unsubscribe link is not in both parts")
	}
	if ct := strings.Join(h["Content-Type"], ""); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q", ct)
	}

	bad := e
	bad.To = "not an address"
	if err := s.Send(context.Background(), bad); !errors.Is(err, app.ErrUndeliverable) {
		t.Errorf("bad address: %v", err)
	}
}
