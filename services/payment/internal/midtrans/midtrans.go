// Package midtrans is the payment service's Midtrans client (app.Midtrans):
// github.com/midtrans/midtrans-go's Snap and Core API clients, pointed at
// MIDTRANS_API_URL when set (the local emulator) by a transport that
// rewrites Midtrans' hosts, bounded in time per call, with a logger that
// never prints the server key. Its errors are the app's: unknown
// transaction, refusal, or a plain failure.
package midtrans

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	mt "github.com/midtrans/midtrans-go"
	"github.com/midtrans/midtrans-go/coreapi"
	"github.com/midtrans/midtrans-go/snap"

	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/payment"
)

// Config configures the client.
type Config struct {
	ServerKey string
	Env       string // "sandbox" or "production"
	// APIURL, when set, receives every request meant for Midtrans' hosts
	// (scheme and host replaced, its path prefixed).
	APIURL string
	// NotificationURL, when set, is sent with each new Snap transaction as
	// X-Override-Notification (Midtrans takes up to 3, comma-separated).
	NotificationURL string
	Timeout         time.Duration // of each call
	Log             *slog.Logger
	// Transport carries the requests (a clone of http.DefaultTransport
	// unless set).
	Transport http.RoundTripper
}

// Client talks to Midtrans.
type Client struct {
	serverKey    string
	env          mt.EnvironmentType
	notification string
	timeout      time.Duration
	transport    http.RoundTripper
	logger       mt.LoggerInterface
}

var _ app.Midtrans = (*Client)(nil)

// New checks cfg and builds the client.
func New(cfg Config) (*Client, error) {
	c := &Client{serverKey: cfg.ServerKey, notification: cfg.NotificationURL, timeout: cfg.Timeout}
	switch cfg.Env {
	case "sandbox", "":
		c.env = mt.Sandbox
	case "production":
		c.env = mt.Production
	default:
		return nil, fmt.Errorf("midtrans: environment %q is neither sandbox nor production", cfg.Env)
	}
	switch {
	case cfg.ServerKey == "":
		return nil, errors.New("midtrans: no server key")
	case strings.ContainsAny(cfg.ServerKey, " \t\r\n"):
		// The SDK would refuse it on every call; say so at start.
		return nil, errors.New("midtrans: the server key contains white space")
	case cfg.Timeout <= 0 || cfg.Log == nil:
		return nil, errors.New("midtrans: Timeout and Log are required")
	}
	c.transport = cfg.Transport
	if c.transport == nil {
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.APIURL != "" {
		target, err := url.Parse(cfg.APIURL)
		if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" ||
			target.RawQuery != "" || target.Fragment != "" || target.User != nil {
			return nil, fmt.Errorf("midtrans: API URL must be a plain http(s) URL, got %q", cfg.APIURL)
		}
		c.transport = &rewriteHosts{target: target, next: c.transport}
	}
	c.logger = newSDKLogger(cfg.Log, cfg.ServerKey)
	return c, nil
}

// Midtrans' API hosts: Core API (api.) and Snap (app.), sandbox and
// production.
var midtransHosts = map[string]bool{
	"api.sandbox.midtrans.com": true, "app.sandbox.midtrans.com": true,
	"api.midtrans.com": true, "app.midtrans.com": true,
}

// rewriteHosts sends requests for Midtrans' hosts to target instead, and
// refuses any other host: the requests carry the server key.
type rewriteHosts struct {
	target *url.URL
	next   http.RoundTripper
}

func (t *rewriteHosts) RoundTrip(req *http.Request) (*http.Response, error) {
	if !midtransHosts[req.URL.Host] {
		return nil, fmt.Errorf("midtrans transport: refusing to send a request to %q", req.URL.Host)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.target.Scheme, t.target.Host, t.target.Host
	r.URL.Path = strings.TrimSuffix(t.target.Path, "/") + req.URL.Path
	r.URL.RawPath = ""
	return t.next.RoundTrip(r)
}

// withContext gives the SDK's requests a context: midtrans-go v1.3.8
// builds them without one (ConfigOptions.Ctx is dropped), so this is what
// bounds a call and lets its caller cancel it.
type withContext struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t withContext) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(req.WithContext(t.ctx))
}

// call runs one SDK call with an HTTP client bound to ctx, at most the
// client's timeout.
func (c *Client) call(ctx context.Context, do func(mt.HttpClient) *mt.Error) *mt.Error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return do(&mt.HttpClientImplementation{
		HttpClient: &http.Client{Transport: withContext{ctx: ctx, next: c.transport}},
		Logger:     c.logger,
	})
}

func (c *Client) core(h mt.HttpClient, options *mt.ConfigOptions) coreapi.Client {
	return coreapi.Client{ServerKey: c.serverKey, Env: c.env, HttpClient: h, Options: options}
}

// CreateTransaction opens a Snap transaction: the plan as the only item,
// the customer, and an expiry counted from the checkout's start (else Snap
// counts it from when the customer picks a payment method, and a virtual
// account made late would outlive the payment's expiry here).
func (c *Client) CreateTransaction(ctx context.Context, co app.Checkout) (app.Snap, error) {
	req := &snap.Request{
		TransactionDetails: mt.TransactionDetails{OrderID: co.OrderID, GrossAmt: co.Amount},
		Items: &[]mt.ItemDetails{{
			// Midtrans limits item ids and names to 50 characters.
			ID: truncate(co.Item.ID, 50), Name: truncate(co.Item.Name, 50), Price: co.Item.Price, Qty: 1,
		}},
		CustomerDetail: &mt.CustomerDetails{FName: co.Customer.Name, Email: co.Customer.Email},
		Expiry: &snap.ExpiryDetails{
			StartTime: co.Start.Format("2006-01-02 15:04:05 -0700"),
			Unit:      "minute",
			Duration:  int64(co.Expiry / time.Minute),
		},
	}
	options := &mt.ConfigOptions{}
	if c.notification != "" {
		options.SetPaymentOverrideNotification(c.notification)
	}
	var resp *snap.Response
	mErr := c.call(ctx, func(h mt.HttpClient) *mt.Error {
		var e *mt.Error
		resp, e = snap.Client{ServerKey: c.serverKey, Env: c.env, HttpClient: h, Options: options}.CreateTransaction(req)
		return e
	})
	if mErr != nil {
		return app.Snap{}, failure("snap create", mErr)
	}
	if resp == nil || resp.Token == "" || resp.RedirectURL == "" {
		return app.Snap{}, errors.New("snap create: answer without token or redirect_url")
	}
	return app.Snap{Token: resp.Token, RedirectURL: resp.RedirectURL}, nil
}

