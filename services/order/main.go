// order is the purchase saga's order aggregate: it stores each order and
// moves it through the saga as payment and subscription events arrive
// (docs/saga.md), each step written with its event in one Dapr state
// transaction (outbox, topic "orders"), and sweeps the orders the saga left
// waiting. It has no public route: order-aggregator invokes it.
package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/service"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/events"
	"tenflix/services/order/internal/httpapi"
	"tenflix/services/order/internal/payment"
	"tenflix/services/order/internal/postgres"
	"tenflix/services/order/internal/statestore"
	"tenflix/services/order/migrations"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "order"

func main() { service.Main(appID, run) }

// settings is the order service's configuration, read once from the
// environment.
type settings struct {
	service.Settings
	StateStore string        // STATE_STORE
	DBSecret   string        // DB_SECRET: the secret holding the PostgreSQL URL
	SweepAfter time.Duration // SWEEP_AFTER: the sweep looks at orders not moved for this long
	SweepBatch int           // SWEEP_BATCH: orders per sweep
	StuckAfter time.Duration // STUCK_AFTER: the stuck list's default age
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:   service.ReadSettings(r, 7105),
		StateStore: r.String("STATE_STORE", "order-state"),
		DBSecret:   r.String("DB_SECRET", "order-db"),
		SweepAfter: r.Duration("SWEEP_AFTER", app.DefaultSweepAfter, time.Second, 24*time.Hour),
		SweepBatch: r.Int("SWEEP_BATCH", app.DefaultSweepBatch, 1, 1000),
		StuckAfter: r.Duration("STUCK_AFTER", app.DefaultStuckAfter, time.Second, math.MaxInt64),
	}
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// LogValue is the configuration as it may be logged: no token.
func (s settings) LogValue() slog.Value {
	return slog.GroupValue(append(s.Settings.LogAttrs(),
		slog.String("state_store", s.StateStore),
		slog.String("db_secret", s.DBSecret),
		slog.Duration("sweep_after", s.SweepAfter),
		slog.Int("sweep_batch", s.SweepBatch),
		slog.Duration("stuck_after", s.StuckAfter),
	)...)
}

func run(ctx context.Context, getenv config.Env, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	log := service.Logger(stdout, appID, s.LogLevel, s)
	dapr, err := service.Sidecar(s.Settings)
	if err != nil {
		return err
	}
	defer dapr.Close() //nolint:errcheck
	// Components loaded means daprd created order_state, which the
	// migrations add indexes to.
	if err := service.WaitReady(ctx, dapr); err != nil {
		return err
	}
	dsn, err := service.DatabaseURL(ctx, dapr, s.SecretStore, s.DBSecret)
	if err != nil {
		return err
	}
	db, err := service.OpenDatabase(ctx, dsn, postgres.Open, migrations.FS)
	if err != nil {
		return err
	}
	defer db.Close()

	a := app.New(app.Options{
		State: statestore.New(dapr, s.StateStore), Reads: db, Payments: payment.New(dapr), Log: log,
		SweepAfter: s.SweepAfter, SweepBatch: s.SweepBatch, StuckAfter: s.StuckAfter,
	})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Orders: a, Events: events.New(a, log)})
	return httpserver.Run(ctx, log, s.Addr(), engine)
}
