// payment is the only Tenflix service that talks to Midtrans: it opens Snap
// transactions for orders, records what Midtrans confirms (notifications,
// and the order sweep's sync), cancels what expires and refunds what
// subscription could not grant. Every change of a payment is a Dapr state
// transaction whose event reaches Kafka through the Dapr outbox (topic
// payments).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/httpapi"
	"tenflix/services/payment/internal/midtrans"
	"tenflix/services/payment/internal/postgres"
	"tenflix/services/payment/internal/statestore"
	"tenflix/services/payment/migrations"
)

// service is the app id.
const service = "payment"

// Secrets read from the secret store.
const (
	secretServerKey = "midtrans-server-key" // Midtrans server key (Basic auth, signatures)
	secretDB        = "payment-db"          // PostgreSQL URL of payment-state's database (migrations)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// settings is payment's configuration, read once from the environment. The
// Midtrans server key is not among them: it comes only from the secret store.
type settings struct {
	Port            int           // APP_PORT, the port the sidecar calls
	DaprHTTPPort    int           // DAPR_HTTP_PORT, the sidecar's HTTP API (state, readiness)
	DaprGRPCPort    int           // DAPR_GRPC_PORT, the sidecar's gRPC API (go-sdk: secrets)
	DaprAPIToken    string        // DAPR_API_TOKEN: sent to the sidecar
	AppAPIToken     string        // APP_API_TOKEN: only the sidecar may call
	StateStore      string        // STATE_STORE
	SecretStore     string        // SECRET_STORE
	MidtransEnv     string        // MIDTRANS_ENV: sandbox or production
	MidtransAPIURL  string        // MIDTRANS_API_URL: where Midtrans' hosts are reached instead (the emulator)
	NotificationURL string        // NOTIFICATION_URL: X-Override-Notification of each transaction
	PaymentExpiry   time.Duration // PAYMENT_EXPIRY: how long a customer has to pay
	MidtransTimeout time.Duration // MIDTRANS_TIMEOUT: of each Midtrans call, and of a notification's handling
	LogLevel        string        // LOG_LEVEL
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:            r.Port("APP_PORT", 7106),
		DaprHTTPPort:    r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort:    r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken:    r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:     r.Required("APP_API_TOKEN"),
		StateStore:      r.String("STATE_STORE", "payment-state"),
		SecretStore:     r.String("SECRET_STORE", "secretstore"),
		MidtransEnv:     r.String("MIDTRANS_ENV", "sandbox"),
		MidtransAPIURL:  r.String("MIDTRANS_API_URL", ""),
		NotificationURL: r.String("NOTIFICATION_URL", ""),
		// Snap takes its expiry in whole minutes.
		PaymentExpiry:   r.Duration("PAYMENT_EXPIRY", 30*time.Minute, time.Minute, 7*24*time.Hour),
		MidtransTimeout: r.Duration("MIDTRANS_TIMEOUT", 5*time.Second, 100*time.Millisecond, 14*time.Second),
		LogLevel:        r.LogLevel("LOG_LEVEL", "info"),
	}
	r.Check(s.MidtransEnv == "sandbox" || s.MidtransEnv == "production",
		"MIDTRANS_ENV must be sandbox or production, got %q", s.MidtransEnv)
	r.Check(s.PaymentExpiry%time.Minute == 0, "PAYMENT_EXPIRY must be whole minutes, got %s", s.PaymentExpiry)
	r.Check(s.MidtransAPIURL == "" || plainURL(s.MidtransAPIURL),
		"MIDTRANS_API_URL must be an http(s) URL without credentials, query or fragment, got %q", s.MidtransAPIURL)
	r.Check(validNotificationURLs(s.NotificationURL),
		"NOTIFICATION_URL must be up to 3 comma-separated http(s) URLs")
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	return s, nil
}

func plainURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && u.RawQuery == "" && u.Fragment == ""
}

// validNotificationURLs: Midtrans takes up to 3 notification URLs.
func validNotificationURLs(raw string) bool {
	if raw == "" {
		return true
	}
	urls := strings.Split(raw, ",")
	if len(urls) > 3 {
		return false
	}
	for _, u := range urls {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
			return false
		}
	}
	return true
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
		slog.String("midtrans_env", s.MidtransEnv),
		config.URL("midtrans_api_url", s.MidtransAPIURL),
		slog.Int("notification_urls", len(strings.FieldsFunc(s.NotificationURL, func(r rune) bool { return r == ',' }))),
		slog.String("payment_expiry", s.PaymentExpiry.String()),
		slog.String("midtrans_timeout", s.MidtransTimeout.String()),
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
	serverKey, err := readSecret(waitCtx, log, dapr, s.SecretStore, secretServerKey)
	if err != nil {
		return err
	}
	dsn, err := readSecret(waitCtx, log, dapr, s.SecretStore, secretDB)
	if err != nil {
		return err
	}
	// daprd created payment_state when it loaded the component (it answered
	// ready): the migrations index it.
	if err := postgres.Migrate(waitCtx, dsn, migrations.FS); err != nil {
		return err
	}

	gateway, err := midtrans.New(midtrans.Config{
		ServerKey: serverKey, Env: s.MidtransEnv, APIURL: s.MidtransAPIURL,
		NotificationURL: s.NotificationURL, Timeout: s.MidtransTimeout, Log: log,
	})
	if err != nil {
		return err
	}
	a, err := app.New(app.Options{
		State: statestore.New(dapr, s.StateStore), Midtrans: gateway, ServerKey: serverKey,
		Expiry: s.PaymentExpiry, NotificationBudget: s.MidtransTimeout, Log: log,
	})
	if err != nil {
		return err
	}
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken, MaxBodyBytes: httpapi.MaxBodyBytes})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Payments: a})
	return httpserver.Run(ctx, log, "127.0.0.1:"+strconv.Itoa(s.Port), engine)
}

// secretReader reads the secret store (sidecar.Client).
type secretReader interface {
	Secret(ctx context.Context, store, name string) (string, error)
}

// readSecret reads a secret, retrying until the sidecar's secret store
// answers or ctx ends; a secret that does not exist fails at once.
func readSecret(ctx context.Context, log *slog.Logger, secrets secretReader, store, name string) (string, error) {
	for {
		v, err := secrets.Secret(ctx, store, name)
		switch {
		case err == nil && v == "":
			return "", fmt.Errorf("secret %s is empty", name)
		case err == nil:
			return v, nil
		case errors.Is(err, sidecar.ErrNotFound):
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
		log.Warn("secret store not answering yet; retrying", "secret", name, "err", err)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("secret %s: %w (last: %w)", name, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
