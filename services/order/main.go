// order is the purchase saga's order aggregate: it stores each order and
// moves it through the saga as payment and subscription events arrive
// (docs/saga.md), each step written with its event in one Dapr state
// transaction (outbox, topic "orders"), and sweeps the orders the saga left
// waiting. It has no public route: order-aggregator invokes it.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/events"
	"tenflix/services/order/internal/httpapi"
	"tenflix/services/order/internal/payment"
	"tenflix/services/order/internal/postgres"
	"tenflix/services/order/internal/statestore"
	"tenflix/services/order/migrations"
)

// service is the app id.
const service = "order"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// settings is the order service's configuration, read once from the
// environment.
type settings struct {
	Port         int           // APP_PORT, the port the sidecar calls
	DaprHTTPPort int           // DAPR_HTTP_PORT, the sidecar's HTTP API (state, readiness)
	DaprGRPCPort int           // DAPR_GRPC_PORT, the sidecar's gRPC API (go-sdk: secrets, invocation)
	DaprAPIToken string        // DAPR_API_TOKEN: sent to the sidecar
	AppAPIToken  string        // APP_API_TOKEN: only the sidecar may call
	StateStore   string        // STATE_STORE
	SecretStore  string        // SECRET_STORE
	DBSecret     string        // DB_SECRET: the secret holding the PostgreSQL URL
	SweepAfter   time.Duration // SWEEP_AFTER: the sweep looks at orders not moved for this long
	SweepBatch   int           // SWEEP_BATCH: orders per sweep
	StuckAfter   time.Duration // STUCK_AFTER: the stuck list's default age
	LogLevel     string        // LOG_LEVEL
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:         r.Port("APP_PORT", 7105),
		DaprHTTPPort: r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort: r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken: r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:  r.Required("APP_API_TOKEN"),
		StateStore:   r.String("STATE_STORE", "order-state"),
		SecretStore:  r.String("SECRET_STORE", "secretstore"),
		DBSecret:     r.String("DB_SECRET", "order-db"),
		SweepAfter:   r.Duration("SWEEP_AFTER", app.DefaultSweepAfter, time.Second, 24*time.Hour),
		SweepBatch:   r.Int("SWEEP_BATCH", app.DefaultSweepBatch, 1, 1000),
		StuckAfter:   r.Duration("STUCK_AFTER", app.DefaultStuckAfter, time.Second, math.MaxInt64),
		LogLevel:     r.LogLevel("LOG_LEVEL", "info"),
	}
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// LogValue is the configuration as it may be logged: no token.
func (s settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", s.Port),
		slog.Int("dapr_http_port", s.DaprHTTPPort),
		slog.Int("dapr_grpc_port", s.DaprGRPCPort),
		config.Secret("dapr_api_token", s.DaprAPIToken),
		config.Secret("app_api_token", s.AppAPIToken),
		slog.String("state_store", s.StateStore),
		slog.String("secret_store", s.SecretStore),
		slog.String("db_secret", s.DBSecret),
		slog.Duration("sweep_after", s.SweepAfter),
		slog.Int("sweep_batch", s.SweepBatch),
		slog.Duration("stuck_after", s.StuckAfter),
		slog.String("log_level", s.LogLevel),
	)
}

func run(ctx context.Context, getenv config.Env, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	log := config.NewLogger(stdout, service, s.LogLevel)
	log.Info("starting", "config", s)

	dapr, err := sidecar.NewWithGRPC(strconv.Itoa(s.DaprHTTPPort), strconv.Itoa(s.DaprGRPCPort), s.DaprAPIToken)
	if err != nil {
		return err
	}
	defer dapr.Close() //nolint:errcheck
	// Components loaded means daprd created order_state, which the
	// migrations add indexes to.
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := dapr.WaitReady(waitCtx); err != nil {
		return err
	}
	dsn, err := dapr.Secret(ctx, s.SecretStore, s.DBSecret)
	if err != nil {
		return fmt.Errorf("database secret: %w", err)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return err
	}

	a := app.New(app.Options{
		State: statestore.New(dapr, s.StateStore), Reads: db, Payments: payment.New(dapr), Log: log,
		SweepAfter: s.SweepAfter, SweepBatch: s.SweepBatch, StuckAfter: s.StuckAfter,
	})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Orders: a, Events: events.New(a, log)})
	return httpserver.Run(ctx, log, "127.0.0.1:"+strconv.Itoa(s.Port), engine)
}
