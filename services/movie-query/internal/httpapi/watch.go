package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-query/internal/catalog"
	"tenflix/services/movie-query/internal/watching"
)

// Watching is the watching use cases (watching.App).
type Watching interface {
	Watch(ctx context.Context, viewer watching.Viewer, movieID, videoID string) (watching.Session, error)
	SaveProgress(ctx context.Context, userID, movieID, videoID string, pos float64) (catalog.Progress, error)
	ContinueWatching(ctx context.Context, userID string, q catalog.PageQuery) (catalog.InProgressPage, error)
}

// retryAfter is what a viewer refused for want of an entitlement answer is
// told to wait.
const retryAfter = "5"

type watchHandlers struct {
	watching Watching
}

// watchRoutes mounts the viewer's routes on api (behind Authenticate). The
// user is always the token's subject, never a parameter or a body field.
func watchRoutes(api gin.IRouter, w Watching) {
	h := watchHandlers{watching: w}
	api.GET("/videos/:movieId/:videoId", h.watch)
	api.PUT("/videos/:movieId/:videoId/progress", h.saveProgress)
	api.GET("/continue-watching", h.continueWatching)
}

type watchDTO struct {
	Video       videoDTO `json:"video"`
	PlaybackURL string   `json:"playbackUrl"`
	ExpiresAt   string   `json:"expiresAt,omitempty"`
	ResumeAt    float64  `json:"resumeAt"`
}

type progressInput struct {
	PositionSeconds *float64 `json:"positionSeconds"`
}

type progressDTO struct {
	MovieID         string  `json:"movieId"`
	VideoID         string  `json:"videoId"`
	PositionSeconds float64 `json:"positionSeconds"`
	LengthSeconds   int32   `json:"lengthSeconds"`
	UpdatedAt       string  `json:"updatedAt"`
}

type inProgressDTO struct {
	MovieID         string  `json:"movieId"`
	MovieTitle      string  `json:"movieTitle"`
	VideoID         string  `json:"videoId"`
	VideoTitle      string  `json:"videoTitle"`
	PosterURL       string  `json:"posterUrl,omitempty"`
	PositionSeconds float64 `json:"positionSeconds"`
	LengthSeconds   int32   `json:"lengthSeconds"`
	UpdatedAt       string  `json:"updatedAt"`
}

type inProgressPageDTO struct {
	Items []inProgressDTO `json:"items"`
	Page  int             `json:"page"`
	Size  int             `json:"size"`
	Total int64           `json:"total"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (h watchHandlers) watch(c *gin.Context) {
	caller, _ := authn.CallerFrom(c)
	viewer := watching.Viewer{ID: caller.Subject, Admin: caller.HasRole("admin")}
	s, err := h.watching.Watch(c, viewer, c.Param("movieId"), c.Param("videoId"))
	if err != nil {
		failWatch(c, err)
		return
	}
	video := videoFrom(s.Video)
	video.PosterURL = s.PosterURL
	out := watchDTO{Video: video, PlaybackURL: s.PlaybackURL, ResumeAt: s.ResumeAt}
	if !s.ExpiresAt.IsZero() {
		out.ExpiresAt = stamp(s.ExpiresAt)
	}
	// The URL carries a grant: not for shared caches.
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (h watchHandlers) saveProgress(c *gin.Context) {
	caller, _ := authn.CallerFrom(c)
	var in progressInput
	if err := httpserver.BindJSON(c, &in); err != nil {
		httpserver.Fail(c, err)
		return
	}
	if in.PositionSeconds == nil {
		httpserver.Fail(c, invalid("positionSeconds is required"))
		return
	}
	p, err := h.watching.SaveProgress(c, caller.Subject, c.Param("movieId"), c.Param("videoId"), *in.PositionSeconds)
	if err != nil {
		failWatch(c, err)
		return
	}
	c.JSON(http.StatusOK, progressDTO{
		MovieID: p.MovieID, VideoID: p.VideoID, PositionSeconds: p.PositionSeconds,
		LengthSeconds: p.LengthSeconds, UpdatedAt: stamp(p.UpdatedAt),
	})
}

func (h watchHandlers) continueWatching(c *gin.Context) {
	caller, _ := authn.CallerFrom(c)
	q, err := parsePage(c)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	page, err := h.watching.ContinueWatching(c, caller.Subject, q)
	if err != nil {
		failWatch(c, err)
		return
	}
	out := inProgressPageDTO{Items: make([]inProgressDTO, 0, len(page.Items)), Page: q.Page, Size: q.Size, Total: page.Total}
	for _, p := range page.Items {
		out.Items = append(out.Items, inProgressDTO{
			MovieID: p.MovieID, MovieTitle: p.MovieName, VideoID: p.VideoID, VideoTitle: p.VideoTitle,
			PosterURL: p.PosterURL, PositionSeconds: p.PositionSeconds, LengthSeconds: p.LengthSeconds,
			UpdatedAt: stamp(p.UpdatedAt),
		})
	}
	c.JSON(http.StatusOK, out)
}

// parsePage reads page and size (empty = default).
func parsePage(c *gin.Context) (catalog.PageQuery, error) {
	q := catalog.PageQuery{Page: 1, Size: catalog.DefaultPageSize}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &q.Page}, {"size", &q.Size}} {
		if s := c.Query(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return q, invalid("%s must be an integer, got %q", p.name, s)
			}
			*p.dst = n
		}
	}
	if err := q.Validate(); err != nil {
		return q, invalid("%s", err.Error())
	}
	return q, nil
}

// failWatch is the one table of watching's errors.
func failWatch(c *gin.Context, err error) {
	var invalidErr *watching.ValidationError
	switch {
	case errors.As(err, &invalidErr):
		err = apierror.New(apierror.Invalid, "%s", invalidErr.Msg)
	case errors.Is(err, catalog.ErrNotFound):
		err = apierror.New(apierror.NotFound, "no such video in this movie")
	case errors.Is(err, catalog.ErrNotReady):
		err = apierror.Wrap(err, apierror.VideoNotReady, "the video cannot be played yet")
	case errors.Is(err, watching.ErrNotSubscribed):
		err = apierror.New(apierror.NotSubscribed, "a subscription is required to watch")
	case errors.Is(err, watching.ErrExpired):
		err = apierror.New(apierror.SubscriptionExpired, "your subscription has ended; renew it to watch")
	case errors.Is(err, watching.ErrUnavailable):
		// Failing closed: no grant without a clear answer.
		httpserver.LoggerFrom(c).WarnContext(c, "playback refused: entitlement unavailable", "err", err)
		c.Header("Retry-After", retryAfter)
		err = apierror.Wrap(err, apierror.Unavailable, "playback cannot be authorized right now; retry later")
	}
	httpserver.Fail(c, err)
}
