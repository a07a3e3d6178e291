// subscription owns Tenflix's plans and subscriptions: admins manage plans,
// a paid order (order.paid) is granted a subscription or refused, a cron
// binding expires ended subscriptions, and other services ask it who is
// entitled. Every write is a Dapr state transaction whose event reaches
// Kafka through the Dapr outbox (topic "subscriptions").
package main

import (
	"context"
	"io"
	"log/slog"
	"slices"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/service"
	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/httpapi"
	"tenflix/services/subscription/internal/postgres"
	"tenflix/services/subscription/internal/statestore"
	"tenflix/services/subscription/migrations"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "subscription"

func main() { service.Main(appID, run) }

// settings is the service's configuration, read once from the environment.
type settings struct {
	service.Settings
	service.OIDC        // whose access tokens users bring
	StateStore   string // STATE_STORE
	DBSecret     string // DB_SECRET: the secret holding the PostgreSQL URL
	ExpiryBatch  int    // EXPIRY_BATCH: subscriptions one expiry run handles
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:   service.ReadSettings(r, 7107),
		OIDC:       service.ReadOIDC(r),
		StateStore: r.String("STATE_STORE", "subscription-state"),
		DBSecret:   r.String("DB_SECRET", "subscription-db"),
		// Each expiry is one transaction, and daprd's outbox publishes about
		// one event a second per partition: a large batch only queues.
		ExpiryBatch: r.Int("EXPIRY_BATCH", 100, 1, 10_000),
	}
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// LogValue is the configuration as it may be logged: no token.
func (s settings) LogValue() slog.Value {
	return slog.GroupValue(slices.Concat(s.Settings.LogAttrs(), s.OIDC.LogAttrs(), []slog.Attr{
		slog.String("state_store", s.StateStore),
		slog.String("db_secret", s.DBSecret),
		slog.Int("expiry_batch", s.ExpiryBatch),
	})...)
}

func run(ctx context.Context, getenv config.Env, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	log := service.Logger(stdout, appID, s.LogLevel, s)
	verifier, err := s.Verifier(ctx, log)
	if err != nil {
		return err
	}
	dapr, err := service.Sidecar(s.Settings)
	if err != nil {
		return err
	}
	defer dapr.Close() //nolint:errcheck
	// Ready means the components are loaded, so daprd has created the state
	// table the migrations index.
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

	a := app.New(statestore.New(dapr, s.StateStore), db, app.Options{ExpiryBatch: s.ExpiryBatch, Log: log})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: verifier, App: a})
	return httpserver.Run(ctx, log, s.Addr(), engine)
}
