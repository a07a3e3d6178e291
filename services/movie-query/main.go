// Command movie-query serves Tenflix's movie catalog for browsing: a read
// model in MongoDB, built from the catalog events movie-command publishes;
// and watching: signed playback URLs for entitled users, their positions and
// what they have not finished.
package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/service"
	"tenflix/services/movie-query/internal/grants"
	"tenflix/services/movie-query/internal/httpapi"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/moviecommand"
	"tenflix/services/movie-query/internal/projector"
	"tenflix/services/movie-query/internal/reconcile"
	"tenflix/services/movie-query/internal/subscription"
	"tenflix/services/movie-query/internal/watching"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "movie-query"

func main() { service.Main(appID, run) }

// settings is the service's configuration, read once from the environment.
type settings struct {
	service.Settings        // SECRET_STORE holds playback-signing-key
	service.OIDC            // whose access tokens browsers bring
	MongoURL         string // MONGO_URL
	MongoDatabase    string // MONGO_DATABASE
	// PlaybackGrantTTL is how long a playback URL works (PLAYBACK_GRANT_TTL).
	PlaybackGrantTTL time.Duration
	// EntitlementTimeout bounds the wait for subscription (ENTITLEMENT_TIMEOUT).
	EntitlementTimeout time.Duration
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:         service.ReadSettings(r, 7102),
		OIDC:             service.ReadOIDC(r),
		MongoURL:         r.Required("MONGO_URL"),
		MongoDatabase:    r.String("MONGO_DATABASE", "movie_query"),
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
	return slog.GroupValue(slices.Concat(s.Settings.LogAttrs(), s.OIDC.LogAttrs(), []slog.Attr{
		config.URL("mongo_url", s.MongoURL),
		slog.String("mongo_database", s.MongoDatabase),
		slog.String("playback_grant_ttl", s.PlaybackGrantTTL.String()),
		slog.String("entitlement_timeout", s.EntitlementTimeout.String()),
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

	dapr, err := service.Sidecar(s.Settings)
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
	return httpserver.Run(ctx, log, s.Addr(), engine)
}
