package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tenflix/tools/midtrans-emulator/internal/store"
	"tenflix/tools/midtrans-emulator/internal/txn"
)

// snapRequest is the part of Snap's request body (snap.Request in
// midtrans-go) the emulator reads; numbers are read leniently so that a
// wrong type is a validation message, not a decoding failure.
type snapRequest struct {
	TransactionDetails *struct {
		OrderID     *string `json:"order_id"`
		GrossAmount number  `json:"gross_amount"`
	} `json:"transaction_details"`
	ItemDetails []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Price    number `json:"price"`
		Quantity number `json:"quantity"`
	} `json:"item_details"`
	CustomerDetails *txn.Customer `json:"customer_details"`
	EnabledPayments []string      `json:"enabled_payments"`
	Callbacks       *struct {
		Finish string `json:"finish"`
	} `json:"callbacks"`
	Expiry     *expiry `json:"expiry"`
	PageExpiry *expiry `json:"page_expiry"`
}

type expiry struct {
	StartTime string `json:"start_time"`
	Unit      string `json:"unit"`
	Duration  number `json:"duration"`
}

// number is a JSON number, or a string holding one, kept as text.
type number struct {
	set  bool // present and not null
	text string
}

func (n *number) UnmarshalJSON(b []byte) error {
	*n = number{set: string(b) != "null", text: string(b)}
	var s string
	if json.Unmarshal(b, &s) == nil {
		n.text = strings.TrimSpace(s)
	}
	return nil
}

