package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tenflix/platform/sidecar"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/cloudinary"
	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/hls"
)

// cloudinaryURL is the secret CLOUDINARY_URL
// (cloudinary://api_key:api_secret@cloud_name?upload_prefix=...), as it may
// be logged: the cloud name and the API origin, never the key or secret.
type cloudinaryURL string

func (c cloudinaryURL) LogValue() slog.Value {
	u, err := url.Parse(string(c))
	if err != nil || u.Scheme != "cloudinary" || u.Host == "" {
		return slog.StringValue("(not a cloudinary:// URL)")
	}
	prefix := u.Query().Get("upload_prefix")
	if prefix == "" {
		prefix = "https://api.cloudinary.com"
	}
	_, secretSet := u.User.Password()
	return slog.GroupValue(slog.String("cloud_name", u.Host), slog.String("upload_prefix", prefix),
		slog.Bool("api_key_set", u.User.Username() != ""), slog.Bool("api_secret_set", secretSet))
}

// cloudinaryRequestTimeout bounds one call to Cloudinary: one chunk of an
// upload (20 MB) on a slow link, or a whole small file.
const cloudinaryRequestTimeout = 15 * time.Minute

// secretReader is the sidecar's secrets API (sidecar.Client).
type secretReader interface {
	Secret(ctx context.Context, store, name string) (string, error)
}

// backend chooses the transcoder: Cloudinary when the secret
// CLOUDINARY_SECRET (default cloudinary-url) holds a CLOUDINARY_URL, the
// local ffmpeg ladder when it is absent or empty. cld is nil for the local
// backend. A secret store that fails otherwise stops the start: a
// misconfigured deployment must not silently transcode locally.
func backend(ctx context.Context, s settings, secrets secretReader, files *hls.Store, tools ffmpeg.Tools, log *slog.Logger) (app.Transcoder, *cloudinary.Client, error) {
	raw, err := secrets.Secret(ctx, s.SecretStore, s.CloudinarySecret)
	switch {
	case errors.Is(err, sidecar.ErrNotFound):
		raw = ""
	case err != nil:
		return nil, nil, fmt.Errorf("cloudinary secret %s: %w", s.CloudinarySecret, err)
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		log.Info("transcoding backend: local ffmpeg", "cloudinary_secret", s.CloudinarySecret)
		return hls.Transcoder{Store: files, Tools: tools}, nil, nil
	}
	if s.CloudinaryNotificationURL == "" {
		return nil, nil, errors.New("the Cloudinary backend needs CLOUDINARY_NOTIFICATION_URL (the gateway's public POST /api/v1/media/notifications/cloudinary)")
	}
	cld, err := cloudinary.New(raw, s.CloudinaryNotificationURL, cloudinary.WithProfile(s.CloudinaryProfile),
		cloudinary.WithHTTPClient(&http.Client{Timeout: cloudinaryRequestTimeout}))
	if err != nil {
		// The adapter's errors never quote the URL's secret.
		return nil, nil, err
	}
	log.Info("transcoding backend: cloudinary", "cloudinary", cloudinaryURL(raw),
		"profile", cld.Profile(), "notification_url", s.CloudinaryNotificationURL)
	return cloudinary.Transcoder{Client: cld, Files: files}, cld, nil
}
