// Package midtranstest is a small Midtrans for tests: Snap's create
// transaction and the Core API's status, cancel and refund, over HTTP, as
// Midtrans documents them: Basic auth with the server key, one transaction
// per order id, status codes in the answer bodies, notifications signed with
// the real signature, refunds idempotent per refund_key, and no API refund
// for bank transfers and virtual accounts.
package midtranstest

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Refundable lists the payment types Midtrans refunds by API.
var Refundable = map[string]bool{
	"credit_card": true, "gopay": true, "shopeepay": true, "dana": true, "ovo": true, "qris": true,
	"kredivo": true, "akulaku": true,
}

// Transaction is the fake's record of one order.
type Transaction struct {
	OrderID       string
	GrossAmount   int64
	Token         string
	Chosen        bool // a payment method was chosen: the status API knows it
	TransactionID string
	PaymentType   string
	Status        string
	FraudStatus   string
	Notification  string // the X-Override-Notification it was created with
	Request       json.RawMessage
	Refunds       map[string]json.RawMessage // answer by refund_key
}

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Authorized   bool
}

// Server is the fake Midtrans.
type Server struct {
	URL       string
	ServerKey string

	mu       sync.Mutex
	txs      map[string]*Transaction
	requests []Request
	failures map[string]int // next answers of a route ("status", "cancel", ...) that fail with 500
	before   map[string]func()
	delay    time.Duration
	amount   map[string]string // gross_amount the status API writes instead, by order
}

// New starts a fake Midtrans accepting serverKey, stopped when the test ends.
func New(tb testing.TB, serverKey string) *Server {
	s := &Server{ServerKey: serverKey, txs: map[string]*Transaction{}, failures: map[string]int{}, before: map[string]func(){}, amount: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /snap/v1/transactions", s.guard("snap", s.createTransaction))
	mux.HandleFunc("GET /v2/{id}/status", s.guard("status", s.status))
	mux.HandleFunc("POST /v2/{id}/cancel", s.guard("cancel", s.cancel))
	mux.HandleFunc("POST /v2/{id}/refund", s.guard("refund", s.refund))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// guard records the request, checks Basic auth (server key, empty
// password) and plays the failures and delay set by the test.
func (s *Server) guard(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		authorized := ok && user == s.ServerKey && pass == ""
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Authorized: authorized})
		fail := s.failures[route] > 0
		if fail {
			s.failures[route]--
		}
		delay, before := s.delay, s.before[route]
		delete(s.before, route)
		s.mu.Unlock()
		if before != nil {
			before()
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case !authorized && route == "snap":
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error_messages": []string{
				"Access denied due to unauthorized transaction, please check client or server key"}})
		case !authorized:
			writeJSON(w, http.StatusUnauthorized, statusBody("401", "Access denied due to unauthorized transaction, please check client or server key"))
		case fail:
			writeJSON(w, http.StatusInternalServerError, statusBody("500", "Sorry, we encountered internal server error. We will fix this soon."))
		default:
			h(w, r)
		}
	}
}

func (s *Server) createTransaction(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TransactionDetails struct {
			OrderID     string `json:"order_id"`
			GrossAmount int64  `json:"gross_amount"`
		} `json:"transaction_details"`
		Items []struct {
			Price    int64 `json:"price"`
			Quantity int64 `json:"quantity"`
		} `json:"item_details"`
	}
	raw := json.RawMessage{}
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || json.Unmarshal(raw, &req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error_messages": []string{"malformed JSON"}})
		return
	}
	d := req.TransactionDetails
	var sum int64
	for _, it := range req.Items {
		sum += it.Price * it.Quantity
	}
	var problems []string
	if d.OrderID == "" {
		problems = append(problems, "transaction_details.order_id is required")
	}
	if d.GrossAmount < 1 {
		problems = append(problems, "transaction_details.gross_amount must be greater than or equal to 1")
	}
	if len(req.Items) > 0 && sum != d.GrossAmount {
		problems = append(problems, "transaction_details.gross_amount is not equal to the sum of item_details")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.txs[d.OrderID]; taken {
		problems = append(problems, "transaction_details.order_id has already been taken")
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error_messages": problems})
		return
	}
	token := fmt.Sprintf("snap-token-%d", len(s.txs)+1)
	s.txs[d.OrderID] = &Transaction{OrderID: d.OrderID, GrossAmount: d.GrossAmount, Token: token,
		TransactionID: "tx-" + d.OrderID, Notification: r.Header.Get("X-Override-Notification"), Request: raw,
		Refunds: map[string]json.RawMessage{}}
	writeJSON(w, http.StatusCreated, map[string]string{
		"token": token, "redirect_url": "https://app.sandbox.midtrans.com/snap/v4/redirection/" + token})
}

