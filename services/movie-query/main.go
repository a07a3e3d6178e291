// Command movie-query serves Tenflix's movie catalog for browsing: a read
// model in MongoDB, built from the catalog events movie-command publishes;
// and watching: signed playback URLs for entitled users, their positions and
// what they have not finished.
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
	"tenflix/services/movie-query/internal/grants"
	"tenflix/services/movie-query/internal/httpapi"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/moviecommand"
	"tenflix/services/movie-query/internal/projector"
	"tenflix/services/movie-query/internal/reconcile"
	"tenflix/services/movie-query/internal/subscription"
	"tenflix/services/movie-query/internal/watching"
)

const service = "movie-query"

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
	Port          int    // APP_PORT, the port the sidecar calls
	MongoURL      string // MONGO_URL
	MongoDatabase string // MONGO_DATABASE
	AppAPIToken   string // APP_API_TOKEN: only the sidecar may call
	OIDCIssuer    string // OIDC_ISSUER: whose access tokens browsers bring
	OIDCAudience  string // OIDC_AUDIENCE
	OIDCJWKSURL   string // OIDC_JWKS_URL: skips discovery when set
	DaprHTTPPort  int    // DAPR_HTTP_PORT, the sidecar's HTTP API
	DaprGRPCPort  int    // DAPR_GRPC_PORT, the sidecar's gRPC API (go-sdk: service invocation)
	DaprAPIToken  string // DAPR_API_TOKEN: sent to the sidecar
	LogLevel      string // LOG_LEVEL
	SecretStore   string // SECRET_STORE: holds playback-signing-key
	// PlaybackGrantTTL is how long a playback URL works (PLAYBACK_GRANT_TTL).
	PlaybackGrantTTL time.Duration
	// EntitlementTimeout bounds the wait for subscription (ENTITLEMENT_TIMEOUT).
	EntitlementTimeout time.Duration
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:             r.Port("APP_PORT", 7102),
		MongoURL:         r.Required("MONGO_URL"),
		MongoDatabase:    r.String("MONGO_DATABASE", "movie_query"),
		AppAPIToken:      r.Required("APP_API_TOKEN"),
		OIDCIssuer:       r.Required("OIDC_ISSUER"),
		OIDCAudience:     r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:      r.String("OIDC_JWKS_URL", ""),
		DaprHTTPPort:     r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort:     r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken:     r.String("DAPR_API_TOKEN", ""),
		LogLevel:         r.LogLevel("LOG_LEVEL", "info"),
		SecretStore:      r.String("SECRET_STORE", "secretstore"),
		PlaybackGrantTTL: r.Duration("PLAYBACK_GRANT_TTL", watching.DefaultGrantTTL, time.Minute, 24*time.Hour),
		EntitlementTimeout: r.Duration("ENTITLEMENT_TIMEOUT", subscription.DefaultTimeout,
			100*time.Millisecond, 30*time.Second),
	}
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// LogValue is the configuration as it may be logged: no password, no token.
func (s settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", s.Port),
		config.URL("mongo_url", s.MongoURL),
		slog.String("mongo_database", s.MongoDatabase),
		config.Secret("app_api_token", s.AppAPIToken),
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		config.URL("oidc_jwks_url", s.OIDCJWKSURL),
		slog.Int("dapr_http_port", s.DaprHTTPPort),
		slog.Int("dapr_grpc_port", s.DaprGRPCPort),
		config.Secret("dapr_api_token", s.DaprAPIToken),
		slog.String("log_level", s.LogLevel),
		slog.String("secret_store", s.SecretStore),
		slog.String("playback_grant_ttl", s.PlaybackGrantTTL.String()),
		slog.String("entitlement_timeout", s.EntitlementTimeout.String()),
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
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, err := mongostore.Connect(startCtx, s.MongoURL)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	}()
	store, err := mongostore.New(startCtx, client.Database(s.MongoDatabase))
	if err != nil {
		return err
	}

	dapr, err := sidecar.NewWithGRPC(strconv.Itoa(s.DaprHTTPPort), strconv.Itoa(s.DaprGRPCPort), s.DaprAPIToken)
	if err != nil {
		return err
	}
	defer dapr.Close() //nolint:errcheck
	project := projector.New(store).Handle
	watch := watching.New(store, store, subscription.New(dapr, s.EntitlementTimeout), grants.New(dapr, s.SecretStore),
		watching.Options{GrantTTL: s.PlaybackGrantTTL})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{
		Log: log, Verifier: verifier, Movies: store, Events: project,
		Reconciler: reconcile.New(moviecommand.New(dapr), store, project, log, reconcile.DefaultSettle),
		Watching:   watch,
	})
	return httpserver.Run(ctx, log, fmt.Sprintf("127.0.0.1:%d", s.Port), engine)
}
