// Command order-aggregator is Tenflix's order API: it places subscription
// orders and shows them with their payment and subscription, relays
// Midtrans' notifications to payment, and lets admins see stuck orders. It
// owns no state; the order, payment and subscription services do, and it
// calls them through its Dapr sidecar.
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
	"tenflix/services/order-aggregator/internal/app"
	"tenflix/services/order-aggregator/internal/httpapi"
	"tenflix/services/order-aggregator/internal/order"
	"tenflix/services/order-aggregator/internal/payment"
	"tenflix/services/order-aggregator/internal/subscription"
)

const service = "order-aggregator"

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
	Port            int           // APP_PORT, the port the sidecar calls
	AppAPIToken     string        // APP_API_TOKEN: only the sidecar may call
	OIDCIssuer      string        // OIDC_ISSUER: whose access tokens users bring
	OIDCAudience    string        // OIDC_AUDIENCE
	OIDCJWKSURL     string        // OIDC_JWKS_URL: skips discovery when set
	DaprHTTPPort    int           // DAPR_HTTP_PORT, the sidecar's HTTP API
	DaprGRPCPort    int           // DAPR_GRPC_PORT, the sidecar's gRPC API (service invocation)
	DaprAPIToken    string        // DAPR_API_TOKEN: sent to the sidecar
	LogLevel        string        // LOG_LEVEL
	PartTimeout     time.Duration // PART_TIMEOUT: each call of an order's detail
	OrderApp        string        // ORDER_APP: the order service's app id
	PaymentApp      string        // PAYMENT_APP
	SubscriptionApp string        // SUBSCRIPTION_APP
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:            r.Port("APP_PORT", 7104),
		AppAPIToken:     r.Required("APP_API_TOKEN"),
		OIDCIssuer:      r.Required("OIDC_ISSUER"),
		OIDCAudience:    r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:     r.String("OIDC_JWKS_URL", ""),
		DaprHTTPPort:    r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort:    r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken:    r.String("DAPR_API_TOKEN", ""),
		LogLevel:        r.LogLevel("LOG_LEVEL", "info"),
		PartTimeout:     r.Duration("PART_TIMEOUT", 3*time.Second, 100*time.Millisecond, 30*time.Second),
		OrderApp:        r.String("ORDER_APP", order.DefaultAppID),
		PaymentApp:      r.String("PAYMENT_APP", payment.DefaultAppID),
		SubscriptionApp: r.String("SUBSCRIPTION_APP", subscription.DefaultAppID),
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
		config.Secret("app_api_token", s.AppAPIToken),
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		config.URL("oidc_jwks_url", s.OIDCJWKSURL),
		slog.Int("dapr_http_port", s.DaprHTTPPort),
		slog.Int("dapr_grpc_port", s.DaprGRPCPort),
		config.Secret("dapr_api_token", s.DaprAPIToken),
		slog.String("log_level", s.LogLevel),
		slog.Duration("part_timeout", s.PartTimeout),
		slog.String("order_app", s.OrderApp),
		slog.String("payment_app", s.PaymentApp),
		slog.String("subscription_app", s.SubscriptionApp),
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
	// The gRPC connection is made lazily: the sidecar may start after us.
	dapr, err := sidecar.NewWithGRPC(strconv.Itoa(s.DaprHTTPPort), strconv.Itoa(s.DaprGRPCPort), s.DaprAPIToken)
	if err != nil {
		return err
	}
	defer dapr.Close() //nolint:errcheck

	orders := app.New(app.Options{
		Orders:        order.New(dapr, s.OrderApp),
		Payments:      payment.New(dapr, s.PaymentApp),
		Subscriptions: subscription.New(dapr, s.SubscriptionApp),
		PartTimeout:   s.PartTimeout,
		Log:           log,
	})
	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken})
	httpapi.Routes(engine, httpapi.Deps{Verifier: verifier, App: orders})
	return httpserver.Run(ctx, log, fmt.Sprintf("127.0.0.1:%d", s.Port), engine)
}
