// Package sagatest fakes the order, payment and subscription services behind
// a sidecartest sidecar, answering service invocations as docs/saga.md's
// internal APIs do (protojson documents, plain JSON envelopes, error
// envelopes that the sidecar cuts to 63 bytes as daprd does). Tests seed
// its state, make a route fail or slow, and read what was asked.
package sagatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/sidecar/sidecartest"
	orderv1 "tenflix/proto/order/v1"
	paymentv1 "tenflix/proto/payment/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
)

// Routes, as Fail and Delay name them.
const (
	PlanGet          = "subscription GET /internal/plans/{id}"
	EntitlementGet   = "subscription GET /internal/entitlements/{userId}"
	OutcomeGet       = "subscription GET /internal/orders/{orderId}/subscription"
	OrderCreate      = "order POST /internal/orders"
	OrderCancel      = "order POST /internal/orders/{id}/cancel"
	OrderGet         = "order GET /internal/orders/{id}"
	OrderList        = "order GET /internal/orders"
	OrderStuck       = "order GET /internal/orders/stuck"
	OrderMarkRefund  = "order POST /internal/orders/{id}/mark-refunded"
	PaymentCreate    = "payment POST /internal/payments"
	PaymentGet       = "payment GET /internal/payments/{orderId}"
	PaymentNotify    = "payment POST /internal/notifications"
	unknownRoute     = "unknown"
	notFoundEnvelope = `{"error":{"code":"not_found","message":"no such thing in this fake service"}}`
)

// Services is the fake. Its maps are its state: lock with Lock/Unlock to
// touch them while requests run.
type Services struct {
	sync.Mutex
	Plans         map[string]*subscriptionv1.Plan
	Entitled      map[string]bool // by user id
	Orders        map[string]*orderv1.Order
	Payments      map[string]*paymentv1.Payment
	Subscriptions map[string]*subscriptionv1.Subscription // by order id
	Refusals      map[string]*subscriptionv1.Refusal      // by order id
	// PaymentRequests are the bodies of POST /internal/payments, decoded.
	PaymentRequests []map[string]any
	// Cancels and MarkRefunds are the bodies of those calls, by order id.
	Cancels     map[string]map[string]string
	MarkRefunds map[string]map[string]string

	faults map[string]fault
	Now    func() time.Time
}

type fault struct {
	status int
	body   string
	delay  time.Duration
}

// New fakes the three services on sc.
func New(sc *sidecartest.Sidecar) *Services {
	s := &Services{
		Plans: map[string]*subscriptionv1.Plan{}, Entitled: map[string]bool{},
		Orders: map[string]*orderv1.Order{}, Payments: map[string]*paymentv1.Payment{},
		Subscriptions: map[string]*subscriptionv1.Subscription{}, Refusals: map[string]*subscriptionv1.Refusal{},
		Cancels: map[string]map[string]string{}, MarkRefunds: map[string]map[string]string{},
		faults: map[string]fault{}, Now: time.Now,
	}
	sc.HandleInvoke(s.answer)
	return s
}

// Envelope is the error body a Tenflix service answers with.
func Envelope(code, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return string(b)
}

// Fail makes route answer status with the error envelope of code (code ""
// : a body that is not an envelope, as daprd's own refusals).
func (s *Services) Fail(route string, status int, code string) {
	body := "upstream failure"
	if code != "" {
		body = Envelope(code, "a message long enough to be cut at 63 bytes by the sidecar, as daprd does")
	}
	s.Lock()
	defer s.Unlock()
	f := s.faults[route]
	f.status, f.body = status, body
	s.faults[route] = f
}

// Delay makes route answer after d.
func (s *Services) Delay(route string, d time.Duration) {
	s.Lock()
	defer s.Unlock()
	f := s.faults[route]
	f.delay = d
	s.faults[route] = f
}

// Heal makes route answer normally again.
func (s *Services) Heal(route string) {
	s.Lock()
	defer s.Unlock()
	delete(s.faults, route)
}

// route names the internal route of an invocation and its path parameter.
func route(inv sidecartest.Invoked) (string, string) {
	seg := strings.Split(strings.Trim(inv.Method, "/"), "/")
	key := inv.AppID + " " + inv.Verb + " /" + strings.Join(seg, "/")
	param := ""
	if len(seg) >= 3 {
		param, _ = url.PathUnescape(seg[2])
	}
	switch {
	case inv.AppID == "subscription" && inv.Verb == "GET" && len(seg) == 3 && seg[1] == "plans":
		return PlanGet, param
	case inv.AppID == "subscription" && inv.Verb == "GET" && len(seg) == 3 && seg[1] == "entitlements":
		return EntitlementGet, param
	case inv.AppID == "subscription" && inv.Verb == "GET" && len(seg) == 4 && seg[1] == "orders" && seg[3] == "subscription":
		return OutcomeGet, param
	case key == OrderCreate, key == OrderList, key == OrderStuck, key == PaymentCreate, key == PaymentNotify:
		return key, ""
	case inv.AppID == "order" && len(seg) == 4 && seg[1] == "orders" && inv.Verb == "POST" && seg[3] == "cancel":
		return OrderCancel, param
	case inv.AppID == "order" && len(seg) == 4 && seg[1] == "orders" && inv.Verb == "POST" && seg[3] == "mark-refunded":
		return OrderMarkRefund, param
	case inv.AppID == "order" && len(seg) == 3 && seg[1] == "orders" && inv.Verb == "GET":
		return OrderGet, param
	case inv.AppID == "payment" && len(seg) == 3 && seg[1] == "payments" && inv.Verb == "GET":
		return PaymentGet, param
	}
	return unknownRoute, ""
}

