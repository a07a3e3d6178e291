// notification tells people what concerns them: a new movie they can watch
// (once it has a READY video, to everyone who opted in) and the outcome of
// their own orders. It keeps recipients from identity's events, an inbox per
// user in its own PostgreSQL database (pgx: it publishes nothing, so no
// Dapr state or outbox), a live Server-Sent Events stream fed by
// LISTEN/NOTIFY, and email over SMTP with retries. A movie's fan-out and
// the emails are jobs run after the event is acknowledged.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/notification/internal/app"
	"tenflix/services/notification/internal/httpapi"
	"tenflix/services/notification/internal/live"
	"tenflix/services/notification/internal/mail"
	"tenflix/services/notification/internal/postgres"
	"tenflix/services/notification/internal/token"
	"tenflix/services/notification/migrations"
)

// service is the app id.
const service = "notification"

// Secrets read from the secret store (dapr/config/notification.yaml scopes
// them). SMTP settings are one secret each so that the local store's
// generate:password can fill the password.
const (
	secretDB         = "notification-db"          // PostgreSQL URL
	secretSigningKey = "notification-signing-key" // HMAC key of stream tickets and unsubscribe links
	secretSMTPHost   = "smtp-host"                // empty: no email (jobs wait)
	secretSMTPPort   = "smtp-port"
	secretSMTPUser   = "smtp-username" // empty: no AUTH
	secretSMTPPass   = "smtp-password"
	secretSMTPFrom   = "smtp-from"
)

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
	Port         int           // APP_PORT, the port the sidecar calls
	DaprHTTPPort int           // DAPR_HTTP_PORT, the sidecar's HTTP API (readiness)
	DaprGRPCPort int           // DAPR_GRPC_PORT, the sidecar's gRPC API (go-sdk: secrets)
	DaprAPIToken string        // DAPR_API_TOKEN: sent to the sidecar
	AppAPIToken  string        // APP_API_TOKEN: only the sidecar may call
	SecretStore  string        // SECRET_STORE
	OIDCIssuer   string        // OIDC_ISSUER: whose access tokens users bring
	OIDCAudience string        // OIDC_AUDIENCE
	OIDCJWKSURL  string        // OIDC_JWKS_URL: skips discovery when set
	PublicURL    string        // PUBLIC_URL: the gateway as users reach it (links in emails)
	FanOutBatch  int           // FANOUT_BATCH: users per fan-out transaction
	EmailBatch   int           // EMAIL_BATCH: emails claimed at once
	EmailLease   time.Duration // EMAIL_LEASE: a killed worker's claimed emails wait this long
	TicketTTL    time.Duration // STREAM_TICKET_TTL
	KeepAlive    time.Duration // STREAM_KEEPALIVE: comment on an idle stream this often
	MaxStream    time.Duration // STREAM_MAX: a stream is closed after this (the client reconnects)
	StreamMode   string        // STREAM_MODE: poll (through daprd 1.14, which buffers) or open
	LogLevel     string        // LOG_LEVEL
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:         r.Port("APP_PORT", 7109),
		DaprHTTPPort: r.Port("DAPR_HTTP_PORT", 3509),
		DaprGRPCPort: r.Port("DAPR_GRPC_PORT", 3609),
		DaprAPIToken: r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:  r.Required("APP_API_TOKEN"),
		SecretStore:  r.String("SECRET_STORE", "secretstore"),
		OIDCIssuer:   r.Required("OIDC_ISSUER"),
		OIDCAudience: r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:  r.String("OIDC_JWKS_URL", ""),
		PublicURL:    r.String("PUBLIC_URL", "http://127.0.0.1:8080"),
		FanOutBatch:  r.Int("FANOUT_BATCH", 500, 1, 10_000),
		EmailBatch:   r.Int("EMAIL_BATCH", 20, 1, 1_000),
		EmailLease:   r.Duration("EMAIL_LEASE", 2*time.Minute, 3*time.Second, time.Hour),
		TicketTTL:    r.Duration("STREAM_TICKET_TTL", time.Minute, 5*time.Second, 10*time.Minute),
		KeepAlive:    r.Duration("STREAM_KEEPALIVE", 15*time.Second, 100*time.Millisecond, 5*time.Minute),
		MaxStream:    r.Duration("STREAM_MAX", time.Hour, time.Second, 24*time.Hour),
		StreamMode:   r.String("STREAM_MODE", httpapi.StreamPoll),
		LogLevel:     r.LogLevel("LOG_LEVEL", "info"),
	}
	r.Check(s.StreamMode == httpapi.StreamPoll || s.StreamMode == httpapi.StreamOpen,
		"STREAM_MODE must be %s or %s, got %q", httpapi.StreamPoll, httpapi.StreamOpen, s.StreamMode)
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
		slog.String("secret_store", s.SecretStore),
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		config.URL("oidc_jwks_url", s.OIDCJWKSURL),
		config.URL("public_url", s.PublicURL),
		slog.Int("fanout_batch", s.FanOutBatch),
		slog.Int("email_batch", s.EmailBatch),
		slog.String("email_lease", s.EmailLease.String()),
		slog.String("stream_ticket_ttl", s.TicketTTL.String()),
		slog.String("stream_keepalive", s.KeepAlive.String()),
		slog.String("stream_max", s.MaxStream.String()),
		slog.String("stream_mode", s.StreamMode),
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
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := dapr.WaitReady(waitCtx); err != nil {
		return err
	}
	// No network here: the key set is fetched with the first token.
	verifier, err := authn.New(ctx, authn.Config{
		Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, JWKSURL: s.OIDCJWKSURL, Log: log,
	})
	if err != nil {
		return err
	}
	svc, err := newService(ctx, s, log, dapr, verifier)
	if err != nil {
		return err
	}
	defer svc.db.Close()
	return svc.serve(ctx, "127.0.0.1:"+strconv.Itoa(s.Port))
}

