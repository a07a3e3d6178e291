// Command order-aggregator is Tenflix's order API: it places subscription
// orders and shows them with their payment and subscription, relays
// Midtrans' notifications to payment, and lets admins see stuck orders. It
// owns no state; the order, payment and subscription services do, and it
// calls them through its Dapr sidecar.
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
	"tenflix/services/order-aggregator/internal/app"
	"tenflix/services/order-aggregator/internal/httpapi"
	"tenflix/services/order-aggregator/internal/order"
	"tenflix/services/order-aggregator/internal/payment"
	"tenflix/services/order-aggregator/internal/subscription"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "order-aggregator"

func main() { service.Main(appID, run) }

// settings is the service's configuration, read once from the environment.
type settings struct {
	service.Settings
	service.OIDC                  // whose access tokens users bring
	PartTimeout     time.Duration // PART_TIMEOUT: each call of an order's detail
	OrderApp        string        // ORDER_APP: the order service's app id
	PaymentApp      string        // PAYMENT_APP
	SubscriptionApp string        // SUBSCRIPTION_APP
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings:        service.ReadSettings(r, 7104),
		OIDC:            service.ReadOIDC(r),
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
	return slog.GroupValue(slices.Concat(s.Settings.LogAttrs(), s.OIDC.LogAttrs(), []slog.Attr{
		slog.Duration("part_timeout", s.PartTimeout),
		slog.String("order_app", s.OrderApp),
		slog.String("payment_app", s.PaymentApp),
		slog.String("subscription_app", s.SubscriptionApp),
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
	dapr, err := service.Sidecar(s.Settings)
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
	return httpserver.Run(ctx, log, s.Addr(), engine)
}
