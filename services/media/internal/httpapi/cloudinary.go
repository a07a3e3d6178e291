package httpapi

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/cloudinary"
	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

// MaxNotificationBytes bounds a notification's body (the gateway's bound
// for the route; an eager notification is a few hundred bytes).
const MaxNotificationBytes = 64 << 10

// Cloudinary is what the webhook needs of the adapter (*cloudinary.Client).
type Cloudinary interface {
	VerifyNotification(body []byte, timestamp, signature string, now time.Time) error
	PlaybackURL(publicID string, version int) (string, error)
}

// notificationAnswer is the 200 of a notification: what it did.
type notificationAnswer struct {
	Status string `json:"status"` // READY, FAILED, duplicate, ignored
}

// CloudinaryNotification serves Cloudinary's eager notifications (mount it
// as Deps.CloudinaryNotification): the raw body's signature is checked
// first (a bad or stale one is 401 and changes nothing); notifications of
// other types or of other folders are answered 200 and ignored; an eager
// one makes the waiting video READY, playing from the signed delivery URL
// of its HLS master, or FAILED with Cloudinary's reason. 200 is answered
// only once that is stored: Cloudinary sends again what was not answered 200.
func CloudinaryNotification(cld Cloudinary, a *app.App, now func() time.Time) gin.HandlerFunc {
	if now == nil {
		now = time.Now
	}
	return func(c *gin.Context) {
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxNotificationBytes))
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			fail(c, apierror.New(apierror.TooLarge, "the notification is larger than %d bytes", MaxNotificationBytes))
			return
		case err != nil:
			fail(c, apierror.New(apierror.Invalid, "could not read the notification"))
			return
		}
		err = cld.VerifyNotification(body, c.GetHeader("X-Cld-Timestamp"), c.GetHeader("X-Cld-Signature"), now())
		switch {
		case errors.Is(err, cloudinary.ErrStaleNotification):
			fail(c, apierror.New(apierror.Unauthorized, "the notification's timestamp is outside the accepted window"))
			return
		case err != nil:
			fail(c, apierror.New(apierror.Unauthorized, "the notification's signature is invalid"))
			return
		}
		e, err := cloudinary.ParseEagerNotification(body)
		switch {
		case errors.Is(err, cloudinary.ErrNotEager), errors.Is(err, cloudinary.ErrNotOurs):
			httpserver.LoggerFrom(c).Info("cloudinary notification ignored", "reason", err.Error())
			c.JSON(http.StatusOK, notificationAnswer{Status: "ignored"})
			return
		case err != nil:
			fail(c, apierror.New(apierror.Invalid, "the notification is not valid JSON"))
			return
		case e.Version <= 0:
			fail(c, apierror.New(apierror.Invalid, "the notification names no version"))
			return
		}
		o := job.Outcome{Version: e.Version, Ready: e.Ready}
		if e.Ready {
			u, err := cld.PlaybackURL(e.PublicID, int(e.Version))
			if err != nil {
				fail(c, apierror.Wrap(err, apierror.Invalid, "no playback URL for the notification's asset"))
				return
			}
			o.Result = job.Result{Playback: catalogv1.PlaybackCloudinary, URL: u}
		} else {
			o.Reason = job.CleanReason("Cloudinary: " + e.Reason)
		}
		applied, err := a.Notified(c, e.VideoID, o)
		switch {
		case errors.Is(err, job.ErrNotAwaiting):
			// Sent back as soon as the upload was answered: the answer is
			// being recorded. Cloudinary sends it again.
			c.Header("Retry-After", "3")
			fail(c, apierror.New(apierror.Unavailable, "the video's upload is still being recorded; send the notification again"))
			return
		case err != nil:
			fail(c, err)
			return
		}
		status := map[job.Applied]string{job.Duplicate: "duplicate", job.Ignored: "ignored"}[applied]
		if applied == job.Changed {
			status = job.Failed
			if e.Ready {
				status = job.Ready
			}
		}
		c.JSON(http.StatusOK, notificationAnswer{Status: status})
	}
}
