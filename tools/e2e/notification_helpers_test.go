package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// mailpitAPI is devstack's mailpit (tools/devstack/mailpit.go).
const mailpitAPI = "http://127.0.0.1:8025"

type notificationItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	MovieID   string `json:"movieId"`
	OrderID   string `json:"orderId"`
	CreatedAt string `json:"createdAt"`
	Read      bool   `json:"read"`
}

func inbox(t testing.TB, v viewer) []notificationItem {
	t.Helper()
	r := v.do(t, http.MethodGet, "/api/v1/notifications?size=100", nil)
	mustStatus(t, r, http.StatusOK)
	var page struct {
		Items []notificationItem `json:"items"`
	}
	r.json(t, &page)
	return page.Items
}

// about is how many of v's notifications are of type typ about id (a movie
// or an order).
func about(t testing.TB, v viewer, typ, id string) int {
	n := 0
	for _, it := range inbox(t, v) {
		if it.Type == typ && (it.MovieID == id || it.OrderID == id) {
			n++
		}
	}
	return n
}

func setPreferences(t testing.TB, v viewer, newMovies, email bool) {
	t.Helper()
	mustStatus(t, v.do(t, http.MethodPut, "/api/v1/notifications/preferences",
		map[string]bool{"newMovies": newMovies, "email": email}), http.StatusOK)
}

// liveStream reads GET /api/v1/notifications/stream through the gateway
// as a browser's EventSource does: a ticket in the URL (no Authorization
// header), and when a response ends, a reconnection after the server's
// retry delay with the Last-Event-ID it was given (a new ticket when the
// old one is refused). It records events, comments and reconnections.
type liveStream struct {
	mu        sync.Mutex
	events    []notificationItem
	arrived   []time.Time // of each event
	comments  []time.Time
	responses int // responses read (1 + reconnections)
	opened    time.Time
	err       error
	cancel    context.CancelFunc
}

func streamTicket(t testing.TB, v viewer) string {
	r := v.do(t, http.MethodPost, "/api/v1/notifications/stream-ticket", nil)
	mustStatus(t, r, http.StatusCreated)
	var tk struct{ Ticket string }
	r.json(t, &tk)
	return tk.Ticket
}

func openStream(t testing.TB, v viewer) *liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &liveStream{opened: time.Now(), cancel: cancel}
	t.Cleanup(s.close)
	ticket := streamTicket(t, v)
	first := make(chan error, 1)
	go func() {
		lastID, retry := "", 3*time.Second
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
				gateway+"/api/v1/notifications/stream?ticket="+url.QueryEscape(ticket), nil)
			req.Header.Set("Accept", "text/event-stream")
			if lastID != "" {
				req.Header.Set("Last-Event-ID", lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err == nil && resp.StatusCode == http.StatusUnauthorized && s.count() > 0 {
				resp.Body.Close()
				ticket = streamTicket(t, v) // expired: as the page would
				continue
			}
			if err == nil && (resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream") {
				err = fmt.Errorf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
				resp.Body.Close()
			}
			if s.count() == 0 {
				first <- err
			}
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.mu.Lock()
			s.responses++
			s.mu.Unlock()
			sc := bufio.NewScanner(resp.Body)
			event, pendingID := "", ""
			for sc.Scan() {
				line := sc.Text()
				s.mu.Lock()
				switch {
				case strings.HasPrefix(line, ":"):
					s.comments = append(s.comments, time.Now())
				case strings.HasPrefix(line, "retry: "):
					if ms, err := strconv.Atoi(strings.TrimPrefix(line, "retry: ")); err == nil {
						retry = time.Duration(ms) * time.Millisecond
					}
				case strings.HasPrefix(line, "id: "):
					pendingID = strings.TrimPrefix(line, "id: ")
				case strings.HasPrefix(line, "event: "):
					event = strings.TrimPrefix(line, "event: ")
				case strings.HasPrefix(line, "data: ") && event == "notification":
					var it notificationItem
					if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &it) == nil {
						s.events = append(s.events, it)
						s.arrived = append(s.arrived, time.Now())
					}
				case line == "":
					if pendingID != "" {
						lastID = pendingID
					}
					event = ""
				}
				s.mu.Unlock()
			}
			resp.Body.Close()
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *liveStream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responses
}

func (s *liveStream) close() { s.cancel() }

// seen counts the stream's events of type typ about id.
func (s *liveStream) seen(typ, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, it := range s.events {
		if it.Type == typ && (it.MovieID == id || it.OrderID == id) {
			n++
		}
	}
	return n
}

// arrivalOf is when the first event about id arrived (zero: not yet).
func (s *liveStream) arrivalOf(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, it := range s.events {
		if it.MovieID == id || it.OrderID == id {
			return s.arrived[i]
		}
	}
	return time.Time{}
}

// keepAlives are the comment lines' arrival times.
func (s *liveStream) keepAlives() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.comments...)
}

func (s *liveStream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// mailsTo is how many messages mailpit holds for address whose subject
// contains subject.
func mailsTo(t testing.TB, address, subject string) int {
	t.Helper()
	q := url.QueryEscape(fmt.Sprintf("to:%q subject:%q", address, subject))
	r := call(t, http.MethodGet, mailpitAPI+"/api/v1/search?limit=1000&query="+q, nil)
	mustStatus(t, r, http.StatusOK)
	var out struct {
		MessagesCount int `json:"messages_count"`
		Messages      []struct {
			To []struct{ Address string } `json:"To"`
		} `json:"messages"`
	}
	r.json(t, &out)
	n := 0
	for _, m := range out.Messages {
		for _, to := range m.To {
			if strings.EqualFold(to.Address, address) {
				n++
			}
		}
	}
	return n
}

func notificationSQL(t testing.TB, sql string) string {
	t.Helper()
	return serviceSQL(t, "notification-db", sql)
}

// flaggedMovie creates a movie with notify set, and no video.
func flaggedMovie(t testing.TB, name string) movie {
	t.Helper()
	r := command(t, http.MethodPost, "/movies", map[string]any{
		"name": name, "type": "movie", "synopsis": "A <b>bold</b> synopsis & more.", "mpaRating": "PG",
		"releaseDate": "2001-01-01", "rating": 7.5, "notify": true,
	})
	mustStatus(t, r, http.StatusCreated)
	var m movie
	r.json(t, &m)
	return m
}

// addURLVideo adds a video by URL: READY at once.
func addURLVideo(t testing.TB, movieID string) video {
	t.Helper()
	r := command(t, http.MethodPost, "/videos", map[string]any{
		"movieId": movieID, "title": "Feature", "lengthSeconds": 100, "url": "https://cdn.example/" + randomHex(4) + ".mp4",
	})
	mustStatus(t, r, http.StatusCreated)
	var v video
	r.json(t, &v)
	return v
}
