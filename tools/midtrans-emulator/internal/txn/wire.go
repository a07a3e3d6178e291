package txn

import (
	"crypto/sha512"
	"encoding/hex"
	"strconv"
	"time"
)

// The JSON Midtrans sends, in the shapes of its documentation (Get
// Transaction Status, HTTP Notification samples per payment channel, Cancel
// and Refund responses) and of what midtrans-go v1.3.8 decodes
// (coreapi.TransactionStatusResponse, ChargeResponse, RefundResponse):
// every amount a string with two decimals, times in WIB, status_code a string.

// MerchantID is the emulated merchant.
const MerchantID = "G000000000"

// WIB is Western Indonesian Time, the zone of every Midtrans timestamp.
var WIB = time.FixedZone("WIB", 7*60*60)

// Amount formats an amount as Midtrans does: "100000.00".
func Amount(v int64) string { return strconv.FormatInt(v, 10) + ".00" }

// Time formats a timestamp as Midtrans does: "2020-01-09 18:27:19" (WIB).
func Time(t time.Time) string { return t.In(WIB).Format(time.DateTime) }

// Signature is Midtrans' signature_key: hex SHA-512 of order_id, status_code,
// gross_amount and the server key, concatenated as sent.
func Signature(orderID, statusCode, grossAmount, serverKey string) string {
	sum := sha512.Sum512([]byte(orderID + statusCode + grossAmount + serverKey))
	return hex.EncodeToString(sum[:])
}

// Fields are what the status answer and the notification share.
func (t *Transaction) Fields(serverKey string) map[string]any {
	code, gross := t.StatusCode(), Amount(t.GrossAmount)
	f := map[string]any{
		"transaction_time":   Time(t.TransactionAt),
		"transaction_status": string(t.Status),
		"transaction_id":     t.TransactionID,
		"status_code":        code,
		"signature_key":      Signature(t.OrderID, code, gross, serverKey),
		"payment_type":       t.PaymentType,
		"order_id":           t.OrderID,
		"merchant_id":        MerchantID,
		"gross_amount":       gross,
		"fraud_status":       t.FraudStatus,
		"currency":           "IDR",
	}
	if !t.SettlementAt.IsZero() {
		f["settlement_time"] = Time(t.SettlementAt)
	}
	if !t.ExpiresAt.IsZero() {
		f["expiry_time"] = Time(t.ExpiresAt)
	}
	t.paymentFields(f)
	if len(t.Refunds) > 0 {
		f["refund_amount"] = Amount(t.Refunded())
		refunds := make([]map[string]any, len(t.Refunds))
		for i, r := range t.Refunds {
			refunds[i] = map[string]any{
				"refund_chargeback_id":   r.ID,
				"refund_chargeback_uuid": r.UUID,
				"refund_amount":          Amount(r.Amount),
				"created_at":             Time(r.CreatedAt),
				"reason":                 r.Reason,
				"refund_key":             r.Key,
				"refund_method":          "online",
			}
		}
		f["refunds"] = refunds
	}
	return f
}

// paymentFields adds what depends on the payment channel.
func (t *Transaction) paymentFields(f map[string]any) {
	switch t.PaymentType {
	case BankTransfer:
		if t.Bank == "permata" {
			f["permata_va_number"] = t.PaymentNumber
			break
		}
		f["va_numbers"] = []map[string]string{{"bank": t.Bank, "va_number": t.PaymentNumber}}
		amounts := []map[string]string{}
		if !t.SettlementAt.IsZero() {
			amounts = append(amounts, map[string]string{"paid_at": Time(t.SettlementAt), "amount": Amount(t.GrossAmount)})
		}
		f["payment_amounts"] = amounts
	case Echannel:
		f["bill_key"], f["biller_code"] = t.PaymentNumber, "70012"
	case Cstore:
		f["store"], f["payment_code"] = t.Store, t.PaymentNumber
	case QRIS:
		f["acquirer"], f["issuer"], f["transaction_type"] = "gopay", "gopay", "on-us"
	case CreditCard:
		f["masked_card"] = "48111111-1114"
		f["bank"] = t.Bank
		f["card_type"] = "credit"
		f["eci"] = "05"
		f["channel_response_code"], f["channel_response_message"] = "00", "Approved"
		if t.Status == Deny {
			f["channel_response_code"], f["channel_response_message"] = "05", "Do not honor"
		} else {
			f["approval_code"] = strconv.FormatInt(t.TransactionAt.UnixMilli(), 10)
		}
	}
}

// StatusResponse is the answer of GET /v2/{order_id}/status.
func (t *Transaction) StatusResponse(serverKey string) map[string]any {
	f := t.Fields(serverKey)
	f["status_message"] = "Success, transaction is found"
	return f
}

// Notification is the body of the HTTP notification Midtrans POSTs.
func (t *Transaction) Notification(serverKey string) map[string]any {
	f := t.Fields(serverKey)
	f["status_message"] = "midtrans payment notification"
	return f
}

// CancelResponse is the answer of POST /v2/{order_id}/cancel.
func (t *Transaction) CancelResponse(serverKey string) map[string]any {
	f := t.Fields(serverKey)
	f["status_code"] = "200" // of the cancel call; the notification says 202
	f["status_message"] = "Success, transaction is canceled"
	delete(f, "signature_key")
	return f
}

// RefundResponse is the answer of POST /v2/{order_id}/refund for refund r.
func (t *Transaction) RefundResponse(r RefundRecord) map[string]any {
	f := map[string]any{
		"status_code":            "200",
		"status_message":         "Success, refund request is approved",
		"transaction_id":         t.TransactionID,
		"order_id":               t.OrderID,
		"merchant_id":            MerchantID,
		"gross_amount":           Amount(t.GrossAmount),
		"currency":               "IDR",
		"payment_type":           t.PaymentType,
		"transaction_time":       Time(t.TransactionAt),
		"transaction_status":     string(t.Status),
		"fraud_status":           t.FraudStatus,
		"refund_chargeback_id":   r.ID,
		"refund_chargeback_uuid": r.UUID,
		"refund_amount":          Amount(r.Amount),
		"refund_key":             r.Key,
	}
	if !t.SettlementAt.IsZero() {
		f["settlement_time"] = Time(t.SettlementAt)
	}
	return f
}

// ErrorResponse is a Core API refusal: {"status_code", "status_message"}.
// A 404 also carries an "id", as in the documented "Transaction doesn't exist." sample.
func ErrorResponse(e *Error) map[string]any {
	body := map[string]any{"status_code": strconv.Itoa(e.Code), "status_message": e.Message}
	if e.Code == 404 {
		body["id"] = NewUUID()
	}
	return body
}
