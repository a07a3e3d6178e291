package httpapi

import (
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"tenflix/tools/midtrans-emulator/internal/txn"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"rupiah": formatRupiah, "wib": txn.Time}).Parse(pageHTML))

// paymentOption is one choice of the page's payment picker.
type paymentOption struct {
	Value, Label string // Value: payment_type[:bank or store]
}

var paymentOptions = []paymentOption{
	{"credit_card", "Credit card"},
	{"bank_transfer:bca", "BCA virtual account"},
	{"bank_transfer:bni", "BNI virtual account"},
	{"bank_transfer:bri", "BRI virtual account"},
	{"bank_transfer:cimb", "CIMB virtual account"},
	{"bank_transfer:permata", "Permata virtual account"},
	{"echannel", "Mandiri bill payment"},
	{"gopay", "GoPay"},
	{"shopeepay", "ShopeePay"},
	{"qris", "QRIS"},
	{"dana", "DANA"},
	{"ovo", "OVO"},
	{"cstore:indomaret", "Indomaret"},
	{"cstore:alfamart", "Alfamart"},
	{"akulaku", "Akulaku"},
	{"kredivo", "Kredivo"},
}

type pageData struct {
	T           txn.Transaction
	Options     []paymentOption
	Chosen      string // the chosen option's value, "" before payment
	CanAct      bool   // buttons shown: the page is open and the status may still move
	PageExpired bool
	StatusCode  string
	FinishURL   string // callbacks.finish with Snap's query, once a payment type is chosen
	Now         string
}

// page is GET /snap/v4/redirection/{token}: the order and buttons that play
// the customer through the simulation API.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	t, ok := s.store.ByToken(r.PathValue("token"))
	if ok {
		t, ok = s.view(t.OrderID)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!doctype html><title>Not found</title><p>No transaction has this Snap token.</p>\n"))
		return
	}
	now := s.cfg.Now()
	d := pageData{T: t, PageExpired: t.Status == txn.None && t.PageExpired(now), StatusCode: t.StatusCode(), Now: txn.Time(now)}
	for _, o := range paymentOptions {
		typ, sub, _ := strings.Cut(o.Value, ":")
		bank, store := sub, sub
		if len(t.EnabledPayments) > 0 && !slices.Contains(t.EnabledPayments, txn.SnapPaymentName(typ, bank, store)) {
			continue
		}
		d.Options = append(d.Options, o)
	}
	if t.PaymentType != "" {
		d.Chosen = t.PaymentType
		switch t.PaymentType {
		case txn.BankTransfer:
			d.Chosen += ":" + t.Bank
		case txn.Cstore:
			d.Chosen += ":" + t.Store
		}
		if t.FinishURL != "" {
			d.FinishURL = finishURL(t)
		}
	}
	d.CanAct = !d.PageExpired && !t.Final() && t.Status != txn.Settlement && t.Status != txn.PartialRefund
	if err := pageTemplate.Execute(w, d); err != nil {
		s.cfg.Log.Error("page", "err", err)
	}
}

// finishURL is callbacks.finish with the query Snap appends to it.
func finishURL(t txn.Transaction) string {
	u, err := url.Parse(t.FinishURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("order_id", t.OrderID)
	q.Set("status_code", t.StatusCode())
	q.Set("transaction_status", string(t.Status))
	u.RawQuery = q.Encode()
	return u.String()
}

// formatRupiah writes 100000 as "Rp 100.000".
func formatRupiah(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	digits := strconv.FormatInt(v, 10)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-Rp " + b.String()
	}
	return "Rp " + b.String()
}
