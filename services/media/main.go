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
	"slices"
	"sync"
	"time"

	"tenflix/platform/config"
	"tenflix/platform/httpserver"
	"tenflix/platform/playback"
	"tenflix/platform/service"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/cloudinary"
	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/hls"
	"tenflix/services/media/internal/httpapi"
	"tenflix/services/media/internal/moviecommand"
	"tenflix/services/media/internal/postgres"
	"tenflix/services/media/migrations"
)

// appID is the Dapr app id; logs and errors are tagged with it.
const appID = "media"

func main() { service.Main(appID, run) }

// settings is the service's configuration, read once from the environment.
type settings struct {
	service.Settings
	service.OIDC                // whose access tokens admins bring
	DBSecret      string        // DB_SECRET: the secret holding the PostgreSQL URL
	GrantSecret   string        // GRANT_SECRET: the playback signing key's secret
	Dir           string        // MEDIA_DIR: uploads and ladders
	MaxUpload     int64         // MEDIA_MAX_UPLOAD_BYTES: one uploaded file
	UploadTimeout time.Duration // MEDIA_UPLOAD_TIMEOUT: one upload request
	Lease         time.Duration // MEDIA_JOB_LEASE: a killed worker's job resumes after it
	FFmpeg        string        // FFMPEG
	FFprobe       string        // FFPROBE
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
		Settings:      service.ReadSettings(r, 7108),
		OIDC:          service.ReadOIDC(r),
		DBSecret:      r.String("DB_SECRET", "media-db"),
		GrantSecret:   r.String("GRANT_SECRET", "playback-signing-key"),
		Dir:           r.Required("MEDIA_DIR"),
		MaxUpload:     int64(r.Int("MEDIA_MAX_UPLOAD_BYTES", 2<<30, 1, math.MaxInt)),
		UploadTimeout: r.Duration("MEDIA_UPLOAD_TIMEOUT", time.Hour, time.Second, 24*time.Hour),
		Lease:         r.Duration("MEDIA_JOB_LEASE", 30*time.Second, 3*time.Second, time.Hour),
		FFmpeg:        r.String("FFMPEG", "ffmpeg"),
		FFprobe:       r.String("FFPROBE", "ffprobe"),

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
	return slog.GroupValue(slices.Concat(s.Settings.LogAttrs(), s.OIDC.LogAttrs(), []slog.Attr{
		slog.String("db_secret", s.DBSecret),
		slog.String("grant_secret", s.GrantSecret),
		slog.String("media_dir", s.Dir),
		slog.Int64("max_upload_bytes", s.MaxUpload),
		slog.String("upload_timeout", s.UploadTimeout.String()),
		slog.String("job_lease", s.Lease.String()),
		slog.String("ffmpeg", s.FFmpeg),
		slog.String("ffprobe", s.FFprobe),
		slog.String("cloudinary_secret", s.CloudinarySecret),
		config.URL("cloudinary_notification_url", s.CloudinaryNotificationURL),
		slog.String("cloudinary_profile", s.CloudinaryProfile),
		slog.String("cloudinary_notify_timeout", s.CloudinaryNotifyTimeout.String()),
	})...)
}

// multipartSlack is what an upload's body carries besides the file: part
// headers, boundaries, the title and the synopsis.
const multipartSlack = 1 << 20

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
	if err := service.WaitReady(ctx, dapr); err != nil {
		return err
	}
	dsn, err := service.DatabaseURL(ctx, dapr, s.SecretStore, s.DBSecret)
	if err != nil {
		return err
	}
	key, err := dapr.Secret(ctx, s.SecretStore, s.GrantSecret)
	if err != nil {
		return fmt.Errorf("playback signing key: %w", err)
	}
	grants, err := playback.NewSigner([]byte(key))
	if err != nil {
		return err
	}
	db, err := service.OpenDatabase(ctx, dsn, postgres.Open, migrations.FS)
	if err != nil {
		return err
	}
	defer db.Close()
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
	return httpserver.Run(ctx, log, s.Addr(), engine)
}

func prober(t ffmpeg.Tools) app.Prober {
	return app.ProbeFunc(func(ctx context.Context, path string) (app.Source, error) {
		src, err := t.Probe(ctx, path)
		return app.Source{Duration: src.Duration, Height: src.Height}, err
	})
}
