// media owns Tenflix's videos as files: admins upload a movie's video
// through the gateway (streamed to disk, probed with ffprobe), a durable job
// table in its own PostgreSQL database feeds a worker that makes an HLS
// adaptive-bitrate ladder with ffmpeg (one decode, aligned keyframes), and
// the ladder is served to holders of a playback grant; or, when the secret
// cloudinary-url is set, uploads it to Cloudinary, whose signed eager
// notification makes it READY. Each status is reported to movie-command,
// whose state transaction publishes it as a catalog event: media itself
// publishes nothing.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/playback"
	"tenflix/platform/sidecar"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/cloudinary"
	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/hls"
	"tenflix/services/media/internal/httpapi"
	"tenflix/services/media/internal/moviecommand"
	"tenflix/services/media/internal/postgres"
	"tenflix/services/media/migrations"
)

// service is the app id.
const service = "media"

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
	Port          int           // APP_PORT, the port the sidecar calls
	DaprHTTPPort  int           // DAPR_HTTP_PORT, the sidecar's HTTP API (readiness)
	DaprGRPCPort  int           // DAPR_GRPC_PORT, the sidecar's gRPC API (secrets, invocation)
	DaprAPIToken  string        // DAPR_API_TOKEN: sent to the sidecar
	AppAPIToken   string        // APP_API_TOKEN: only the sidecar may call
	SecretStore   string        // SECRET_STORE
	DBSecret      string        // DB_SECRET: the secret holding the PostgreSQL URL
	GrantSecret   string        // GRANT_SECRET: the playback signing key's secret
	OIDCIssuer    string        // OIDC_ISSUER: whose access tokens admins bring
	OIDCAudience  string        // OIDC_AUDIENCE
	OIDCJWKSURL   string        // OIDC_JWKS_URL: skips discovery when set
	Dir           string        // MEDIA_DIR: uploads and ladders
	MaxUpload     int64         // MEDIA_MAX_UPLOAD_BYTES: one uploaded file
	UploadTimeout time.Duration // MEDIA_UPLOAD_TIMEOUT: one upload request
	Lease         time.Duration // MEDIA_JOB_LEASE: a killed worker's job resumes after it
	FFmpeg        string        // FFMPEG
	FFprobe       string        // FFPROBE
	LogLevel      string        // LOG_LEVEL
	// The Cloudinary backend (backend.go): on when the secret holds a
	// CLOUDINARY_URL.
	CloudinarySecret          string        // CLOUDINARY_SECRET: the secret holding CLOUDINARY_URL (optional)
	CloudinaryNotificationURL string        // CLOUDINARY_NOTIFICATION_URL: the gateway's public notification route
	CloudinaryProfile         string        // CLOUDINARY_PROFILE: the eager streaming profile
	CloudinaryNotifyTimeout   time.Duration // CLOUDINARY_NOTIFY_TIMEOUT: an upload never notified is FAILED after it
}