// Status is GET /v2/{orderId}/status.
func (c *Client) Status(ctx context.Context, orderID string) (payment.Transaction, error) {
	if err := checkID(orderID); err != nil {
		return payment.Transaction{}, err
	}
	var resp *coreapi.TransactionStatusResponse
	mErr := c.call(ctx, func(h mt.HttpClient) *mt.Error {
		var e *mt.Error
		resp, e = c.core(h, nil).CheckTransaction(orderID)
		return e
	})
	if mErr != nil {
		return payment.Transaction{}, failure("status", mErr)
	}
	return payment.Transaction{
		OrderID: resp.OrderID, TransactionID: resp.TransactionID, Status: resp.TransactionStatus,
		FraudStatus: resp.FraudStatus, PaymentType: resp.PaymentType, GrossAmount: resp.GrossAmount,
	}, nil
}

// Cancel is POST /v2/{orderId}/cancel.
func (c *Client) Cancel(ctx context.Context, orderID string) (payment.Transaction, error) {
	if err := checkID(orderID); err != nil {
		return payment.Transaction{}, err
	}
	var resp *coreapi.CancelResponse
	mErr := c.call(ctx, func(h mt.HttpClient) *mt.Error {
		var e *mt.Error
		resp, e = c.core(h, &mt.ConfigOptions{}).CancelTransaction(orderID)
		return e
	})
	if mErr != nil {
		return payment.Transaction{}, failure("cancel", mErr)
	}
	return payment.Transaction{
		OrderID: resp.OrderID, TransactionID: resp.TransactionID, Status: resp.TransactionStatus,
		FraudStatus: resp.FraudStatus, PaymentType: resp.PaymentType, GrossAmount: resp.GrossAmount,
	}, nil
}

// Refund is POST /v2/{orderId}/refund with the refund key.
func (c *Client) Refund(ctx context.Context, orderID string, r app.RefundRequest) (payment.Transaction, error) {
	if err := checkID(orderID); err != nil {
		return payment.Transaction{}, err
	}
	var resp *coreapi.RefundResponse
	mErr := c.call(ctx, func(h mt.HttpClient) *mt.Error {
		var e *mt.Error
		resp, e = c.core(h, &mt.ConfigOptions{}).RefundTransaction(orderID,
			&coreapi.RefundReq{RefundKey: r.Key, Amount: r.Amount, Reason: r.Reason})
		return e
	})
	if mErr != nil {
		return payment.Transaction{}, failure("refund", mErr)
	}
	return payment.Transaction{
		OrderID: resp.OrderID, TransactionID: resp.TransactionID, Status: resp.TransactionStatus,
		FraudStatus: resp.FraudStatus, PaymentType: resp.PaymentType, GrossAmount: resp.GrossAmount,
	}, nil
}

// checkID keeps order ids that are not Midtrans order ids out of the URL
// path the SDK formats them into.
func checkID(orderID string) error {
	if !payment.ValidOrderID(orderID) {
		return fmt.Errorf("midtrans: %q is not an order id", orderID)
	}
	return nil
}

// refusals are Midtrans status codes that say a request on a transaction
// will never succeed as it is: 400 validation, 402 no access for this
// payment type, 412 the transaction cannot be modified so (not refundable
// by API, already settled or ended), 413 malformed request, 414 refund
// refused for insufficient merchant funds (a person settles it).
var refusals = map[int]bool{400: true, 402: true, 412: true, 413: true, 414: true}

// failure translates an SDK error. It takes the concrete pointer: the SDK
// returns *mt.Error, and a nil one inside an error interface is not nil.
func failure(op string, e *mt.Error) error {
	code, message := e.StatusCode, statusMessage(e)
	switch {
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w", op, app.ErrUnknownTransaction)
	case refusals[code]:
		return fmt.Errorf("%s: %w", op, &app.RefusedError{StatusCode: code, Message: message})
	case code == 0 || code == http.StatusRequestTimeout:
		return fmt.Errorf("%s: midtrans unreachable: %s", op, e.Message)
	}
	return fmt.Errorf("%s: midtrans answered %d: %s", op, code, message)
}

// statusMessage is what Midtrans said: status_message (Core API) or
// error_messages (Snap), else the start of its answer.
func statusMessage(e *mt.Error) string {
	if e.RawApiResponse != nil {
		var body struct {
			StatusMessage string   `json:"status_message"`
			ErrorMessages []string `json:"error_messages"`
		}
		if json.Unmarshal(e.RawApiResponse.RawBody, &body) == nil {
			if body.StatusMessage != "" {
				return truncate(body.StatusMessage, 200)
			}
			if len(body.ErrorMessages) > 0 {
				return truncate(strings.Join(body.ErrorMessages, "; "), 200)
			}
		}
		return truncate(string(e.RawApiResponse.RawBody), 200)
	}
	return truncate(e.Message, 200)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
