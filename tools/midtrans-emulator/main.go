// Command midtrans-emulator serves, on loopback, the parts of Midtrans' Snap
// and Core API that Tenflix's payment service calls through midtrans-go: it
// keeps real transactions, refuses what Midtrans refuses, and sends signed
// HTTP notifications. A simulation API and the Snap redirect page play the
// customer and the bank.
//
//	midtrans-emulator [-data DIR]
//
// Environment: MIDTRANS_SERVER_KEY (required), MIDTRANS_EMULATOR_ADDR
// (127.0.0.1:8090), MIDTRANS_NOTIFICATION_URL, MIDTRANS_EMULATOR_DATA (-data),
// LOG_LEVEL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"tenflix/tools/midtrans-emulator/internal/httpapi"
	"tenflix/tools/midtrans-emulator/internal/store"
)

const service = "midtrans-emulator"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	data := flag.String("data", "", "directory to persist transactions in (default $MIDTRANS_EMULATOR_DATA; none: memory only)")
	flag.Parse()
	getenv := os.Getenv
	if *data != "" {
		getenv = func(k string) string {
			if k == "MIDTRANS_EMULATOR_DATA" {
				return *data
			}
			return os.Getenv(k)
		}
	}
	if err := run(ctx, getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// settings is the emulator's configuration, read once from the environment.
type settings struct {
	Addr            string // MIDTRANS_EMULATOR_ADDR: loopback only
	ServerKey       string // MIDTRANS_SERVER_KEY: what callers must send as Basic auth user
	NotificationURL string // MIDTRANS_NOTIFICATION_URL: the "dashboard" notification URL
	DataDir         string // MIDTRANS_EMULATOR_DATA or -data: "" keeps transactions in memory
	LogLevel        string // LOG_LEVEL
}

const (
	defaultAddr            = "127.0.0.1:8090"
	defaultNotificationURL = "http://127.0.0.1:8080/api/v1/orders/notificationMidtrans"
)

func loadSettings(getenv func(string) string) (settings, error) {
	or := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	s := settings{
		Addr:            or("MIDTRANS_EMULATOR_ADDR", defaultAddr),
		ServerKey:       getenv("MIDTRANS_SERVER_KEY"),
		NotificationURL: or("MIDTRANS_NOTIFICATION_URL", defaultNotificationURL),
		DataDir:         or("MIDTRANS_EMULATOR_DATA", ""),
		LogLevel:        strings.ToLower(or("LOG_LEVEL", "info")),
	}
	var errs []error
	if s.ServerKey == "" {
		errs = append(errs, errors.New("MIDTRANS_SERVER_KEY is required"))
	} else if strings.ContainsAny(s.ServerKey, " :") {
		errs = append(errs, errors.New("MIDTRANS_SERVER_KEY may not contain a space or a colon (it is a Basic auth user name)"))
	}
	if err := checkLoopback(s.Addr); err != nil {
		errs = append(errs, fmt.Errorf("MIDTRANS_EMULATOR_ADDR: %w", err))
	}
	if u, err := url.Parse(s.NotificationURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("MIDTRANS_NOTIFICATION_URL %q is not an http(s) URL", s.NotificationURL))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	return s, errors.Join(errs...)
}

// checkLoopback refuses an address another machine could reach: the
// emulator answers anyone who knows the (local) server key, and its
// simulation API takes no key at all.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (use 127.0.0.1)", addr)
	}
	return nil
}

// LogValue is the configuration as it may be logged: not the server key.
func (s settings) LogValue() slog.Value {
	key := "(unset)"
	if s.ServerKey != "" {
		key = "(set)"
	}
	return slog.GroupValue(
		slog.String("addr", s.Addr),
		slog.String("server_key", key),
		slog.String("notification_url", s.NotificationURL),
		slog.String("data_dir", s.DataDir),
		slog.String("log_level", s.LogLevel),
	)
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: level})).With("service", service)
	log.Info("starting", "config", s)

	st, err := store.Open(s.DataDir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	srv := httpapi.New(st, httpapi.Config{
		ServerKey: s.ServerKey, NotificationURL: s.NotificationURL,
		BaseURL: "http://" + ln.Addr().String(), Log: log,
	})
	defer srv.Close()
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // a simulation waits for the webhook (15 s at most)
		IdleTimeout:       2 * time.Minute,
	}
	go sweep(ctx, srv)
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return httpServer.Shutdown(shutdownCtx)
}

// sweep expires pending payments on time, as Midtrans does, once a second.
func sweep(ctx context.Context, srv *httpapi.Server) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			srv.Sweep()
		}
	}
}
