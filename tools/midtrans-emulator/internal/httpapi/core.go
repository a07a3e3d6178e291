package httpapi

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"tenflix/tools/midtrans-emulator/internal/store"
	"tenflix/tools/midtrans-emulator/internal/txn"
)

// status is GET /v2/{id}/status. A Snap transaction whose customer has not
// chosen a payment type yet does not exist for the Core API ("you might
// encounter 404 ... while calling Core API GET Status").
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	t, ok := s.view(r.PathValue("id"))
	if !ok || t.Status == txn.None {
		coreError(w, txn.ErrNotFound)
		return
	}
	writeJSON(w, http.StatusOK, t.StatusResponse(s.cfg.ServerKey))
}

// cancel is POST /v2/{id}/cancel; Midtrans notifies the cancel as well.
func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	t, err := s.update(r.PathValue("id"), func(t *txn.Transaction) error { return t.Cancel(s.cfg.Now()) })
	if fail, ok := coreFailure(err); ok {
		coreError(w, fail)
		return
	}
	if err != nil {
		s.internal(w, "cancel", err)
		return
	}
	s.enqueue(t)
	writeJSON(w, http.StatusOK, t.CancelResponse(s.cfg.ServerKey))
}

// refundRequest is coreapi.RefundReq.
type refundRequest struct {
	RefundKey string `json:"refund_key"`
	Amount    number `json:"amount"`
	Reason    string `json:"reason"`
}

// refundKeyPattern: "Allowed characters are alphabets, numbers, dash (-), and underscore (_)".
var refundKeyPattern = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,100}$`)

// refund is POST /v2/{id}/refund. A new refund is notified; the same
// refund_key again answers the same refund and notifies nothing.
func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var req refundRequest
	if err := decode(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	var amount int64
	if req.Amount.set {
		v, err := strconv.ParseInt(req.Amount.text, 10, 64)
		if err != nil {
			invalid(w, "amount must be a whole amount of IDR")
			return
		}
		amount = v
	}
	if req.RefundKey != "" && !refundKeyPattern.MatchString(req.RefundKey) {
		invalid(w, "refund_key may hold only letters, digits, dash (-) and underscore (_), at most 100")
		return
	}
	if len(req.Reason) > 255 {
		invalid(w, "reason must be at most 255 characters")
		return
	}
	var refund txn.RefundRecord
	var replay bool
	t, err := s.update(r.PathValue("id"), func(t *txn.Transaction) error {
		var err error
		refund, replay, err = t.RefundTo(s.cfg.Now(), req.RefundKey, amount, req.Reason)
		return err
	})
	if fail, ok := coreFailure(err); ok {
		coreError(w, fail)
		return
	}
	if err != nil {
		s.internal(w, "refund", err)
		return
	}
	if !replay {
		s.enqueue(t)
	}
	s.cfg.Log.Info("refund", "order_id", t.OrderID, "refund_key", refund.Key, "amount", refund.Amount,
		"replay", replay, "transaction_status", t.Status)
	writeJSON(w, http.StatusOK, t.RefundResponse(refund))
}

// invalid is a Core API validation refusal, worded as Midtrans' sandbox
// answers it (midtrans-go's tests assert this status_message). Its HTTP
// status is 400: midtrans-go ignores a body status_code below 401, so an
// HTTP 200 would pass the refusal off as a success.
func invalid(w http.ResponseWriter, messages ...string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"status_code":         "400",
		"status_message":      "One or more parameters in the payload is invalid.",
		"validation_messages": messages,
	})
}

// coreFailure maps a refusal (or an unknown id) to Midtrans' answer.
func coreFailure(err error) (*txn.Error, bool) {
	if errors.Is(err, store.ErrNotFound) {
		return txn.ErrNotFound, true
	}
	var fail *txn.Error
	if errors.As(err, &fail) {
		return fail, true
	}
	return nil, false
}

func (s *Server) internal(w http.ResponseWriter, op string, err error) {
	s.cfg.Log.Error(op, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{
		"status_code":    "500",
		"status_message": "Sorry, we encountered internal server error. We will fix this soon.",
	})
}
