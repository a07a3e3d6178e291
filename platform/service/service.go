// Package service holds the start-up every Tenflix service repeats: the
// settings each one reads (its port, its sidecar's, the tokens, the secret
// store, the log level, and for those that check access tokens the OIDC
// issuer), and the steps its main takes in order: logger, token verifier,
// sidecar client, readiness, database, serving. A main still wires its own
// parts between these calls; nothing here runs on its own.
package service

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/sidecar"
)

// Main runs run until SIGINT or SIGTERM and exits 1 with its error.
func Main(name string, run func(context.Context, config.Env, io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Settings are what every service behind a sidecar reads.
type Settings struct {
	Port         int    // APP_PORT, the port the sidecar calls
	DaprHTTPPort int    // DAPR_HTTP_PORT, the sidecar's HTTP API (state, readiness)
	DaprGRPCPort int    // DAPR_GRPC_PORT, the sidecar's gRPC API (go-sdk: secrets, invocation)
	DaprAPIToken string // DAPR_API_TOKEN: sent to the sidecar
	AppAPIToken  string // APP_API_TOKEN: only the sidecar may call
	SecretStore  string // SECRET_STORE
	LogLevel     string // LOG_LEVEL
}

// ReadSettings reads the common settings; defaultPort is the service's
// APP_PORT. Problems are left in r, to be reported with the service's own.
func ReadSettings(r *config.Reader, defaultPort int) Settings {
	return Settings{
		Port:         r.Port("APP_PORT", defaultPort),
		DaprHTTPPort: r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort: r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken: r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:  r.Required("APP_API_TOKEN"),
		SecretStore:  r.String("SECRET_STORE", "secretstore"),
		LogLevel:     r.LogLevel("LOG_LEVEL", "info"),
	}
}

// LogAttrs are the settings as they may be logged: no token.
func (s Settings) LogAttrs() []slog.Attr {
	return []slog.Attr{
		slog.Int("port", s.Port),
		slog.Int("dapr_http_port", s.DaprHTTPPort),
		slog.Int("dapr_grpc_port", s.DaprGRPCPort),
		config.Secret("dapr_api_token", s.DaprAPIToken),
		config.Secret("app_api_token", s.AppAPIToken),
		slog.String("secret_store", s.SecretStore),
		slog.String("log_level", s.LogLevel),
	}
}

// Addr is where the service listens: loopback, only its sidecar calls.
func (s Settings) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// OIDC are the settings of a service that verifies access tokens.
type OIDC struct {
	OIDCIssuer   string // OIDC_ISSUER: whose access tokens callers bring
	OIDCAudience string // OIDC_AUDIENCE
	OIDCJWKSURL  string // OIDC_JWKS_URL: skips discovery when set
}

// ReadOIDC reads the issuer (required), the audience and the key set URL.
func ReadOIDC(r *config.Reader) OIDC {
	return OIDC{
		OIDCIssuer:   r.Required("OIDC_ISSUER"),
		OIDCAudience: r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:  r.String("OIDC_JWKS_URL", ""),
	}
}

// LogAttrs are the OIDC settings as they may be logged.
func (o OIDC) LogAttrs() []slog.Attr {
	return []slog.Attr{
		config.URL("oidc_issuer", o.OIDCIssuer),
		slog.String("oidc_audience", o.OIDCAudience),
		config.URL("oidc_jwks_url", o.OIDCJWKSURL),
	}
}

// Verifier makes the access token verifier. No network here: the key set is
// fetched with the first token.
func (o OIDC) Verifier(ctx context.Context, log *slog.Logger) (*authn.Verifier, error) {
	return authn.New(ctx, authn.Config{Issuer: o.OIDCIssuer, Audience: o.OIDCAudience, JWKSURL: o.OIDCJWKSURL, Log: log})
}

// Logger is the service's JSON logger; its first line is "starting" with
// the configuration (a LogValuer that masks its secrets).
func Logger(w io.Writer, name, level string, cfg slog.LogValuer) *slog.Logger {
	log := config.NewLogger(w, name, level)
	log.Info("starting", "config", cfg)
	return log
}

// Sidecar is the client of the service's sidecar. The gRPC connection is
// made lazily: the sidecar may start after the service.
func Sidecar(s Settings) (*sidecar.Client, error) {
	return sidecar.NewWithGRPC(strconv.Itoa(s.DaprHTTPPort), strconv.Itoa(s.DaprGRPCPort), s.DaprAPIToken)
}

// ReadyTimeout bounds the wait for the sidecar's components at start.
const ReadyTimeout = 2 * time.Minute

// WaitReady waits, at most ReadyTimeout, until the sidecar has loaded its
// components (state tables the migrations index exist from then on).
func WaitReady(ctx context.Context, dapr *sidecar.Client) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	return dapr.WaitReady(ctx)
}

// SecretReader reads the secret store (sidecar.Client).
type SecretReader interface {
	Secret(ctx context.Context, store, name string) (string, error)
}

// DatabaseURL reads the PostgreSQL URL from the secret store.
func DatabaseURL(ctx context.Context, secrets SecretReader, store, name string) (string, error) {
	dsn, err := secrets.Secret(ctx, store, name)
	if err != nil {
		return "", fmt.Errorf("database secret: %w", err)
	}
	return dsn, nil
}

// Database is a service's SQL adapter as its main opens it.
type Database interface {
	Migrate(ctx context.Context, migrations fs.FS) error
	Close()
}

// OpenDatabase opens the database with open (the service's postgres.Open)
// and applies its migrations; on failure nothing stays open.
func OpenDatabase[DB Database](ctx context.Context, dsn string, open func(context.Context, string) (DB, error), migrations fs.FS) (DB, error) {
	db, err := open(ctx, dsn)
	if err != nil {
		var none DB
		return none, err
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		db.Close()
		var none DB
		return none, err
	}
	return db, nil
}
