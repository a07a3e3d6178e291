package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/sidecar"
	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/postgres"
	"tenflix/services/subscription/internal/postgres/postgrestest"
	"tenflix/services/subscription/internal/statestore"
	"tenflix/services/subscription/internal/subscription"

	orderv1 "tenflix/proto/order/v1"
	subscriptionv1 "tenflix/proto/subscription/v1"
)

// env is the service's use cases over a real, migrated database, written
// through a stand-in of daprd's state API on the same table, with a clock
// the test moves.
type env struct {
	t    *testing.T
	api  *postgrestest.StateAPI
	dapr *sidecar.Client
	db   *postgres.DB
	pool *pgxpool.Pool // the same database, for rows the service would never write

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn, pool := postgrestest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	api, dapr := postgrestest.NewStateAPI(t, pool)
	return &env{t: t, api: api, dapr: dapr, db: db, pool: pool, now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// instance is one subscription service instance: its own in-process locks,
// the shared store.
func (e *env) instance(opt app.Options) *app.App {
	opt.Now = e.clock
	return app.New(statestore.New(e.dapr, postgrestest.StateStore), e.db, opt)
}

// plan creates an active plan of days.
func (e *env) plan(a *app.App, name string, days int64) *subscriptionv1.Plan {
	e.t.Helper()
	p, err := a.CreatePlan(context.Background(), subscription.PlanInput{Name: name, Price: 50_000, ActivePeriod: days}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// doc reads a stored document by key (through the state API, as the
// service does); ok is false when it is missing.
func (e *env) doc(key string, msg proto.Message) bool {
	e.t.Helper()
	raw, _, err := e.dapr.GetState(context.Background(), postgrestest.StateStore, key)
	if err != nil {
		return false
	}
	if err := protojson.Unmarshal(raw, msg); err != nil {
		e.t.Fatal(err)
	}
	return true
}

// published lists the events published since mark (a len of Published).
func (e *env) published(mark int) []postgrestest.Published { return e.api.Published()[mark:] }

func (e *env) mark() int { return len(e.api.Published()) }

// paid is a PAID order of plan for user, paying for its current period.
func paid(id, user string, plan *subscriptionv1.Plan) *orderv1.Order {
	return &orderv1.Order{
		Id: id, UserId: user, Status: orderv1.StatusPaid, Price: plan.Price, Version: 3,
		Customer: &orderv1.Customer{UserId: user, Name: "User", Email: user + "@example.com"},
		Plan: &orderv1.Plan{Id: plan.Id, Name: plan.Name, Price: plan.Price,
			DiscountPrice: plan.DiscountPrice, ActivePeriod: plan.ActivePeriod},
	}
}

// wantEvents checks the types and keys of published events, in order.
func wantEvents(t *testing.T, got []postgrestest.Published, want ...string) {
	t.Helper()
	if len(got) != len(want)/2 {
		t.Fatalf("published %v, want %v", got, want)
	}
	for i, p := range got {
		if p.Type != want[2*i] || p.Key != want[2*i+1] {
			t.Fatalf("event %d: %s %s, want %s %s (all: %v)", i, p.Type, p.Key, want[2*i], want[2*i+1], got)
		}
	}
}
