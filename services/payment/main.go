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
	"strings"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/service"
	"tenflix/platform/sidecar"
	"tenflix/services/payment/internal/app"
	"tenflix/services/payment/internal/httpapi"
	"tenflix/services/payment/internal/midtrans"
	"tenflix/services/payment/internal/postgres"
	"tenflix/services/payment/internal/statestore"
	"tenflix/services/payment/migrations"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "payment"

// Secrets read from the secret store.
const (
	secretServerKey = "midtrans-server-key" // Midtrans server key (Basic auth, signatures)
	secretDB        = "payment-db"          // PostgreSQL URL of payment-state's database (migrations)
)

func main() { service.Main(appID, run) }

// settings is payment's configuration, read once from the environment. The
// Midtrans server key is not among them: it comes only from the secret store.
type settings struct {
	service.Settings
	StateStore      string        // STATE_STORE
	MidtransEnv     string        // MIDTRANS_ENV: sandbox or production
	MidtransAPIURL  string        // MIDTRANS_API_URL: where Midtrans' hosts are reached instead (the emulator)
	NotificationURL string        // NOTIFICATION_URL: X-Override-Notification of each transaction
	PaymentExpiry   time.Duration // PAYMENT_EXPIRY: how long a customer has to pay
	MidtransTimeout time.Duration // MIDTRANS_TIMEOUT: of each Midtrans call, and of a notification's handling
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:        service.ReadSettings(r, 7106),
		StateStore:      r.String("STATE_STORE", "payment-state"),
		MidtransEnv:     r.String("MIDTRANS_ENV", "sandbox"),
		MidtransAPIURL:  r.String("MIDTRANS_API_URL", ""),
		NotificationURL: r.String("NOTIFICATION_URL", ""),
		// Snap takes its expiry in whole minutes.
		PaymentExpiry:   r.Duration("PAYMENT_EXPIRY", 30*time.Minute, time.Minute, 7*24*time.Hour),
		MidtransTimeout: r.Duration("MIDTRANS_TIMEOUT", 5*time.Second, 100*time.Millisecond, 14*time.Second),
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
	return slog.GroupValue(append(s.Settings.LogAttrs(),
		slog.String("state_store", s.StateStore),
		slog.String("midtrans_env", s.MidtransEnv),
		config.URL("midtrans_api_url", s.MidtransAPIURL),
		slog.Int("notification_urls", len(strings.FieldsFunc(s.NotificationURL, func(r rune) bool { return r == ',' }))),
		slog.String("payment_expiry", s.PaymentExpiry.String()),
		slog.String("midtrans_timeout", s.MidtransTimeout.String()),
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
	// The start-up budget covers the secrets and the migrations too.
	waitCtx, cancel := context.WithTimeout(ctx, service.ReadyTimeout)
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
	return httpserver.Run(ctx, log, s.Addr(), engine)
}

// readSecret reads a secret, retrying until the sidecar's secret store
// answers or ctx ends; a secret that does not exist fails at once.
func readSecret(ctx context.Context, log *slog.Logger, secrets service.SecretReader, store, name string) (string, error) {
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
