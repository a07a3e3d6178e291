package httpapi

import (
	"context"
	"errors"
	"mime"
	"net/http"

	"tenflix/tools/midtrans-emulator/internal/store"
	"tenflix/tools/midtrans-emulator/internal/txn"
	"tenflix/tools/midtrans-emulator/internal/webhook"
)

// simulateRequest plays the customer or the bank.
type simulateRequest struct {
	TransactionStatus string `json:"transaction_status"`
	FraudStatus       string `json:"fraud_status"`
	PaymentType       string `json:"payment_type"`
	Bank              string `json:"bank"`  // bank_transfer: bca (default), bni, bri, cimb, permata
	Store             string `json:"store"` // cstore: indomaret (default), alfamart
}

// delivery is a notification in the simulation's answer.
type delivery struct {
	URL    string `json:"url"`
	Status int    `json:"status"` // the webhook's HTTP status; 0 when it did not answer
	Error  string `json:"error,omitempty"`
}

// simulate is POST /simulate/{id}: it records the status, then POSTs the
// notification and waits for the webhook's answer, which it reports. It is
// not authenticated: the Snap page in the browser calls it (loopback only).
func (s *Server) simulate(w http.ResponseWriter, r *http.Request) {
	if !jsonRequest(w, r) {
		return
	}
	var req simulateRequest
	if err := decode(r, &req); err != nil {
		simulationError(w, &txn.Error{Code: 400, Message: err.Error()})
		return
	}
	t, err := s.update(r.PathValue("id"), func(t *txn.Transaction) error {
		return t.Simulate(s.cfg.Now(), txn.Simulation{
			Status: txn.Status(req.TransactionStatus), Fraud: req.FraudStatus,
			PaymentType: req.PaymentType, Bank: req.Bank, Store: req.Store,
		})
	})
	if err != nil {
		s.refuseSimulation(w, err)
		return
	}
	s.cfg.Log.Info("simulated", "order_id", t.OrderID, "transaction_status", t.Status, "fraud_status", t.FraudStatus,
		"payment_type", t.PaymentType)
	s.answerNotified(w, r, t, false)
}

// resend is POST /simulate/{id}/notify: the current notification again, as
// Midtrans sometimes duplicates one.
func (s *Server) resend(w http.ResponseWriter, r *http.Request) {
	if !jsonRequest(w, r) {
		return
	}
	t, ok := s.view(r.PathValue("id"))
	if !ok || t.Status == txn.None {
		simulationError(w, txn.ErrNotFound)
		return
	}
	s.answerNotified(w, r, t, true)
}

func (s *Server) answerNotified(w http.ResponseWriter, r *http.Request, t txn.Transaction, resent bool) {
	// The caller leaving does not cut the notification short.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), webhook.Timeout+timeoutSlack)
	defer cancel()
	sent := s.notify(ctx, t, resent)
	out := make([]delivery, len(sent))
	for i, d := range sent {
		out[i] = delivery{URL: d.URL, Status: d.HTTPStatus, Error: d.Error}
	}
	body := map[string]any{"transaction": t.Notification(s.cfg.ServerKey), "notifications": out}
	if len(out) > 0 {
		body["notification"] = out[0]
	}
	writeJSON(w, http.StatusOK, body)
}

// jsonRequest requires Content-Type application/json: a web page elsewhere
// cannot then POST to the simulation without a CORS preflight, which the
// emulator never grants.
func jsonRequest(w http.ResponseWriter, r *http.Request) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		simulationError(w, &txn.Error{Code: 400, Message: "Content-Type must be application/json"})
		return false
	}
	return true
}

func (s *Server) refuseSimulation(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		simulationError(w, txn.ErrNotFound)
		return
	}
	var fail *txn.Error
	if errors.As(err, &fail) {
		simulationError(w, fail)
		return
	}
	s.internal(w, "simulate", err)
}

// simulationError answers in the Core API's body shape, with a real HTTP
// status so that a test sees the refusal: 400, 404, else 412.
func simulationError(w http.ResponseWriter, fail *txn.Error) {
	status := http.StatusPreconditionFailed
	switch fail.Code {
	case http.StatusBadRequest, http.StatusNotFound:
		status = fail.Code
	}
	writeJSON(w, status, txn.ErrorResponse(fail))
}

// record is GET /emulator/transactions/{id}: everything the emulator knows,
// for tests: status history, refunds and their keys, notifications and answers.
func (s *Server) record(w http.ResponseWriter, r *http.Request) {
	t, ok := s.view(r.PathValue("id"))
	if !ok {
		simulationError(w, txn.ErrNotFound)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// records is GET /emulator/transactions: every transaction, oldest first.
func (s *Server) records(w http.ResponseWriter, _ *http.Request) {
	all := []txn.Transaction{}
	for _, id := range s.store.OrderIDs() {
		if t, ok := s.view(id); ok {
			all = append(all, t)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": all})
}
