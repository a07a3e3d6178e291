// movie-command is the write side of the catalog: admins create, update and
// delete movies, videos, actors, creators, categories and tags. Every write is
// a Dapr state transaction whose events reach Kafka through the Dapr outbox.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/httpapi"
	"tenflix/services/movie-command/internal/postgres"
	"tenflix/services/movie-command/internal/statestore"
	"tenflix/services/movie-command/migrations"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "movie-command:", err)
		os.Exit(1)
	}
}

type settings struct {
	Port         string
	DaprPort     string
	DaprToken    string
	AppToken     string
	StateStore   string
	SecretStore  string
	DBSecret     string
	OIDCIssuer   string // OIDC_ISSUER: whose access tokens admins bring
	OIDCAudience string // OIDC_AUDIENCE
	OIDCJWKSURL  string // OIDC_JWKS_URL: skips discovery when set
	LogLevel     string
}

func loadSettings(env config.Env) (settings, error) {
	r := config.NewReader(env)
	s := settings{
		Port:         r.String("APP_PORT", "7101"),
		DaprPort:     r.String("DAPR_HTTP_PORT", "3500"),
		DaprToken:    r.String("DAPR_API_TOKEN", ""),
		AppToken:     r.Required("APP_API_TOKEN"),
		StateStore:   r.String("STATE_STORE", "catalog-state"),
		SecretStore:  r.String("SECRET_STORE", "secretstore"),
		DBSecret:     r.String("DB_SECRET", "movie-command-db"),
		OIDCIssuer:   r.Required("OIDC_ISSUER"),
		OIDCAudience: r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:  r.String("OIDC_JWKS_URL", ""),
		LogLevel:     r.String("LOG_LEVEL", "info"),
	}
	return s, r.Err()
}

func run(ctx context.Context, getenv config.Env, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	log := config.NewLogger(stdout, "movie-command", s.LogLevel)
	log.Info("starting", "port", s.Port, "dapr_http_port", s.DaprPort, "state_store", s.StateStore,
		"dapr_api_token_set", s.DaprToken != "", "app_api_token_set", s.AppToken != "",
		"oidc_issuer", s.OIDCIssuer, "oidc_audience", s.OIDCAudience, "oidc_jwks_url", s.OIDCJWKSURL)

	// No network here: the key set is fetched with the first token.
	verifier, err := authn.New(ctx, authn.Config{
		Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, JWKSURL: s.OIDCJWKSURL, Log: log,
	})
	if err != nil {
		return err
	}

	dapr := sidecar.New(s.DaprPort, s.DaprToken)
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

	a := app.New(statestore.New(dapr, s.StateStore), db)
	engine := httpapi.Routes(log, s.AppToken, verifier, a)
	httpapi.InternalRoutes(engine, db)
	return httpserver.Run(ctx, log, "127.0.0.1:"+s.Port, engine)
}