func (s *Services) answer(inv sidecartest.Invoked) (int, []byte) {
	r, param := route(inv)
	s.Lock()
	f := s.faults[r]
	s.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.status != 0 {
		return f.status, []byte(f.body)
	}
	s.Lock()
	defer s.Unlock()
	switch r {
	case PlanGet:
		return doc(s.Plans[param])
	case EntitlementGet:
		return plain(map[string]any{"userId": param, "entitled": s.Entitled[param], "subscription": nil})
	case OutcomeGet:
		if sub := s.Subscriptions[param]; sub != nil {
			return wrapped("subscription", sub)
		}
		if ref := s.Refusals[param]; ref != nil {
			return wrapped("refusal", ref)
		}
		return http.StatusNotFound, []byte(notFoundEnvelope)
	case OrderCreate:
		return s.createOrder(inv.Body)
	case OrderCancel:
		return s.cancelOrder(param, inv.Body)
	case OrderGet:
		return doc(s.Orders[param])
	case OrderList:
		return s.listOrders(inv.Query)
	case OrderStuck:
		return s.stuckOrders(inv.Query)
	case OrderMarkRefund:
		return s.markRefunded(param, inv.Body)
	case PaymentCreate:
		return s.createPayment(inv.Body)
	case PaymentGet:
		return doc(s.Payments[param])
	case PaymentNotify:
		return http.StatusOK, []byte(`{"status":"ok"}`)
	}
	return http.StatusNotFound, []byte(notFoundEnvelope)
}

func doc[M proto.Message](m M) (int, []byte) {
	if any(m) == nil || !m.ProtoReflect().IsValid() {
		return http.StatusNotFound, []byte(notFoundEnvelope)
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		return http.StatusInternalServerError, []byte(Envelope("internal", err.Error()))
	}
	return http.StatusOK, b
}

func wrapped(key string, m proto.Message) (int, []byte) {
	b, _ := protojson.Marshal(m)
	return http.StatusOK, []byte(`{"` + key + `":` + string(b) + `}`)
}

func plain(v any) (int, []byte) {
	b, _ := json.Marshal(v)
	return http.StatusOK, b
}

func (s *Services) now() string { return s.Now().UTC().Format(time.RFC3339) }

func (s *Services) createOrder(body []byte) (int, []byte) {
	o := &orderv1.Order{}
	if err := protojson.Unmarshal(body, o); err != nil {
		return http.StatusBadRequest, []byte(Envelope("invalid", err.Error()))
	}
	if _, err := uuid.Parse(o.GetId()); err != nil || o.GetUserId() == "" || o.GetPlan().GetId() == "" || o.GetPrice() <= 0 {
		return http.StatusBadRequest, []byte(Envelope("invalid", "id, userId, plan and price are required"))
	}
	if s.Orders[o.GetId()] != nil {
		return http.StatusConflict, []byte(Envelope("conflict", "order exists"))
	}
	for _, other := range s.Orders { // the store's unique index, in effect
		if other.GetUserId() == o.GetUserId() && (other.GetStatus() == orderv1.StatusPending || other.GetStatus() == orderv1.StatusPaid) {
			return http.StatusConflict, []byte(Envelope("order_pending", "the user has an order in flight"))
		}
	}
	now := s.now()
	o.Status, o.CreatedAt, o.UpdatedAt, o.Version = orderv1.StatusPending, now, now, 1
	o.Timeline = []*orderv1.Step{{Name: "created", At: now}}
	s.Orders[o.GetId()] = o
	_, b := doc(o)
	return http.StatusCreated, b
}

func (s *Services) cancelOrder(id string, body []byte) (int, []byte) {
	var req map[string]string
	_ = json.Unmarshal(body, &req)
	s.Cancels[id] = req
	o := s.Orders[id]
	if o == nil {
		return http.StatusNotFound, []byte(notFoundEnvelope)
	}
	if o.GetStatus() != orderv1.StatusPending {
		return http.StatusConflict, []byte(Envelope("conflict", "only a PENDING order can be cancelled"))
	}
	o.Status, o.Reason, o.UpdatedAt = orderv1.StatusCancelled, req["reason"], s.now()
	o.Timeline = append(o.Timeline, &orderv1.Step{Name: "cancelled", At: o.UpdatedAt, Detail: req["reason"]})
	return doc(o)
}