// orderIDPattern: Midtrans' order_id is String(50) of alphanumerics and "-_~.".
var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9\-_~.]{1,50}$`)

// snapError answers as Snap does: {"error_messages": [...]}.
func snapError(w http.ResponseWriter, status int, messages ...string) {
	writeJSON(w, status, map[string][]string{"error_messages": messages})
}

func (s *Server) createSnap(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		snapError(w, http.StatusUnauthorized,
			"Access denied due to unauthorized transaction, please check client or server key",
			"Visit https://snap-docs.midtrans.com/#request-headers for more details")
		return
	}
	var req snapRequest
	if err := decode(r, &req); err != nil {
		snapError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.cfg.Now()
	t, problems := newTransaction(req, now)
	if len(problems) > 0 {
		snapError(w, http.StatusBadRequest, problems...)
		return
	}
	t.Token = txn.NewUUID()
	t.NotificationURLs = notificationURLs(r.Header, s.cfg.NotificationURL)
	existing, err := s.store.Create(t)
	switch {
	case errors.Is(err, store.ErrExists) && existing.Paid():
		snapError(w, http.StatusBadRequest, "transaction_details.order_id has been paid and utilized, please use another order ID")
		return
	case errors.Is(err, store.ErrExists):
		snapError(w, http.StatusBadRequest, "transaction_details.order_id sudah digunakan")
		return
	case err != nil:
		s.cfg.Log.Error("create transaction", "order_id", t.OrderID, "err", err)
		snapError(w, http.StatusInternalServerError, "Sorry, we encountered internal server error. We will fix this soon.")
		return
	}
	s.cfg.Log.Info("snap transaction created", "order_id", t.OrderID, "gross_amount", t.GrossAmount,
		"notification_urls", t.NotificationURLs)
	writeJSON(w, http.StatusCreated, map[string]string{
		"token":        t.Token,
		"redirect_url": s.cfg.BaseURL + "/snap/v4/redirection/" + t.Token,
	})
}

// newTransaction validates a Snap request as Snap does and returns the
// transaction it asks for, or every problem found.
func newTransaction(req snapRequest, now time.Time) (txn.Transaction, []string) {
	var problems []string
	t := txn.Transaction{CreatedAt: now, Customer: req.CustomerDetails, EnabledPayments: req.EnabledPayments,
		History: []txn.Change{}, Notifications: []txn.Delivery{}}
	d := req.TransactionDetails
	switch {
	case d == nil || d.OrderID == nil || *d.OrderID == "":
		problems = append(problems, "transaction_details.order_id is required")
	case !orderIDPattern.MatchString(*d.OrderID):
		problems = append(problems, "transaction_details.order_id must be at most 50 characters of letters, digits, dash (-), underscore (_), tilde (~) and dot (.)")
	default:
		t.OrderID = *d.OrderID
	}
	if d == nil || !d.GrossAmount.set {
		problems = append(problems, "transaction_details.gross_amount is required")
	} else if amount, msg := rupiah(d.GrossAmount, "transaction_details.gross_amount"); msg != "" {
		problems = append(problems, msg)
	} else if amount < 1 {
		problems = append(problems, "transaction_details.gross_amount must be greater than or equal to 0.01")
	} else {
		t.GrossAmount = amount
	}
	var sum int64
	for i, it := range req.ItemDetails {
		field := fmt.Sprintf("item_details[%d]", i)
		price, msg := rupiah(it.Price, field+".price")
		if msg != "" {
			problems = append(problems, msg)
		}
		qty, err := strconv.ParseInt(it.Quantity.text, 10, 64)
		if err != nil || qty < 1 {
			problems = append(problems, field+".quantity must be an integer greater than or equal to 1")
		}
		if strings.TrimSpace(it.Name) == "" {
			problems = append(problems, field+".name is required")
		}
		sum += price * qty
		t.Items = append(t.Items, txn.Item{ID: it.ID, Name: it.Name, Price: price, Quantity: qty})
	}
	if len(req.ItemDetails) > 0 && len(problems) == 0 && sum != t.GrossAmount {
		problems = append(problems, "transaction_details.gross_amount is not equal to the sum of item_details")
	}
	if req.Callbacks != nil && req.Callbacks.Finish != "" {
		if u, err := url.Parse(req.Callbacks.Finish); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			problems = append(problems, "callbacks.finish must be an http(s) URL")
		} else {
			t.FinishURL = req.Callbacks.Finish
		}
	}
	// The page lives 24 h, or as long as expiry (counted from start_time or
	// from now), or as page_expiry says; a chosen payment lives as long as
	// expiry (counted from start_time or from the choice), else 24 h.
	t.PageExpiresAt = now.Add(txn.DefaultPageExpiry)
	if req.Expiry != nil {
		dur, start, msg := req.Expiry.parse("expiry")
		if msg != "" {
			problems = append(problems, msg)
		} else {
			t.PaymentExpiry, t.ExpiryStart = dur, start
			if start.IsZero() {
				start = now
			}
			t.PageExpiresAt = start.Add(dur)
		}
	}
	if req.PageExpiry != nil {
		dur, _, msg := req.PageExpiry.parse("page_expiry")
		if msg != "" {
			problems = append(problems, msg)
		} else {
			t.PageExpiresAt = now.Add(dur)
		}
	}
	return t, problems
}

// rupiah reads a whole amount of rupiah (IDR has no minor unit in Midtrans).
func rupiah(n number, field string) (int64, string) {
	if !n.set {
		return 0, field + " is required"
	}
	if v, err := strconv.ParseInt(n.text, 10, 64); err == nil {
		return v, ""
	}
	f, err := strconv.ParseFloat(n.text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, field + " is not a number"
	}
	if f != math.Trunc(f) || math.Abs(f) > 1e15 {
		return 0, field + " must be a whole amount of IDR"
	}
	return int64(f), ""
}

var expiryUnits = map[string]time.Duration{
	"minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parse reads {start_time, unit, duration}; start_time is "2020-04-13 18:11:08 +0700".
func (e *expiry) parse(field string) (time.Duration, time.Time, string) {
	unit, ok := expiryUnits[strings.ToLower(e.Unit)]
	if !ok {
		return 0, time.Time{}, field + ".unit must be one of day, hour, minute (plural accepted)"
	}
	n, err := strconv.ParseInt(e.Duration.text, 10, 64)
	if err != nil || n < 1 || n > 365*24*60 {
		return 0, time.Time{}, field + ".duration must be a positive integer"
	}
	var start time.Time
	if e.StartTime != "" {
		if start, err = time.Parse("2006-01-02 15:04:05 -0700", e.StartTime); err != nil {
			return 0, time.Time{}, field + ".start_time must look like 2020-04-13 18:11:08 +0700"
		}
	}
	return time.Duration(n) * unit, start, ""
}

// notificationURLs: X-Override-Notification replaces the dashboard's URL,
// X-Append-Notification adds to it; each holds up to 3 comma-separated URLs.
func notificationURLs(h http.Header, dashboard string) []string {
	split := func(v string) []string {
		var urls []string
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if u, err := url.Parse(part); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(urls) < 3 {
				urls = append(urls, part)
			}
		}
		return urls
	}
	if v := h.Get("X-Override-Notification"); v != "" {
		if urls := split(v); len(urls) > 0 {
			return urls
		}
	}
	urls := []string{dashboard}
	if v := h.Get("X-Append-Notification"); v != "" {
		urls = append(urls, split(v)...)
	}
	return urls
}