// notFound is Midtrans' answer about an order it has no transaction for
// (also a Snap transaction whose customer has not picked a method yet).
func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, statusBody("404", "Transaction doesn't exist."))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[r.PathValue("id")]
	if !ok || !tx.Chosen {
		notFound(w)
		return
	}
	body := s.transactionBody(tx, "Success, transaction is found")
	if a, ok := s.amount[tx.OrderID]; ok {
		body["gross_amount"] = a
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[r.PathValue("id")]
	if !ok || !tx.Chosen {
		notFound(w)
		return
	}
	// Only what is not settled or ended yet can be cancelled.
	if tx.Status != "pending" && tx.Status != "authorize" && tx.Status != "capture" {
		writeJSON(w, http.StatusOK, statusBody("412", "Merchant cannot modify the status of the transaction"))
		return
	}
	tx.Status = "cancel"
	writeJSON(w, http.StatusOK, s.transactionBody(tx, "Success, transaction is canceled"))
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefundKey string `json:"refund_key"`
		Amount    int64  `json:"amount"`
		Reason    string `json:"reason"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusOK, statusBody("413", "The request cannot be processed due to malformed syntax in the request body"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[r.PathValue("id")]
	if !ok || !tx.Chosen {
		notFound(w)
		return
	}
	if answer, done := tx.Refunds[req.RefundKey]; done && req.RefundKey != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer) // the same refund, not a second one
		return
	}
	switch {
	case !Refundable[tx.PaymentType]:
		writeJSON(w, http.StatusOK, statusBody("412", "Payment type "+tx.PaymentType+" cannot be refunded by API"))
		return
	case tx.Status != "settlement" && !(tx.Status == "capture" && tx.PaymentType == "credit_card"):
		writeJSON(w, http.StatusOK, statusBody("412", "Merchant cannot modify the status of the transaction"))
		return
	case req.Amount > tx.GrossAmount:
		writeJSON(w, http.StatusOK, statusBody("412", "Refund amount exceeds the transaction amount"))
		return
	}
	tx.Status = "refund"
	body := s.transactionBody(tx, "Success, refund request is approved")
	body["refund_key"], body["refund_amount"] = req.RefundKey, amountText(req.Amount)
	b, _ := json.Marshal(body)
	key := req.RefundKey
	if key == "" { // no key: Midtrans makes a new refund of every request
		key = fmt.Sprintf("generated-%d", len(tx.Refunds))
	}
	tx.Refunds[key] = b
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// statusCodes are the status_code Midtrans writes for each status.
var statusCodes = map[string]string{
	"pending": "201", "deny": "202", "expire": "407", "settlement": "200", "capture": "200",
	"authorize": "200", "cancel": "200", "refund": "200", "partial_refund": "200", "failure": "202",
	"chargeback": "200", "partial_chargeback": "200",
}

func (s *Server) transactionBody(tx *Transaction, message string) map[string]any {
	code := statusCodes[tx.Status]
	amount := amountText(tx.GrossAmount)
	body := map[string]any{
		"status_code": code, "status_message": message, "transaction_id": tx.TransactionID,
		"order_id": tx.OrderID, "gross_amount": amount, "currency": "IDR", "payment_type": tx.PaymentType,
		"transaction_time": "2025-05-01 10:00:00", "transaction_status": tx.Status, "merchant_id": "G000000000",
		"signature_key": Sign(tx.OrderID, code, amount, s.ServerKey),
	}
	if tx.FraudStatus != "" {
		body["fraud_status"] = tx.FraudStatus
	}
	if tx.PaymentType == "bank_transfer" {
		body["va_numbers"] = []map[string]string{{"bank": "bca", "va_number": "12345678901"}}
	}
	return body
}

// Pay plays the customer and the bank: the order's transaction gets a
// payment type and a status (with a fraud status for card captures).
func (s *Server) Pay(tb testing.TB, orderID, paymentType, status, fraudStatus string) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[orderID]
	if !ok {
		tb.Fatalf("midtranstest: no transaction for order %s", orderID)
	}
	tx.Chosen, tx.PaymentType, tx.Status, tx.FraudStatus = true, paymentType, status, fraudStatus
}

// Notification is the HTTP notification Midtrans sends about the order now,
// signed.
func (s *Server) Notification(tb testing.TB, orderID string) []byte {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[orderID]
	if !ok || !tx.Chosen {
		tb.Fatalf("midtranstest: nothing to notify about order %s", orderID)
	}
	b, _ := json.Marshal(s.transactionBody(tx, "midtrans payment notification"))
	return b
}

// Transaction is a copy of the order's transaction (ok false: none).
func (s *Server) Transaction(orderID string) (Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[orderID]
	if !ok {
		return Transaction{}, false
	}
	c := *tx
	c.Refunds = map[string]json.RawMessage{}
	for k, v := range tx.Refunds {
		c.Refunds[k] = v
	}
	return c, true
}

// Requests is every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many requests were made of a route, e.g. "POST /v2/o-1/refund".
func (s *Server) Count(methodAndPath string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method+" "+r.Path == methodAndPath {
			n++
		}
	}
	return n
}

// FailNext makes the next n requests of route ("snap", "status", "cancel",
// "refund") answer 500.
func (s *Server) FailNext(route string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[route] = n
}

// BeforeNext runs f once, just before the next request of route is
// answered: what happens at Midtrans meanwhile.
func (s *Server) BeforeNext(route string, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before[route] = f
}

// Delay holds every answer for d (0: none).
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// WriteAmount makes the status API write gross_amount as given for the
// order (a tampered or mismatched amount).
func (s *Server) WriteAmount(orderID, grossAmount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.amount[orderID] = grossAmount
}

// Sign is Midtrans' signature_key: hex SHA-512 of order_id + status_code +
// gross_amount + server key, computed here independently of the service.
func Sign(orderID, statusCode, grossAmount, serverKey string) string {
	sum := sha512.Sum512([]byte(orderID + statusCode + grossAmount + serverKey))
	return hex.EncodeToString(sum[:])
}

func amountText(n int64) string { return strconv.FormatInt(n, 10) + ".00" }

func statusBody(code, message string) map[string]string {
	return map[string]string{"status_code": code, "status_message": message}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
