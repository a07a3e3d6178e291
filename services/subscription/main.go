// subscription owns Tenflix's plans and subscriptions: admins manage plans,
// a paid order (order.paid) is granted a subscription or refused, a cron
// binding expires ended subscriptions, and other services ask it who is
// entitled. Every write is a Dapr state transaction whose event reaches
// Kafka through the Dapr outbox (topic "subscriptions").
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/subscription/internal/app"
	"tenflix/services/subscription/internal/httpapi"
	"tenflix/services/subscription/internal/postgres"
	"tenflix/services/subscription/internal/statestore"
	"tenflix/services/subscription/migrations"
)

// service is the app id.
const service = "subscription"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// settings is the service's configuration, read once from the environment.
type settings struct {
	Port         int    // APP_PORT, the port the sidecar calls
	DaprHTTPPort int    // DAPR_HTTP_PORT, the sidecar's HTTP API (state, readiness)
	DaprGRPCPort int    // DAPR_GRPC_PORT, the sidecar's gRPC API (go-sdk: secrets)
	DaprAPIToken string // DAPR_API_TOKEN: sent to the sidecar
	AppAPIToken  string // APP_API_TOKEN: only the sidecar may call
	StateStore   string // STATE_STORE
	SecretStore  string // SECRET_STORE
	DBSecret     string // DB_SECRET: the secret holding the PostgreSQL URL
	OIDCIssuer   string // OIDC_ISSUER: whose access tokens users bring
	OIDCAudience string // OIDC_AUDIENCE
	OIDCJWKSURL  string // OIDC_JWKS_URL: skips discovery when set
	ExpiryBatch  int    // EXPIRY_BATCH: subscriptions one expiry run handles
	LogLevel     string // LOG_LEVEL
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:         r.Port("APP_PORT", 7107),
		DaprHTTPPort: r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort: r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken: r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:  r.Required("APP_API_TOKEN"),
		StateStore:   r.String("STATE_STORE", "subscription-state"),
		SecretStore:  r.String("SECRET_STORE", "secretstore"),
		DBSecret:     r.String("DB_SECRET", "subscription-db"),
		OIDCIssuer:   r.Required("OIDC_ISSUER"),
		OIDCAudience: r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:  r.String("OIDC_JWKS_URL", ""),
		// Each expiry is one transaction, and daprd's outbox publishes about
		// one event a second per partition: a large batch only queues.
		ExpiryBatch: r.Int("EXPIRY_BATCH", 100, 1, 10_000),
		LogLevel:    r.LogLevel("LOG_LEVEL", "info"),
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
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		config.URL("oidc_jwks_url", s.OIDCJWKSURL),
		slog.Int("expiry_batch", s.ExpiryBatch),
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

	// No network here: the key set is fetched with the first token.
	verifier, err := authn.New(ctx, authn.Config{
		Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, JWKSURL: s.OIDCJWKSURL, Log: log,
	})
	if err != nil {
		return err
	}

	dapr, err := sidecar.NewWithGRPC(strconv.Itoa(s.DaprHTTPPort), strconv.Itoa(s.DaprGRPCPort), s.DaprAPIToken)
	if err != nil {
		return err
	}
	defer dapr.Close() //nolint:errcheck
	// Ready means the components are loaded, so daprd has created the state
	// table the migrations index.
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

	a := app.New(statestore.New(dapr, s.StateStore), db, app.Options{ExpiryBatch: s.ExpiryBatch, Log: log})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: verifier, App: a})
	return httpserver.Run(ctx, log, "127.0.0.1:"+strconv.Itoa(s.Port), engine)
}
