package httpapi

import (
	"errors"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/platform/sidecar"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/hls"
	"tenflix/services/media/internal/job"
)

type handlers struct{ d Deps }

// videoAnswer is the 202 of an upload or retry.
type videoAnswer struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// fail maps the service's errors to the envelope, in one table.
func fail(c *gin.Context, err error) {
	var (
		ve     *job.ValidationError
		maxErr *http.MaxBytesError
		api    *sidecar.APIError
	)
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.Is(err, job.ErrTooLarge), errors.As(err, &maxErr):
		err = apierror.New(apierror.TooLarge, "the file is larger than the upload limit")
	case errors.Is(err, job.ErrNotMedia):
		err = apierror.New(apierror.UnsupportedMedia, "the file is not a video")
	case errors.Is(err, job.ErrNoVideo):
		err = apierror.Wrap(err, apierror.Unprocessable, "the file has no video stream that decodes")
	case errors.Is(err, job.ErrMovieNotFound):
		err = apierror.New(apierror.NotFound, "movie not found")
	case errors.Is(err, job.ErrNotFound):
		err = apierror.New(apierror.NotFound, "video not found")
	case errors.Is(err, job.ErrNotFailed):
		err = apierror.New(apierror.Conflict, "only a FAILED video can be retried")
	case errors.Is(err, job.ErrRefused):
		err = apierror.New(apierror.Conflict, "movie-command refused the video's status")
	case errors.As(err, &api):
		err = apierror.Wrap(err, apierror.Unavailable, "movie-command is unavailable; try again")
	}
	httpserver.Fail(c, err)
}

// upload receives a multipart body (file, title, synopsis) part by part:
// the file is streamed to disk as it arrives, never held in memory, and its
// size limit is enforced while it streams.
func (h *handlers) upload(c *gin.Context) {
	// An upload may take longer than the server's read and write timeouts.
	rc := http.NewResponseController(c.Writer)
	deadline := time.Now().Add(h.d.UploadTimeout)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)

	mr, err := c.Request.MultipartReader()
	if err != nil {
		fail(c, apierror.New(apierror.UnsupportedMedia, "send multipart/form-data with a file part and title, synopsis fields"))
		return
	}
	u, err := h.d.App.BeginUpload(c, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	var meta job.Meta
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = h.readPart(u, part, &meta)
		} else if !isTooLarge(err) {
			err = &job.ValidationError{Msg: "malformed multipart body"}
		}
		if err != nil {
			u.Discard()
			fail(c, err)
			return
		}
	}
	j, err := u.Accept(c, meta)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, videoAnswer{ID: j.VideoID, Status: j.Status})
}

// maxField bounds a text field (the synopsis' 5000 characters in UTF-8,
// with room).
const maxField = 64 << 10

func (h *handlers) readPart(u *app.Upload, p *multipart.Part, meta *job.Meta) error {
	switch p.FormName() {
	case "file":
		_, err := u.SaveFile(p)
		var ve *job.ValidationError
		if err != nil && !isTooLarge(err) && !errors.As(err, &ve) {
			// The client's stream broke off (or the disk failed: logged).
			return apierror.Wrap(err, apierror.Invalid, "could not read the file part")
		}
		return err
	case "title", "synopsis":
		b, err := io.ReadAll(io.LimitReader(p, maxField+1))
		switch {
		case err != nil && isTooLarge(err):
			return err
		case err != nil:
			return &job.ValidationError{Msg: "malformed multipart body"}
		case len(b) > maxField:
			return &job.ValidationError{Msg: p.FormName() + " is too long"}
		}
		if p.FormName() == "title" {
			meta.Title = string(b)
		} else {
			meta.Synopsis = string(b)
		}
		return nil
	default:
		return &job.ValidationError{Msg: "unknown form field (expected file, title, synopsis)"}
	}
}

func isTooLarge(err error) bool {
	var maxErr *http.MaxBytesError
	return errors.As(err, &maxErr) || errors.Is(err, job.ErrTooLarge)
}

func (h *handlers) retry(c *gin.Context) {
	j, err := h.d.App.Retry(c, c.Param("id"), c.Param("videoId"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, videoAnswer{ID: j.VideoID, Status: j.Status})
}

// Cache-Control of the ladder's files. Grants are per user, so only the
// user's own cache may keep them (private). A published ladder never
// changes: segments and the poster are immutable; playlists are kept
// briefly, so that a player re-reading them sees any re-publication.
const (
	playlistCache = "private, max-age=5"
	segmentCache  = "private, max-age=3600, immutable"
)

// hls serves one file of a video's ladder to the holder of a grant for that
// video; byte ranges, HEAD and conditional requests by http.ServeContent.
func (h *handlers) hls(c *gin.Context) {
	videoID := c.Param("videoId")
	if _, err := h.d.Grants.Verify(c.Param("grant"), videoID, h.d.Now()); err != nil {
		fail(c, apierror.New(apierror.Forbidden, "the playback grant is invalid or expired"))
		return
	}
	f, info, err := h.d.Files.OpenFile(videoID, c.Param("file"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fail(c, apierror.New(apierror.NotFound, "no such file"))
		return
	case err != nil:
		fail(c, apierror.Wrap(err, apierror.Invalid, "not a file of this video"))
		return
	}
	defer f.Close()
	ext := path.Ext(info.Name())
	w := c.Writer.Header()
	w.Set("Content-Type", hls.ContentTypes[ext])
	w.Set("X-Content-Type-Options", "nosniff")
	if ext == ".m3u8" {
		w.Set("Cache-Control", playlistCache)
	} else {
		w.Set("Cache-Control", segmentCache)
	}
	http.ServeContent(c.Writer, c.Request, info.Name(), info.ModTime(), f)
}
