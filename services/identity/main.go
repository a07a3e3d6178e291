// identity is Tenflix's account service and token issuer: people register
// and sign in here (OAuth2 password and refresh_token grants), and get RS256
// access tokens that the gateway verifies with the JWKS published here.
// Accounts are documents of Dapr state store identity-state (PostgreSQL),
// written by state transactions whose UserRegistered events leave through
// daprd's outbox; refresh tokens and sign-in attempts are plain SQL tables.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/service"
	"tenflix/platform/sidecar"
	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/app"
	"tenflix/services/identity/internal/httpapi"
	"tenflix/services/identity/internal/password"
	"tenflix/services/identity/internal/postgres"
	"tenflix/services/identity/internal/statestore"
	"tenflix/services/identity/internal/token"
	"tenflix/services/identity/migrations"
)

// appID is the Dapr app id (daprd makes it the CloudEvent source).
const appID = "identity"

// Secrets read from the secret store.
const (
	secretDB            = "identity-db"                   // PostgreSQL URL
	secretSigningKey    = "identity-signing-key"          // RSA private key, PEM
	secretPreviousKey   = "identity-previous-signing-key" // optional: retired key, still in the JWKS
	secretAdminPassword = "identity-admin-password"       // used when the admin account is created
)

func main() { service.Main(appID, run) }

// settings is identity's configuration, read once from the environment.
type settings struct {
	service.Settings
	StateStore    string        // STATE_STORE: accounts, and the outbox of their events
	OIDCIssuer    string        // OIDC_ISSUER: the issuer named in the tokens, no trailing slash
	OIDCAudience  string        // OIDC_AUDIENCE
	AccessTTL     time.Duration // ACCESS_TOKEN_TTL
	RefreshTTL    time.Duration // REFRESH_TOKEN_TTL
	AdminPassword string        // ADMIN_PASSWORD: when unset, the secret store's
	// HashConcurrency argon2id computations at once, each waiting at most
	// HashWait for a slot (internal/password.Limits says why).
	HashConcurrency int           // HASH_CONCURRENCY
	HashWait        time.Duration // HASH_WAIT
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:        service.ReadSettings(r, 7103),
		StateStore:      r.String("STATE_STORE", statestore.Name),
		OIDCIssuer:      strings.TrimRight(r.String("OIDC_ISSUER", "http://127.0.0.1:8080"), "/"),
		OIDCAudience:    r.String("OIDC_AUDIENCE", "tenflix-api"),
		AccessTTL:       r.Duration("ACCESS_TOKEN_TTL", 15*time.Minute, time.Minute, 24*time.Hour),
		RefreshTTL:      r.Duration("REFRESH_TOKEN_TTL", 30*24*time.Hour, 5*time.Minute, 365*24*time.Hour),
		AdminPassword:   r.String("ADMIN_PASSWORD", ""),
		HashConcurrency: r.Int("HASH_CONCURRENCY", password.DefaultConcurrency(), 1, 1024),
		HashWait:        r.Duration("HASH_WAIT", password.DefaultWait, 10*time.Millisecond, 30*time.Second),
	}
	if getenv("DAPR_HTTP_PORT") == "" {
		s.DaprHTTPPort = 3503 // identity's own default: its sidecar's port in the devstack
	}
	r.Check(validIssuer(s.OIDCIssuer), "OIDC_ISSUER must be an http(s) URL without query or fragment, got %q", s.OIDCIssuer)
	r.Check(s.RefreshTTL > s.AccessTTL, "REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL")
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// validIssuer: discovery and the JWKS address are built on the issuer, so
// it must be a bare http(s) URL.
func validIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}

