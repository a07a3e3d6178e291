package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"log/slog"
	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/httpapi"
	"tenflix/services/notification/internal/live"
	"tenflix/services/notification/internal/postgres"
	"tenflix/services/notification/internal/token"
	"tenflix/services/notification/migrations"
)

type fixture struct {
	url    string
	iss    *authntest.Issuer
	tokens *token.Signer
}

// start serves the routes on a real database, with its LISTEN connection
// and workers, behind an http.Server whose timeouts are short: a stream
// must outlive them.
func start(t *testing.T, mode string) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dsn := pgtest.NewDatabase(t, "notification_http")
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	iss := authntest.NewIssuer(t)
	signer, _ := token.NewSigner("httpapi-test-key-0123456789")
	a := app.New(db, nil, app.Options{Log: log, Idle: 50 * time.Millisecond})
	hub := live.NewHub()
	go live.Listen(ctx, log, dsn, postgres.Channel, hub)
	go a.RunWorkers(ctx)
	engine := httpserver.NewEngine(httpserver.Options{Log: log})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: iss.Verifier(t), App: a, Hub: hub, Tokens: signer,
		TicketTTL: 2 * time.Second, KeepAlive: 200 * time.Millisecond, StreamMode: mode})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: engine, ReadTimeout: time.Second, WriteTimeout: time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	time.Sleep(100 * time.Millisecond) // the listener's LISTEN
	return &fixture{url: "http://" + ln.Addr().String(), iss: iss, tokens: signer}
}

func (f *fixture) do(t *testing.T, method, path, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// event delivers a CloudEvent as daprd does.
func (f *fixture) event(t *testing.T, route, typ string, data any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprint(time.Now().UnixNano()), "type": typ, "data": data,
		"datacontenttype": "application/json"})
	code, body := f.do(t, "POST", route, "", string(b))
	if code != 200 || !strings.Contains(body, "SUCCESS") {
		t.Fatalf("event %s: %d %s", typ, code, body)
	}
}

type sse struct {
	lines chan string
}

// open reads a stream's lines into a channel.
func (f *fixture) open(t *testing.T, query, bearer string) (*sse, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+httpapi.Prefix+"/stream"+query, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	s := &sse{lines: make(chan string, 100)}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	return s, 200
}

// next returns the data of the next event named name (other lines skipped).
func (s *sse) next(t *testing.T, name string, within time.Duration) (string, bool) {
	t.Helper()
	timeout := time.After(within)
	seen := false
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatal("stream ended")
			}
			if l == "event: "+name {
				seen = true
			} else if seen && strings.HasPrefix(l, "data: ") {
				return strings.TrimPrefix(l, "data: "), true
			}
		case <-timeout:
			return "", false
		}
	}
}

