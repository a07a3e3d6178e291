// Command cloudinary-emulator serves, on loopback, the parts of Cloudinary's
// Upload API and delivery that Tenflix's media service uses through
// cloudinary-go v2: signed and chunked video uploads, asynchronous eager
// adaptive streaming (sp_<profile>/m3u8) made with ffmpeg, signed eager
// notifications, and the HLS files behind signed delivery URLs.
//
//	cloudinary-emulator [-addr 127.0.0.1:8091] [-data DIR]
//
// Environment: CLOUDINARY_URL (required: cloudinary://key:secret@cloud, the
// same URL the client uses; ?signature_algorithm=sha256 for a SHA-256
// account), CLOUDINARY_EMULATOR_ADDR (-addr), CLOUDINARY_EMULATOR_DATA
// (-data), CLOUDINARY_EMULATOR_BASE_URL, LOG_LEVEL.
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

	"tenflix/tools/cloudinary-emulator/emulator"
)

const service = "cloudinary-emulator"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := flag.String("addr", "", "listen address (default $CLOUDINARY_EMULATOR_ADDR or "+defaultAddr+")")
	data := flag.String("data", "", "directory of the emulator's state and files (default $CLOUDINARY_EMULATOR_DATA; none: a temporary directory)")
	flag.Parse()
	flags := map[string]string{"CLOUDINARY_EMULATOR_ADDR": *addr, "CLOUDINARY_EMULATOR_DATA": *data}
	getenv := func(k string) string {
		if v := flags[k]; v != "" {
			return v
		}
		return os.Getenv(k)
	}
	if err := run(ctx, getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

const defaultAddr = "127.0.0.1:8091"

// settings is the emulator's configuration, read once from the environment.
type settings struct {
	Addr      string // CLOUDINARY_EMULATOR_ADDR: loopback only
	Cloud     string // from CLOUDINARY_URL
	APIKey    string
	APISecret string
	Algorithm string // signature_algorithm of CLOUDINARY_URL: sha1 or sha256
	BaseURL   string // CLOUDINARY_EMULATOR_BASE_URL: default http://<addr>
	DataDir   string // CLOUDINARY_EMULATOR_DATA or -data
	LogLevel  string
}

func loadSettings(getenv func(string) string) (settings, error) {
	or := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	s := settings{
		Addr:     or("CLOUDINARY_EMULATOR_ADDR", defaultAddr),
		DataDir:  or("CLOUDINARY_EMULATOR_DATA", ""),
		LogLevel: strings.ToLower(or("LOG_LEVEL", "info")),
	}
	s.BaseURL = or("CLOUDINARY_EMULATOR_BASE_URL", "http://"+s.Addr)
	var errs []error
	if raw := getenv("CLOUDINARY_URL"); raw == "" {
		errs = append(errs, errors.New("CLOUDINARY_URL is required (cloudinary://api_key:api_secret@cloud_name)"))
	} else if u, err := url.Parse(raw); err != nil || u.Scheme != "cloudinary" || u.Host == "" || u.User == nil {
		errs = append(errs, errors.New("CLOUDINARY_URL is not cloudinary://api_key:api_secret@cloud_name"))
	} else {
		s.Cloud, s.APIKey = u.Host, u.User.Username()
		s.APISecret, _ = u.User.Password()
		s.Algorithm = u.Query().Get("signature_algorithm")
		if s.APIKey == "" || s.APISecret == "" {
			errs = append(errs, errors.New("CLOUDINARY_URL needs an api key and an api secret"))
		}
		if s.Algorithm != "" && s.Algorithm != "sha1" && s.Algorithm != "sha256" {
			errs = append(errs, fmt.Errorf("CLOUDINARY_URL signature_algorithm %q (sha1 or sha256)", s.Algorithm))
		}
	}
	if err := checkLoopback(s.Addr); err != nil {
		errs = append(errs, fmt.Errorf("CLOUDINARY_EMULATOR_ADDR: %w", err))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	return s, errors.Join(errs...)
}

// checkLoopback refuses an address another machine could reach: anyone who
// reaches the emulator can read its videos through the /emulator routes.
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
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (use 127.0.0.1)", addr)
	}
	return nil
}

// LogValue is the configuration as it may be logged: not the secret.
func (s settings) LogValue() slog.Value {
	secret := "(unset)"
	if s.APISecret != "" {
		secret = "(set)"
	}
	return slog.GroupValue(
		slog.String("addr", s.Addr), slog.String("cloud_name", s.Cloud),
		slog.String("api_key", s.APIKey), slog.String("api_secret", secret),
		slog.String("signature_algorithm", s.Algorithm), slog.String("base_url", s.BaseURL),
		slog.String("data_dir", s.DataDir), slog.String("log_level", s.LogLevel),
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
	if s.DataDir == "" {
		if s.DataDir, err = os.MkdirTemp("", service+"-"); err != nil {
			return err
		}
		defer os.RemoveAll(s.DataDir)
	}
	log.Info("starting", "config", s)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	em, err := emulator.New(emulator.Config{
		CloudName: s.Cloud, APIKey: s.APIKey, APISecret: s.APISecret, SignatureAlgorithm: s.Algorithm,
		BaseURL: s.BaseURL, DataDir: s.DataDir, Log: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer em.Close()
	httpServer := &http.Server{
		Handler:           em.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Minute, // a 20 MB chunk over a slow link
		WriteTimeout:      10 * time.Minute, // a synchronous eager transcode
		IdleTimeout:       2 * time.Minute,
	}
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
