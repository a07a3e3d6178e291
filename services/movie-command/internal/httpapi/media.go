package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// mediaRoutes are what the media service invokes through Dapr (its
// accessControl allows media only): whether a movie exists, and the status
// reports of uploaded videos (catalogv1.VideoStatusPath).
func mediaRoutes(r gin.IRouter, h *handlers) {
	r.GET("/internal/movies/:movieId", h.internalMovie)
	r.PUT("/internal/movies/:movieId/videos/:videoId", h.putVideoStatus)
}

func uuidParams(c *gin.Context, names ...string) bool {
	for _, n := range names {
		if uuid.Validate(c.Param(n)) != nil {
			httpserver.Fail(c, apierror.New(apierror.NotFound, "%s %s not found", n, c.Param(n)))
			return false
		}
	}
	return true
}

func (h *handlers) internalMovie(c *gin.Context) {
	if !uuidParams(c, "movieId") {
		return
	}
	if err := h.app.MovieLive(c, c.Param("movieId")); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": c.Param("movieId")})
}

func (h *handlers) putVideoStatus(c *gin.Context) {
	if !uuidParams(c, "movieId", "videoId") {
		return
	}
	var body catalogv1.VideoStatus
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	v, err := h.app.PutVideoStatus(c, catalog.VideoStatusInput{
		MovieID: c.Param("movieId"), VideoID: c.Param("videoId"),
		Title: body.Title, Synopsis: body.Synopsis, Status: body.Status, Progress: int64(body.Progress),
		FailureReason: body.FailureReason, Playback: body.Playback, URL: body.URL, PosterURL: body.PosterURL,
		LengthSeconds: int64(body.LengthSeconds),
	})
	switch {
	case errors.Is(err, catalog.ErrStatusOrder):
		httpserver.Fail(c, apierror.Wrap(err, apierror.Conflict, "the video already has a later status"))
	case errors.Is(err, app.ErrNotUploaded):
		httpserver.Fail(c, apierror.New(apierror.Conflict, "the video was added by URL, not uploaded"))
	case err != nil:
		fail(c, err)
	default:
		c.JSON(http.StatusOK, v)
	}
}