func (s *Services) markRefunded(id string, body []byte) (int, []byte) {
	var req map[string]string
	_ = json.Unmarshal(body, &req)
	s.MarkRefunds[id] = req
	o := s.Orders[id]
	if o == nil {
		return http.StatusNotFound, []byte(notFoundEnvelope)
	}
	if o.GetStatus() != orderv1.StatusRefundFailed {
		return http.StatusConflict, []byte(Envelope("conflict", "only a REFUND_FAILED order can be marked refunded"))
	}
	o.Status, o.UpdatedAt = orderv1.StatusRefunded, s.now()
	o.Timeline = append(o.Timeline, &orderv1.Step{Name: "marked-refunded", At: o.UpdatedAt, Detail: req["note"] + " (" + req["by"] + ")"})
	return doc(o)
}

func (s *Services) listOrders(query string) (int, []byte) {
	q, _ := url.ParseQuery(query)
	page, err1 := strconv.Atoi(q.Get("page"))
	size, err2 := strconv.Atoi(q.Get("size"))
	if q.Get("userId") == "" || err1 != nil || err2 != nil || page < 1 || size < 1 || size > 100 {
		return http.StatusBadRequest, []byte(Envelope("invalid", "userId, page and size are required"))
	}
	var mine []*orderv1.Order
	for _, o := range s.Orders {
		if o.GetUserId() == q.Get("userId") {
			mine = append(mine, o)
		}
	}
	slices.SortFunc(mine, func(a, b *orderv1.Order) int {
		return strings.Compare(b.GetCreatedAt()+b.GetId(), a.GetCreatedAt()+a.GetId())
	})
	from := min((page-1)*size, len(mine))
	to := min(from+size, len(mine))
	items := []json.RawMessage{}
	for _, o := range mine[from:to] {
		b, _ := protojson.Marshal(o)
		items = append(items, b)
	}
	return plain(map[string]any{"items": items, "page": page, "size": size, "total": len(mine)})
}

func (s *Services) stuckOrders(query string) (int, []byte) {
	q, _ := url.ParseQuery(query)
	d, err := time.ParseDuration(q.Get("olderThan"))
	if err != nil {
		return http.StatusBadRequest, []byte(Envelope("invalid", "olderThan must be a duration"))
	}
	cutoff := s.Now().Add(-d).UTC().Format(time.RFC3339)
	var stuck []*orderv1.Order
	for _, o := range s.Orders {
		if !orderv1.Final(o.GetStatus()) && o.GetUpdatedAt() < cutoff {
			stuck = append(stuck, o)
		}
	}
	slices.SortFunc(stuck, func(a, b *orderv1.Order) int { return strings.Compare(a.GetUpdatedAt(), b.GetUpdatedAt()) })
	items := []json.RawMessage{}
	for _, o := range stuck {
		b, _ := protojson.Marshal(o)
		items = append(items, b)
	}
	return plain(map[string]any{"items": items})
}

func (s *Services) createPayment(body []byte) (int, []byte) {
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, []byte(Envelope("invalid", err.Error()))
	}
	s.PaymentRequests = append(s.PaymentRequests, req)
	id, _ := req["orderId"].(string)
	if p := s.Payments[id]; p != nil { // a retry: the same payment
		_, b := doc(p)
		return http.StatusCreated, b
	}
	amount, _ := req["amount"].(float64)
	user, _ := req["userId"].(string)
	now := s.now()
	p := &paymentv1.Payment{OrderId: id, UserId: user, Amount: int64(amount), Status: paymentv1.StatusPending,
		SnapToken: "snap-" + id, RedirectUrl: "https://app.sandbox.midtrans.com/snap/v4/redirection/snap-" + id,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	s.Payments[id] = p
	_, b := doc(p)
	return http.StatusCreated, b
}

// Order seeds an order of user in status, created at created, and returns it.
func (s *Services) Order(tb testing.TB, user, status string, created time.Time) *orderv1.Order {
	tb.Helper()
	at := created.UTC().Format(time.RFC3339)
	o := &orderv1.Order{
		Id: uuid.NewString(), UserId: user, Status: status, Price: 49000, CreatedAt: at, UpdatedAt: at, Version: 3,
		Customer: &orderv1.Customer{UserId: user, Name: "User " + user, Email: user + "@example.com"},
		Plan:     &orderv1.Plan{Id: "monthly", Name: "Monthly", Price: 59000, DiscountPrice: 49000, ActivePeriod: 30},
		Timeline: []*orderv1.Step{{Name: "created", At: at}, {Name: "payment-requested", At: at, Detail: fmt.Sprintf("snap %s", user)}},
	}
	s.Lock()
	defer s.Unlock()
	s.Orders[o.GetId()] = o
	return o
}
