// Package webhook POSTs Midtrans' HTTP notifications to the merchant.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// Timeout is Midtrans' notification timeout ("The HTTP timeout is configured
// for 15 seconds").
const Timeout = 15 * time.Second

// Sender sends notifications as Midtrans does: a POST of the JSON with
// Content-Type and Accept application/json; a 307/308 is followed with the
// same body (at most five times), a 301/302/303 is not ("not supported").
type Sender struct {
	client *http.Client
}

// New returns a Sender; client nil means a plain client with Midtrans' timeout.
func New(client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{Timeout: Timeout}
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 5 {
			return errors.New("more than 5 redirects")
		}
		switch req.Response.StatusCode {
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return nil
		}
		return http.ErrUseLastResponse
	}
	return &Sender{client: &c}
}

// Send POSTs body to url and returns the HTTP status of the answer.
func (s *Sender) Send(ctx context.Context, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "midtrans-emulator")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