func loadSettings(getenv config.Env) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{
		Port:          r.Port("APP_PORT", 7108),
		DaprHTTPPort:  r.Port("DAPR_HTTP_PORT", 3500),
		DaprGRPCPort:  r.Port("DAPR_GRPC_PORT", 50001),
		DaprAPIToken:  r.String("DAPR_API_TOKEN", ""),
		AppAPIToken:   r.Required("APP_API_TOKEN"),
		SecretStore:   r.String("SECRET_STORE", "secretstore"),
		DBSecret:      r.String("DB_SECRET", "media-db"),
		GrantSecret:   r.String("GRANT_SECRET", "playback-signing-key"),
		OIDCIssuer:    r.Required("OIDC_ISSUER"),
		OIDCAudience:  r.String("OIDC_AUDIENCE", "tenflix-api"),
		OIDCJWKSURL:   r.String("OIDC_JWKS_URL", ""),
		Dir:           r.Required("MEDIA_DIR"),
		MaxUpload:     int64(r.Int("MEDIA_MAX_UPLOAD_BYTES", 2<<30, 1, math.MaxInt)),
		UploadTimeout: r.Duration("MEDIA_UPLOAD_TIMEOUT", time.Hour, time.Second, 24*time.Hour),
		Lease:         r.Duration("MEDIA_JOB_LEASE", 30*time.Second, 3*time.Second, time.Hour),
		FFmpeg:        r.String("FFMPEG", "ffmpeg"),
		FFprobe:       r.String("FFPROBE", "ffprobe"),
		LogLevel:      r.LogLevel("LOG_LEVEL", "info"),

		CloudinarySecret:          r.String("CLOUDINARY_SECRET", "cloudinary-url"),
		CloudinaryNotificationURL: r.String("CLOUDINARY_NOTIFICATION_URL", ""),
		CloudinaryProfile:         r.String("CLOUDINARY_PROFILE", cloudinary.DefaultProfile),
		CloudinaryNotifyTimeout:   r.Duration("CLOUDINARY_NOTIFY_TIMEOUT", 3*time.Hour, time.Minute, 7*24*time.Hour),
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
		slog.Int("dapr_http_port", s.DaprHTTPPort),
		slog.Int("dapr_grpc_port", s.DaprGRPCPort),
		config.Secret("dapr_api_token", s.DaprAPIToken),
		config.Secret("app_api_token", s.AppAPIToken),
		slog.String("secret_store", s.SecretStore),
		slog.String("db_secret", s.DBSecret),
		slog.String("grant_secret", s.GrantSecret),
		config.URL("oidc_issuer", s.OIDCIssuer),
		slog.String("oidc_audience", s.OIDCAudience),
		config.URL("oidc_jwks_url", s.OIDCJWKSURL),
		slog.String("media_dir", s.Dir),
		slog.Int64("max_upload_bytes", s.MaxUpload),
		slog.String("upload_timeout", s.UploadTimeout.String()),
		slog.String("job_lease", s.Lease.String()),
		slog.String("ffmpeg", s.FFmpeg),
		slog.String("ffprobe", s.FFprobe),
		slog.String("log_level", s.LogLevel),
		slog.String("cloudinary_secret", s.CloudinarySecret),
		config.URL("cloudinary_notification_url", s.CloudinaryNotificationURL),
		slog.String("cloudinary_profile", s.CloudinaryProfile),
		slog.String("cloudinary_notify_timeout", s.CloudinaryNotifyTimeout.String()),
	)
}

// multipartSlack is what an upload's body carries besides the file: part
// headers, boundaries, the title and the synopsis.
const multipartSlack = 1 << 20

func run(ctx context.Context, getenv config.Env, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	log := config.NewLogger(stdout, service, s.LogLevel)
	log.Info("starting", "config", s)

	verifier, err := authn.New(ctx, authn.Config{
		Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, JWKSURL: s.OIDCJWKSURL, Log: log,
	})
	if err != nil {
		return err
	}
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
	dsn, err := dapr.Secret(ctx, s.SecretStore, s.DBSecret)
	if err != nil {
		return fmt.Errorf("database secret: %w", err)
	}
	key, err := dapr.Secret(ctx, s.SecretStore, s.GrantSecret)
	if err != nil {
		return fmt.Errorf("playback signing key: %w", err)
	}
	grants, err := playback.NewSigner([]byte(key))
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		return err
	}
	files, err := hls.Open(s.Dir, s.MaxUpload)
	if err != nil {
		return fmt.Errorf("media dir: %w", err)
	}
	defer files.Close() //nolint:errcheck

	tools := ffmpeg.Tools{FFmpeg: s.FFmpeg, FFprobe: s.FFprobe}
	trans, cld, err := backend(ctx, s, dapr, files, tools, log)
	if err != nil {
		return err
	}
	a := app.New(db, moviecommand.New(dapr), files, prober(tools), trans,
		app.Options{Log: log, Lease: s.Lease, HeldFor: s.UploadTimeout, NotifyTimeout: s.CloudinaryNotifyTimeout, Backend: "Cloudinary"})

	engine := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: s.AppAPIToken,
		MaxBodyBytes: s.MaxUpload + multipartSlack})
	deps := httpapi.Deps{Log: log, Verifier: verifier, App: a, Files: files, Grants: grants,
		UploadTimeout: s.UploadTimeout}
	if cld != nil {
		deps.CloudinaryNotification = httpapi.CloudinaryNotification(cld, a, nil)
	}
	httpapi.Routes(engine, deps)

	var wg sync.WaitGroup
	wg.Go(func() { a.Run(ctx) })
	defer wg.Wait() // a transcode in progress releases its lease
	return httpserver.Run(ctx, log, "127.0.0.1:"+strconv.Itoa(s.Port), engine)
}

func prober(t ffmpeg.Tools) app.Prober {
	return app.ProbeFunc(func(ctx context.Context, path string) (app.Source, error) {
		src, err := t.Probe(ctx, path)
		return app.Source{Duration: src.Duration, Height: src.Height}, err
	})
}
