// movie-command is the write side of the catalog: admins create, update and
// delete movies, videos, actors, creators, categories and tags. Every write is
// a Dapr state transaction whose events reach Kafka through the Dapr outbox.
package main

import (
	"context"
	"io"
	"log/slog"
	"slices"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/service"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/httpapi"
	"tenflix/services/movie-command/internal/postgres"
	"tenflix/services/movie-command/internal/statestore"
	"tenflix/services/movie-command/migrations"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "movie-command"

func main() { service.Main(appID, run) }

// settings is movie-command's configuration, read once from the environment.
type settings struct {
	service.Settings
	service.OIDC        // whose access tokens admins bring
	StateStore   string // STATE_STORE
	DBSecret     string // DB_SECRET: the secret holding the PostgreSQL URL
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:   service.ReadSettings(r, 7101),
		OIDC:       service.ReadOIDC(r),
		StateStore: r.String("STATE_STORE", "catalog-state"),
		DBSecret:   r.String("DB_SECRET", "movie-command-db"),
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

	a := app.New(statestore.New(dapr, s.StateStore), db)
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: verifier, App: a, Snapshot: db})
	return httpserver.Run(ctx, log, s.Addr(), engine)
}
