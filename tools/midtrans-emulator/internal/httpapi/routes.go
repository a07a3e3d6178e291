// Package httpapi is the emulator's HTTP face: Midtrans' Snap and Core API
// as midtrans-go calls them, the Snap redirect page, and the simulation API
// that plays the customer and the bank.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"tenflix/tools/midtrans-emulator/internal/store"
	"tenflix/tools/midtrans-emulator/internal/txn"
	"tenflix/tools/midtrans-emulator/internal/webhook"
)

// maxBody bounds every request body; Midtrans' requests are a few KiB.
const maxBody = 1 << 20

// timeoutSlack is added to the webhook's own timeout for the whole send.
const timeoutSlack = time.Second

// Config is what the server needs besides its store.
type Config struct {
	ServerKey       string           // Basic auth user name of every Snap and Core API call
	NotificationURL string           // where notifications go unless X-Override-Notification says otherwise
	BaseURL         string           // http://host:port of the emulator, for redirect_url
	Now             func() time.Time // nil: time.Now
	Sender          *webhook.Sender  // nil: webhook.New(nil)
	Log             *slog.Logger
}

// Server answers the routes; its notifications from API calls and expiry go
// out one by one, in order, from a queue (Midtrans sends them after answering).
type Server struct {
	cfg   Config
	store *store.Store
	queue chan txn.Transaction
	done  chan struct{}
	once  sync.Once
}

// New starts the server's notification queue; Close stops it.
func New(st *store.Store, cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sender == nil {
		cfg.Sender = webhook.New(nil)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, store: st, queue: make(chan txn.Transaction, 256), done: make(chan struct{})}
	go s.work()
	return s
}

// Close sends what is queued, then stops the queue.
func (s *Server) Close() {
	s.once.Do(func() { close(s.queue) })
	<-s.done
}

// Routes registers every route on mux.
func Routes(mux *http.ServeMux, s *Server) {
	mux.HandleFunc("POST /snap/v1/transactions", s.createSnap)
	mux.HandleFunc("GET /snap/v4/redirection/{token}", s.page)
	mux.HandleFunc("GET /v2/{id}/status", s.coreAuth(s.status))
	mux.HandleFunc("POST /v2/{id}/cancel", s.coreAuth(s.cancel))
	mux.HandleFunc("POST /v2/{id}/refund", s.coreAuth(s.refund))
	mux.HandleFunc("POST /simulate/{id}", s.simulate)
	mux.HandleFunc("POST /simulate/{id}/notify", s.resend)
	mux.HandleFunc("GET /emulator/transactions", s.records)
	mux.HandleFunc("GET /emulator/transactions/{id}", s.record)
	mux.HandleFunc("GET /emulator/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Handler is the routes with request logging.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	Routes(mux, s)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
		mux.ServeHTTP(rec, r)
		s.cfg.Log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// authorized tells whether the request carries the server key as Basic
// auth user name (midtrans-go sends "ServerKey:" with an empty password).
func (s *Server) authorized(r *http.Request) bool {
	user, _, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.ServerKey)) == 1
}

// coreAuth answers a Core API call without the server key as Midtrans does:
// HTTP 401 with the documented body.
func (s *Server) coreAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{
				"status_code":    "401",
				"status_message": "Transaction cannot be authorized with the current client/server key.",
			})
			return
		}
		h(w, r)
	}
}

// coreError answers a Core API refusal. Midtrans' Core API documents its
// refusals (404, 406, 412, 414...) as HTTP 200 with the code in the body's
// status_code, which is what midtrans-go checks first (from 401 up); a 400
// keeps its HTTP status so that the SDK still sees an error.
func coreError(w http.ResponseWriter, err *txn.Error) {
	status := http.StatusOK
	if err.Code < 401 {
		status = err.Code
	}
	writeJSON(w, status, txn.ErrorResponse(err))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// decode reads a JSON body into v; it tells a body too large apart.
func decode(r *http.Request, v any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errors.New("request body is larger than 1 MiB")
		}
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errors.New("request body is not valid JSON: " + err.Error())
	}
	return nil
}

// update changes a transaction after expiring it if its time has come; an
// expiry found this way is notified like one found by the sweep.
func (s *Server) update(id string, fn func(*txn.Transaction) error) (txn.Transaction, error) {
	lapsed := false
	t, err := s.store.Update(id, func(t *txn.Transaction) error {
		lapsed = t.Lapse(s.cfg.Now())
		return fn(t)
	})
	if lapsed {
		s.enqueue(t)
	}
	return t, err
}

// view returns a transaction as it is now (expired if its time has come).
func (s *Server) view(id string) (txn.Transaction, bool) {
	t, ok := s.store.Get(id)
	if !ok {
		return t, false
	}
	if probe := t.Clone(); probe.Lapse(s.cfg.Now()) {
		if t, err := s.update(id, func(*txn.Transaction) error { return nil }); err == nil {
			return t, true
		}
	}
	return t, true
}

// Sweep expires every pending payment whose time has come and queues its
// notification; run calls it every second.
func (s *Server) Sweep() {
	for _, id := range s.store.OrderIDs() {
		s.view(id)
	}
}

func (s *Server) enqueue(t txn.Transaction) {
	defer func() { _ = recover() }() // the queue is closed: shutting down
	s.queue <- t
}

func (s *Server) work() {
	defer close(s.done)
	for t := range s.queue {
		ctx, cancel := context.WithTimeout(context.Background(), webhook.Timeout+timeoutSlack)
		s.notify(ctx, t, false)
		cancel()
	}
}

// notify POSTs t's notification to each of its URLs, synchronously, and
// records every answer in the transaction.
func (s *Server) notify(ctx context.Context, t txn.Transaction, resent bool) []txn.Delivery {
	body, err := json.Marshal(t.Notification(s.cfg.ServerKey))
	if err != nil {
		s.cfg.Log.Error("notification", "order_id", t.OrderID, "err", err)
		return nil
	}
	deliveries := make([]txn.Delivery, 0, len(t.NotificationURLs))
	for _, url := range t.NotificationURLs {
		code, err := s.cfg.Sender.Send(ctx, url, body)
		d := txn.Delivery{At: s.cfg.Now(), URL: url, Status: t.Status, StatusCode: t.StatusCode(), HTTPStatus: code, Resent: resent}
		if err != nil {
			d.Error = err.Error()
		}
		s.cfg.Log.Info("notification sent", "order_id", t.OrderID, "transaction_status", t.Status,
			"url", url, "http_status", code, "err", d.Error)
		deliveries = append(deliveries, d)
	}
	if _, err := s.store.Update(t.OrderID, func(x *txn.Transaction) error {
		x.Notifications = append(x.Notifications, deliveries...)
		return nil
	}); err != nil {
		s.cfg.Log.Error("record notification", "order_id", t.OrderID, "err", err)
	}
	return deliveries
}
