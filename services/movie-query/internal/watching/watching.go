// Package watching is what a signed-in user does with a video: get leave to
// play it (entitlement checked with the subscription service, failing
// closed, then a signed, short-lived playback URL), save how far they got,
// and list what they have not finished.
package watching

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"tenflix/services/movie-query/internal/catalog"
)

// Refusals of Watch, besides catalog.ErrNotFound and catalog.ErrNotReady.
var (
	ErrNotSubscribed = errors.New("no subscription")
	ErrExpired       = errors.New("subscription ended")
	// ErrUnavailable: entitlement (or the signing key) could not be read;
	// never a grant, and the client may retry.
	ErrUnavailable = errors.New("entitlement cannot be checked now")
)

// ValidationError is bad input, with a message fit for the client.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

// Catalog reads the read model's videos.
type Catalog interface {
	// WatchableVideo: catalog.ErrNotFound unless the video is live and
	// belongs to the live movie movieID.
	WatchableVideo(ctx context.Context, movieID, videoID string) (catalog.Video, catalog.Movie, error)
}

// Progress keeps the users' positions.
type Progress interface {
	SaveProgress(ctx context.Context, p catalog.Progress) error
	Progress(ctx context.Context, userID, videoID string) (_ catalog.Progress, found bool, err error)
	InProgress(ctx context.Context, userID string, q catalog.PageQuery) (catalog.InProgressPage, error)
}

// Entitlement is what the subscription service says of a user now.
type Entitlement struct {
	Entitled bool
	// Lapsed: not entitled, but the answer names the subscription that was
	// (it has ended). Without one the user is taken never to have had one.
	Lapsed bool
}

// Entitlements asks the subscription service. Any failure to get a clear
// answer wraps ErrUnavailable.
type Entitlements interface {
	Entitlement(ctx context.Context, userID string) (Entitlement, error)
}

// Grants signs playback grants (platform/playback). A failure (the key
// cannot be read) wraps ErrUnavailable.
type Grants interface {
	Grant(ctx context.Context, userID, videoID string, expires time.Time) (string, error)
}

// HLSPrefix is where media serves HLS files, from the gateway's root:
// HLSPrefix + "<grant>/<videoId>/master.m3u8".
const HLSPrefix = "/api/v1/media/hls/"

// DefaultGrantTTL outlasts a movie, so that a viewer is not cut off
// mid-film, and still ends the same day.
const DefaultGrantTTL = 4 * time.Hour

// Options tune the use cases; zero values take the defaults.
type Options struct {
	GrantTTL time.Duration    // default DefaultGrantTTL
	Now      func() time.Time // default time.Now
}

// App is the watching use cases.
type App struct {
	catalog      Catalog
	progress     Progress
	entitlements Entitlements
	grants       Grants
	ttl          time.Duration
	now          func() time.Time
}

// New wires the use cases.
func New(c Catalog, p Progress, e Entitlements, g Grants, opt Options) *App {
	if opt.GrantTTL <= 0 {
		opt.GrantTTL = DefaultGrantTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &App{catalog: c, progress: p, entitlements: e, grants: g, ttl: opt.GrantTTL, now: opt.Now}
}

// Viewer is the verified caller.
type Viewer struct {
	ID    string
	Admin bool // admins watch without a subscription (to check uploads)
}

// Session is leave to play one video.
type Session struct {
	Video       catalog.Video
	PlaybackURL string    // absolute, or a path from the gateway's root
	ExpiresAt   time.Time // when PlaybackURL stops working; zero when it does not expire here
	ResumeAt    float64   // seconds; 0 to start from the beginning
	// PosterURL is the video's poster; one stored relative to media's HLS
	// files ("<videoId>/poster.jpg") is given under the grant, like them.
	PosterURL string
}

// Watch gives the viewer a playback URL for a READY video of the movie, if
// they are entitled to watch.
func (a *App) Watch(ctx context.Context, viewer Viewer, movieID, videoID string) (Session, error) {
	v, _, err := a.catalog.WatchableVideo(ctx, movieID, videoID)
	if err != nil {
		return Session{}, err
	}
	if v.Status != catalog.StatusReady {
		return Session{}, fmt.Errorf("video %s is %s: %w", v.ID, v.Status, catalog.ErrNotReady)
	}
	if !viewer.Admin {
		e, err := a.entitlements.Entitlement(ctx, viewer.ID)
		switch {
		case err != nil:
			return Session{}, err
		case e.Entitled:
		case e.Lapsed:
			return Session{}, ErrExpired
		default:
			return Session{}, ErrNotSubscribed
		}
	}
	s := Session{Video: v, PosterURL: v.PosterURL}
	switch v.Playback {
	case catalog.PlaybackHLS:
		s.ExpiresAt = a.now().Add(a.ttl).Truncate(time.Second)
		grant, err := a.grants.Grant(ctx, viewer.ID, v.ID, s.ExpiresAt)
		if err != nil {
			return Session{}, err
		}
		s.PlaybackURL = HLSPrefix + grant + "/" + url.PathEscape(v.ID) + "/master.m3u8"
		if rel := v.PosterURL; rel != "" && !strings.HasPrefix(rel, "/") && !strings.Contains(rel, "://") {
			s.PosterURL = HLSPrefix + grant + "/" + rel
		}
	case catalog.PlaybackURL, catalog.PlaybackCloudinary:
		// The address an admin gave, or Cloudinary's delivery URL (signed by
		// Cloudinary when the account makes it so).
		s.PlaybackURL = v.URL
	default:
		return Session{}, fmt.Errorf("video %s: unknown playback %q: %w", v.ID, v.Playback, catalog.ErrNotReady)
	}
	if s.PlaybackURL == "" {
		return Session{}, fmt.Errorf("video %s has no address: %w", v.ID, catalog.ErrNotReady)
	}
	p, found, err := a.progress.Progress(ctx, viewer.ID, v.ID)
	if err != nil {
		return Session{}, err
	}
	if found {
		s.ResumeAt = p.ResumeAt()
	}
	return s, nil
}

// SaveProgress records how far the user has watched a READY video.
// Entitlement is not asked: a position is worth nothing without a
// playback URL, and players report one every few seconds.
func (a *App) SaveProgress(ctx context.Context, userID, movieID, videoID string, pos float64) (catalog.Progress, error) {
	v, _, err := a.catalog.WatchableVideo(ctx, movieID, videoID)
	if err != nil {
		return catalog.Progress{}, err
	}
	if v.Status != catalog.StatusReady {
		return catalog.Progress{}, fmt.Errorf("video %s is %s: %w", v.ID, v.Status, catalog.ErrNotReady)
	}
	if err := catalog.ValidatePosition(pos, v.LengthSeconds); err != nil {
		return catalog.Progress{}, &ValidationError{Msg: err.Error()}
	}
	p := catalog.Progress{
		UserID: userID, VideoID: v.ID, MovieID: v.MovieID, PositionSeconds: pos,
		LengthSeconds: v.LengthSeconds, UpdatedAt: a.now().UTC().Truncate(time.Millisecond),
	}
	if err := a.progress.SaveProgress(ctx, p); err != nil {
		return catalog.Progress{}, err
	}
	return p, nil
}

// ContinueWatching is the user's unfinished videos, most recent first.
func (a *App) ContinueWatching(ctx context.Context, userID string, q catalog.PageQuery) (catalog.InProgressPage, error) {
	if err := q.Validate(); err != nil {
		return catalog.InProgressPage{}, &ValidationError{Msg: err.Error()}
	}
	return a.progress.InProgress(ctx, userID, q)
}