// LogValue is the configuration as it may be logged: no token, no password.
func (s settings) LogValue() slog.Value {
	return slog.GroupValue(append(s.Settings.LogAttrs(),
		slog.String("state_store", s.StateStore),
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		slog.String("access_token_ttl", s.AccessTTL.String()),
		slog.String("refresh_token_ttl", s.RefreshTTL.String()),
		config.Secret("admin_password", s.AdminPassword),
		slog.Int("hash_concurrency", s.HashConcurrency),
		slog.String("hash_wait", s.HashWait.String()),
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
	if err := service.WaitReady(ctx, dapr); err != nil {
		return err
	}
	// Components loaded: identity-state's table exists, the migrations need it.
	svc, err := newService(ctx, s, log, dapr, statestore.New(dapr, s.StateStore))
	if err != nil {
		return err
	}
	defer svc.close()
	return svc.serve(ctx, s.Addr())
}

// server is the wired service: what run serves, and what tests build
// without a sidecar.
type server struct {
	log     *slog.Logger
	db      *postgres.DB
	handler http.Handler
	app     *app.App
	keys    *token.Keys
}

// newService reads the secrets, migrates the database, creates the admin
// account if needed and wires the HTTP API; accounts are written to users.
func newService(ctx context.Context, s settings, log *slog.Logger, secrets service.SecretReader, users app.Users) (*server, error) {
	dsn, err := service.DatabaseURL(ctx, secrets, s.SecretStore, secretDB)
	if err != nil {
		return nil, err
	}
	keys, err := loadKeys(ctx, s.SecretStore, secrets)
	if err != nil {
		return nil, err
	}
	adminPassword := s.AdminPassword
	if adminPassword == "" {
		if adminPassword, err = optionalSecret(ctx, secrets, s.SecretStore, secretAdminPassword); err != nil {
			return nil, fmt.Errorf("admin password secret: %w", err)
		}
	}

	db, err := service.OpenDatabase(ctx, dsn, postgres.Open, migrations.FS)
	if err != nil {
		return nil, err
	}
	a, err := app.New(app.Options{
		Users:      users,
		Store:      db,
		Issuer:     token.NewIssuer(keys, s.OIDCIssuer, s.OIDCAudience, s.AccessTTL),
		RefreshTTL: s.RefreshTTL,
		HashLimits: password.Limits{Concurrent: s.HashConcurrency, Wait: s.HashWait},
		Log:        log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	created, err := a.EnsureAdmin(ctx, adminPassword)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("admin bootstrap: %w", err)
	}
	log.Info("ready", "signing_kid", keys.KeyID(), "admin_email", app.AdminEmail, "admin_created", created)
	// Identity verifies its own tokens with its own key set: no network.
	verifier, err := authn.New(ctx, authn.Config{Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, KeySet: keys.JWKS()})
	if err != nil {
		db.Close()
		return nil, err
	}
	handler := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(handler, httpapi.Deps{Log: log, App: a, Issuer: s.OIDCIssuer, JWKS: keys.JWKS(), Verifier: verifier})
	return &server{log: log, db: db, handler: handler, app: a, keys: keys}, nil
}

// loadKeys reads the signing key and, when present, the previous one.
func loadKeys(ctx context.Context, store string, secrets service.SecretReader) (*token.Keys, error) {
	signingPEM, err := secrets.Secret(ctx, store, secretSigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing key secret: %w", err)
	}
	signing, err := token.ParsePrivateKeyPEM(signingPEM)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", secretSigningKey, err)
	}
	previousPEM, err := optionalSecret(ctx, secrets, store, secretPreviousKey)
	if err != nil {
		return nil, fmt.Errorf("previous signing key secret: %w", err)
	}
	if previousPEM == "" {
		return token.NewKeys(signing)
	}
	previous, err := token.ParsePublicKeyPEM(previousPEM)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", secretPreviousKey, err)
	}
	return token.NewKeys(signing, previous)
}

// optionalSecret returns "" for a secret that does not exist.
func optionalSecret(ctx context.Context, secrets service.SecretReader, store, name string) (string, error) {
	v, err := secrets.Secret(ctx, store, name)
	if errors.Is(err, sidecar.ErrNotFound) {
		return "", nil
	}
	return v, err
}

// serve runs the HTTP server and the hourly pruning until ctx ends.
func (s *server) serve(ctx context.Context, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.prune(ctx) })
	err := httpserver.Run(ctx, s.log, addr, s.handler)
	cancel()
	wg.Wait()
	return err
}

func (s *server) prune(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.db.Prune(ctx, account.DefaultLoginPolicy.Window); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "prune failed", "err", err)
			}
		}
	}
}

func (s *server) close() { s.db.Close() }
