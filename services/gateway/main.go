// gateway is Tenflix's only public REST entry. It authenticates callers with
// the OIDC issuer's tokens, authorises them against one route table, and
// forwards each request to its service through its own Dapr sidecar.
//
// The gateway is the one service that does not use go-sdk: its only calls to
// the sidecar are the proxy's, and those stay on the HTTP invoke API
// (/v1.0/invoke/<app>/method/...). go-sdk's InvokeMethod is a unary gRPC call
// holding the whole body in one message (4 MiB by default) that returns only
// the answer's body: uploads and HLS segments could not stream, an event
// stream would arrive only once it ends, and the callee's status and headers
// (Location, ETag, Cache-Control, Content-Range) would be lost.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/services/gateway/internal/httpapi"
	"tenflix/services/gateway/internal/ratelimit"
)

const service = "gateway"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// settings is the gateway's configuration, read once from the environment.
type settings struct {
	ListenAddr      string        // LISTEN_ADDR
	DaprHTTPPort    int           // DAPR_HTTP_PORT: the gateway's own sidecar
	DaprAPIToken    string        // DAPR_API_TOKEN: sent to the sidecar
	OIDCIssuer      string        // OIDC_ISSUER
	OIDCAudience    string        // OIDC_AUDIENCE
	OIDCJWKSURL     string        // OIDC_JWKS_URL: skips discovery when set
	JWKSRefresh     time.Duration // JWKS_REFRESH_INTERVAL: periodic key refresh
	CORSOrigins     []string      // CORS_ORIGINS, comma-separated
	MaxBodyBytes    int64         // MAX_BODY_BYTES
	MaxUploadBytes  int64         // MEDIA_MAX_UPLOAD_BYTES: media's limit of one file
	UploadTimeout   time.Duration // MEDIA_UPLOAD_TIMEOUT
	AuthRatePerMin  int           // AUTH_RATE_PER_MINUTE, per client IP
	AuthRateBurst   int           // AUTH_RATE_BURST
	TrustedProxies  []string      // TRUSTED_PROXIES, CIDRs, comma-separated
	UpstreamTimeout time.Duration // UPSTREAM_TIMEOUT
	OpenAPIFile     string        // OPENAPI_FILE
	WebMediaOrigins []string      // WEB_MEDIA_ORIGINS, comma-separated: where the watch page may play from
	LogLevel        string        // LOG_LEVEL
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		ListenAddr:      r.String("LISTEN_ADDR", ":8080"),
		DaprHTTPPort:    r.Port("DAPR_HTTP_PORT", 3500),
		DaprAPIToken:    r.String("DAPR_API_TOKEN", ""),
		OIDCIssuer:      r.String("OIDC_ISSUER", "http://127.0.0.1:8080"),
		OIDCAudience:    r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:     r.String("OIDC_JWKS_URL", ""),
		JWKSRefresh:     r.Duration("JWKS_REFRESH_INTERVAL", 15*time.Minute, time.Nanosecond, math.MaxInt64),
		CORSOrigins:     r.List("CORS_ORIGINS", []string{"http://localhost:3000"}),
		MaxBodyBytes:    int64(r.Int("MAX_BODY_BYTES", 1<<20, 1, math.MaxInt)),
		MaxUploadBytes:  int64(r.Int("MEDIA_MAX_UPLOAD_BYTES", 2<<30, 1, math.MaxInt)),
		UploadTimeout:   r.Duration("MEDIA_UPLOAD_TIMEOUT", time.Hour, time.Second, 24*time.Hour),
		AuthRatePerMin:  r.Int("AUTH_RATE_PER_MINUTE", 10, 1, math.MaxInt),
		AuthRateBurst:   r.Int("AUTH_RATE_BURST", 10, 1, math.MaxInt),
		TrustedProxies:  r.List("TRUSTED_PROXIES", nil),
		UpstreamTimeout: r.Duration("UPSTREAM_TIMEOUT", 30*time.Second, time.Nanosecond, math.MaxInt64),
		OpenAPIFile:     r.String("OPENAPI_FILE", "../../docs/openapi.yaml"),
		WebMediaOrigins: r.List("WEB_MEDIA_ORIGINS", []string{"https://res.cloudinary.com"}),
		LogLevel:        r.LogLevel("LOG_LEVEL", "info"),
	}
	if err := r.Err(); err != nil {
		return settings{}, err
	}
	if abs, err := filepath.Abs(s.OpenAPIFile); err == nil {
		s.OpenAPIFile = abs
	}
	return s, nil
}

// LogValue is the configuration as it may be logged: no token.
func (s settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen_addr", s.ListenAddr),
		slog.Int("dapr_http_port", s.DaprHTTPPort),
		config.Secret("dapr_api_token", s.DaprAPIToken),
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		config.URL("oidc_jwks_url", s.OIDCJWKSURL),
		slog.String("jwks_refresh_interval", s.JWKSRefresh.String()),
		slog.Any("cors_origins", s.CORSOrigins),
		slog.Int64("max_body_bytes", s.MaxBodyBytes),
		slog.Int64("max_upload_bytes", s.MaxUploadBytes),
		slog.String("upload_timeout", s.UploadTimeout.String()),
		slog.Int("auth_rate_per_minute", s.AuthRatePerMin),
		slog.Int("auth_rate_burst", s.AuthRateBurst),
		slog.Any("trusted_proxies", s.TrustedProxies),
		slog.String("upstream_timeout", s.UpstreamTimeout.String()),
		slog.String("openapi_file", s.OpenAPIFile),
		slog.Any("web_media_origins", s.WebMediaOrigins),
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

	// No network here: the issuer is usually this very gateway, not yet listening.
	verifier, err := authn.New(ctx, authn.Config{
		Issuer:          s.OIDCIssuer,
		Audience:        s.OIDCAudience,
		JWKSURL:         s.OIDCJWKSURL,
		RefreshInterval: s.JWKSRefresh,
		Log:             log,
	})
	if err != nil {
		return err
	}
	engine, err := httpapi.New(httpapi.Options{
		Log:          log,
		SidecarURL:   fmt.Sprintf("http://127.0.0.1:%d", s.DaprHTTPPort),
		DaprToken:    s.DaprAPIToken,
		Verifier:     verifier,
		CORSOrigins:  s.CORSOrigins,
		MaxBodyBytes: s.MaxBodyBytes,
		// media bounds the file itself; the multipart envelope (part
		// headers, title, synopsis) comes on top.
		MaxUploadBytes:  s.MaxUploadBytes + 1<<20,
		UploadTimeout:   s.UploadTimeout,
		AuthLimiter:     ratelimit.New(float64(s.AuthRatePerMin), s.AuthRateBurst, 100_000),
		TrustedProxies:  s.TrustedProxies,
		UpstreamTimeout: s.UpstreamTimeout,
		OpenAPIFile:     s.OpenAPIFile,
		WebMediaOrigins: s.WebMediaOrigins,
	})
	if err != nil {
		return err
	}
	return httpserver.Run(ctx, log, s.ListenAddr, engine)
}
