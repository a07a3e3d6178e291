// Package httpapi is media's HTTP surface, all of it reached through the
// gateway: the admin upload and retry routes (under movie-command's public
// prefix, where an admin looks for a movie's videos) and the HLS files,
// which a playback grant in the path authorises.
package httpapi

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/playback"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/hls"
)

// Public paths (the same at the gateway).
const (
	UploadPath = "/api/v1/movie-command/movies/:id/videos/upload"
	RetryPath  = "/api/v1/movie-command/movies/:id/videos/:videoId/retry"
	HLSPath    = "/api/v1/media/hls/:grant/:videoId/*file"
	// CloudinaryNotificationPath is Cloudinary's webhook (its signature is
	// the check); Deps.CloudinaryNotification serves it.
	CloudinaryNotificationPath = "/api/v1/media/notifications/cloudinary"
)

// Deps is what the routes need.
type Deps struct {
	Log      *slog.Logger
	Verifier authn.TokenVerifier // the admin routes' bearer tokens
	App      *app.App
	Files    *hls.Store
	Grants   *playback.Signer
	// UploadTimeout bounds one upload request (read and answer); the
	// server's own timeouts are for ordinary requests.
	UploadTimeout time.Duration
	// CloudinaryNotification, when set, serves CloudinaryNotificationPath.
	CloudinaryNotification gin.HandlerFunc
	Now                    func() time.Time // default time.Now
}

// Routes mounts every route on r (built by httpserver.NewEngine, which
// checks the sidecar's app token).
func Routes(r gin.IRouter, d Deps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.UploadTimeout <= 0 {
		d.UploadTimeout = time.Hour
	}
	h := &handlers{d: d}
	admin := []gin.HandlerFunc{authn.Authenticate(d.Verifier), authn.RequireRole("admin")}
	r.POST(UploadPath, append(admin, h.upload)...)
	r.POST(RetryPath, append(admin, h.retry)...)
	r.GET(HLSPath, h.hls)
	r.HEAD(HLSPath, h.hls)
	if d.CloudinaryNotification != nil {
		r.POST(CloudinaryNotificationPath, d.CloudinaryNotification)
	}
}