func TestInboxStreamAndPreferences(t *testing.T) {
	f := start(t, httpapi.StreamOpen)
	alice, bob := f.iss.Token(t, "alice"), f.iss.Token(t, "bob")

	// Preferences before identity's event about alice.
	if code, body := f.do(t, "GET", httpapi.Prefix+"/preferences", alice, ""); code != 200 || body != `{"newMovies":true,"email":false}` {
		t.Fatalf("defaults: %d %s", code, body)
	}
	for _, bad := range []string{`{"newMovies":true}`, `{"newMovies":"yes","email":true}`, `[]`, "{\"newMovies\":true,\"email\":true,\"x\":\"\x00\"}"} {
		if code, body := f.do(t, "PUT", httpapi.Prefix+"/preferences", alice, bad); code != 400 {
			t.Errorf("PUT %s: %d %s", bad, code, body)
		}
	}
	if code, body := f.do(t, "PUT", httpapi.Prefix+"/preferences", alice, `{"newMovies":true,"email":true}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	f.event(t, httpapi.UsersRoute, "tenflix.identity.user.registered.v1",
		map[string]any{"id": "alice", "email": "alice@example.test", "name": "Alice", "registeredAt": "2026-01-01T00:00:00Z"})
	if _, body := f.do(t, "GET", httpapi.Prefix+"/preferences", alice, ""); body != `{"newMovies":true,"email":true}` {
		t.Fatalf("preferences lost by the registration event: %s", body)
	}
	f.event(t, httpapi.UsersRoute, "tenflix.identity.user.registered.v1", map[string]any{"id": "bob", "email": "bob@example.test"})

	// Alice by ticket (as EventSource), bob by header.
	code, body := f.do(t, "POST", httpapi.Prefix+"/stream-ticket", alice, "")
	var tk struct{ Ticket string }
	if code != 201 || json.Unmarshal([]byte(body), &tk) != nil || tk.Ticket == "" {
		t.Fatalf("ticket: %d %s", code, body)
	}
	as, _ := f.open(t, "?ticket="+tk.Ticket, "")
	bs, _ := f.open(t, "", bob)
	for _, q := range []string{"", "?ticket=nope", "?ticket=" + f.tokens.UnsubscribeToken("alice")} {
		if _, code := f.open(t, q, ""); code != 401 {
			t.Errorf("stream %q: %d", q, code)
		}
	}
	if _, code := f.open(t, "", "not-a-token"); code != 401 {
		t.Errorf("stream with a bad bearer: %d", code)
	}

	f.event(t, httpapi.SubscriptionGrantedRoute, "tenflix.subscription.granted.v1",
		map[string]any{"id": "o1", "userId": "alice", "orderId": "o1", "planName": "Gold", "status": "ACTIVE", "endAt": "2030-01-01T00:00:00Z"})
	data, ok := as.next(t, "notification", 3*time.Second)
	if !ok || !strings.Contains(data, `"type":"subscription_active"`) || !strings.Contains(data, `"orderId":"o1"`) {
		t.Fatalf("alice's stream: %q %v", data, ok)
	}
	if data, ok := bs.next(t, "notification", 500*time.Millisecond); ok {
		t.Fatalf("bob saw alice's notification: %s", data)
	}

	// A movie announced to both, through the fan-out worker.
	f.event(t, httpapi.CatalogRoute, "tenflix.catalog.movie.created.v1", map[string]any{"id": "m1", "name": "Dune", "notify": true, "version": "1"})
	f.event(t, httpapi.CatalogRoute, "tenflix.catalog.video.created.v1", map[string]any{"id": "v1", "movieId": "m1", "status": "READY", "version": "1"})
	for who, s := range map[string]*sse{"alice": as, "bob": bs} {
		if data, ok := s.next(t, "notification", 3*time.Second); !ok || !strings.Contains(data, `"movieId":"m1"`) {
			t.Fatalf("%s's stream: %q %v", who, data, ok)
		}
	}

	// Inbox: newest first; only one's own.
	_, body = f.do(t, "GET", httpapi.Prefix+"?size=10", alice, "")
	var in struct {
		Items []struct{ ID, Type string }
		Total int
	}
	if json.Unmarshal([]byte(body), &in) != nil || in.Total != 2 || in.Items[0].Type != "new_movie" || in.Items[1].Type != "subscription_active" {
		t.Fatalf("alice's inbox: %s", body)
	}
	if code, _ := f.do(t, "POST", httpapi.Prefix+"/"+in.Items[1].ID+"/read", bob, ""); code != 404 {
		t.Errorf("bob marks alice's read: %d", code)
	}
	if code, body := f.do(t, "POST", httpapi.Prefix+"/"+in.Items[1].ID+"/read", alice, ""); code != 200 || !strings.Contains(body, `"read":true`) {
		t.Errorf("mark read: %d %s", code, body)
	}
	for _, q := range []string{"?page=0", "?size=101", "?size=x"} {
		if code, _ := f.do(t, "GET", httpapi.Prefix+q, alice, ""); code != 400 {
			t.Errorf("GET %s: %d", q, code)
		}
	}
	if code, _ := f.do(t, "GET", httpapi.Prefix, "", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}

	// The streams outlive the server's 1 s read and write timeouts.
	time.Sleep(2500 * time.Millisecond)
	f.event(t, httpapi.OrderRefundFailedRoute, "tenflix.order.refund-failed.v1",
		map[string]any{"id": "o2", "userId": "alice", "status": "REFUND_FAILED", "plan": map[string]any{"name": "Gold"}})
	if data, ok := as.next(t, "notification", 3*time.Second); !ok || !strings.Contains(data, `"refund_failed"`) {
		t.Fatalf("after 2.5 s: %q %v", data, ok)
	}

	// Unsubscribe link.
	if code, _ := f.do(t, "GET", httpapi.Prefix+"/unsubscribe?token=forged", "", ""); code != 400 {
		t.Errorf("forged unsubscribe: %d", code)
	}
	if code, _ := f.do(t, "GET", httpapi.Prefix+"/unsubscribe?token="+f.tokens.UnsubscribeToken("alice"), "", ""); code != 200 {
		t.Errorf("unsubscribe: %d", code)
	}
	if _, body := f.do(t, "GET", httpapi.Prefix+"/preferences", alice, ""); body != `{"newMovies":true,"email":false}` {
		t.Errorf("after unsubscribe: %s", body)
	}
}

func TestEventsThatCanNeverApplyAreDropped(t *testing.T) {
	f := start(t, httpapi.StreamPoll)
	for _, tc := range []struct{ route, body string }{
		{httpapi.CatalogRoute, `{"id":"1","type":"tenflix.catalog.actor.created.v1","data":{"id":"a","version":"1"}}`},
		{httpapi.CatalogRoute, `{"id":"2","type":"tenflix.catalog.movie.created.v1","data":{"id":""}}`},
		{httpapi.CatalogRoute, `{"id":"3","type":"tenflix.catalog.video.updated.v1","data":"not json"}`},
		{httpapi.UsersRoute, `{"id":"4","type":"tenflix.identity.user.registered.v1","data":{}}`},
		{httpapi.OrderCancelledRoute, `{"id":"5","type":"tenflix.order.paid.v1","data":{"id":"o","userId":"u"}}`},
		{httpapi.SubscriptionGrantedRoute, `{"id":"6","type":"tenflix.subscription.granted.v1","data_base64":"%%%"}`},
	} {
		if code, body := f.do(t, "POST", tc.route, "", tc.body); code != 200 || !strings.Contains(body, "DROP") {
			t.Errorf("%s %s: %d %s", tc.route, tc.body, code, body)
		}
	}
}

// get answers one whole response of the stream (poll mode ends each).
func (f *fixture) get(t *testing.T, bearer, lastEventID string) (string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+httpapi.Prefix+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	return string(b), time.Since(start)
}

// lastID is the last id: field of a response, as EventSource keeps it.
func lastID(body string) string {
	id := ""
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "id: "); ok {
			id = v
		}
	}
	return id
}

// In poll mode (what daprd 1.14 can relay) each response ends after its
// events or one keep-alive, and a reconnection with Last-Event-ID gets what
// came in between: nothing is lost, nothing repeated.
func TestPollStreamResumesFromLastEventID(t *testing.T) {
	f := start(t, httpapi.StreamPoll)
	carol := f.iss.Token(t, "carol")
	first, took := f.get(t, carol, "")
	if strings.Contains(first, "keep-alive") || lastID(first) == "" || took > time.Second {
		t.Fatalf("first response (its position, at once) after %s: %q", took, first)
	}
	idle, took := f.get(t, carol, lastID(first))
	if !strings.Contains(idle, ": keep-alive") || lastID(idle) != lastID(first) || took < 150*time.Millisecond || took > 2*time.Second {
		t.Fatalf("idle response after %s: %q", took, idle)
	}
	cursor := lastID(idle)

	// Two outcomes while carol is between responses.
	for _, o := range []string{"o1", "o2"} {
		f.event(t, httpapi.OrderCancelledRoute, "tenflix.order.cancelled.v1",
			map[string]any{"id": o, "userId": "carol", "status": "CANCELLED", "plan": map[string]any{"name": "Gold"}})
	}
	got, _ := f.get(t, carol, cursor)
	if strings.Count(got, "event: notification") != 2 || !strings.Contains(got, `"orderId":"o1"`) || !strings.Contains(got, `"orderId":"o2"`) {
		t.Fatalf("resumed: %q", got)
	}
	cursor = lastID(got)

	// Waiting: the response ends as soon as the next one comes.
	go func() {
		time.Sleep(100 * time.Millisecond)
		f.event(t, httpapi.OrderRefundedRoute, "tenflix.order.refunded.v1",
			map[string]any{"id": "o3", "userId": "carol", "status": "REFUNDED"})
	}()
	got, took = f.get(t, carol, cursor)
	if strings.Count(got, "event: notification") != 1 || !strings.Contains(got, `"orderId":"o3"`) || took > time.Second {
		t.Fatalf("after %s: %q", took, got)
	}
	// Nothing again after the last id.
	if again, _ := f.get(t, carol, lastID(got)); strings.Contains(again, "event: notification") {
		t.Fatalf("repeated: %q", again)
	}
	// A garbage Last-Event-ID starts afresh, never fails.
	if body, _ := f.get(t, carol, "nonsense_x"); lastID(body) == "" || strings.Contains(body, "event:") {
		t.Fatalf("garbage Last-Event-ID: %q", body)
	}
}