// secretReader reads the secret store (sidecar.Client).
type secretReader interface {
	Secret(ctx context.Context, store, name string) (string, error)
}

// server is the wired service: what run serves, and what tests build
// without a sidecar.
type server struct {
	log     *slog.Logger
	db      *postgres.DB
	dsn     string
	app     *app.App
	hub     *live.Hub
	handler http.Handler
}

// newService reads the secrets, migrates the database and wires the API.
func newService(ctx context.Context, s settings, log *slog.Logger, secrets secretReader, verifier authn.TokenVerifier) (*server, error) {
	dsn, err := secrets.Secret(ctx, s.SecretStore, secretDB)
	if err != nil {
		return nil, fmt.Errorf("database secret: %w", err)
	}
	key, err := secrets.Secret(ctx, s.SecretStore, secretSigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing key secret: %w", err)
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", secretSigningKey, err)
	}
	mailer, err := newMailer(ctx, s, log, secrets, signer)
	if err != nil {
		return nil, err
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		db.Close()
		return nil, err
	}
	var m app.Mailer
	if mailer != nil {
		m = mailer
	}
	a := app.New(db, m, app.Options{FanOutBatch: s.FanOutBatch, EmailBatch: s.EmailBatch,
		EmailLease: s.EmailLease, Log: log})
	hub := live.NewHub()
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: verifier, App: a, Hub: hub, Tokens: signer,
		TicketTTL: s.TicketTTL, KeepAlive: s.KeepAlive, MaxStream: s.MaxStream, StreamMode: s.StreamMode})
	return &server{log: log, db: db, dsn: dsn, app: a, hub: hub, handler: engine}, nil
}

// newMailer builds the SMTP sender from the secret store; nil when no SMTP
// host is configured.
func newMailer(ctx context.Context, s settings, log *slog.Logger, secrets secretReader, signer *token.Signer) (*mail.Sender, error) {
	vals := map[string]string{}
	for _, name := range []string{secretSMTPHost, secretSMTPPort, secretSMTPUser, secretSMTPPass, secretSMTPFrom} {
		v, err := secrets.Secret(ctx, s.SecretStore, name)
		if err != nil && !errors.Is(err, sidecar.ErrNotFound) {
			return nil, fmt.Errorf("smtp secret %s: %w", name, err)
		}
		vals[name] = v
	}
	if vals[secretSMTPHost] == "" {
		log.Warn("no smtp-host secret: emails are queued, not sent")
		return nil, nil
	}
	port, err := strconv.Atoi(vals[secretSMTPPort])
	if err != nil {
		return nil, fmt.Errorf("secret %s: %q is not a port", secretSMTPPort, vals[secretSMTPPort])
	}
	from := vals[secretSMTPFrom]
	if from == "" {
		from = "Tenflix <noreply@tenflix.local>"
	}
	sender, err := mail.NewSender(mail.Config{Host: vals[secretSMTPHost], Port: port, Username: vals[secretSMTPUser],
		Password: vals[secretSMTPPass], From: from}, s.PublicURL, signer)
	if err != nil {
		return nil, err
	}
	log.Info("smtp", "host", vals[secretSMTPHost], "port", port, "auth", vals[secretSMTPUser] != "")
	return sender, nil
}

// serve runs the HTTP server, the LISTEN connection and the workers until
// ctx ends.
func (s *server) serve(ctx context.Context, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { live.Listen(ctx, s.log, s.dsn, postgres.Channel, s.hub) })
	wg.Go(func() { s.app.RunWorkers(ctx) })
	err := httpserver.Run(ctx, s.log, addr, s.handler)
	cancel()
	wg.Wait()
	return err
}
