// Package cloudinary is the media service's Cloudinary backend: it uploads a
// video from disk with cloudinary-go (chunked, because it hands the SDK an
// *os.File), asks for asynchronous eager adaptive streaming (sp_<profile>/
// m3u8) with a notification URL, verifies and reads the eager notification
// that says whether the renditions exist, and signs the delivery URL of the
// HLS master for type authenticated.
package cloudinary

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	cld "github.com/cloudinary/cloudinary-go/v2"
	"github.com/cloudinary/cloudinary-go/v2/api"
	"github.com/cloudinary/cloudinary-go/v2/api/uploader"
	"github.com/cloudinary/cloudinary-go/v2/logger"
)

const (
	// PublicIDPrefix is the folder of Tenflix's videos; the public id of a
	// video is PublicIDPrefix + its id.
	PublicIDPrefix = "tenflix/videos/"
	// DefaultProfile is the streaming profile asked for unless WithProfile
	// says otherwise: auto lets Cloudinary fit the ladder to the source, as
	// the local ffmpeg backend does (never upscaled, 1080p when the source
	// has it), where hd would stop at 720p and full_hd would pay for 1080p
	// renditions of smaller sources.
	DefaultProfile = "auto"
	// DefaultNotificationWindow is how old a notification's X-Cld-Timestamp
	// may be: cloudinary-go's VerifyNotificationSignature default (2 h).
	DefaultNotificationWindow = 2 * time.Hour
	// cloudinaryAPI is the SDK's default upload_prefix.
	cloudinaryAPI = "https://api.cloudinary.com"
)

var (
	videoIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	profileRe = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// ErrInvalidVideoID: a video id that cannot be part of a public id.
var ErrInvalidVideoID = errors.New("cloudinary: invalid video id")

// APIError is Cloudinary refusing a call ({"error":{"message":...}}, which
// cloudinary-go returns in the result, not as a Go error).
type APIError struct {
	Op      string
	Message string
}

func (e *APIError) Error() string { return "cloudinary " + e.Op + ": " + e.Message }

// Client talks to one Cloudinary account (product environment).
type Client struct {
	sdk             *cld.Cloudinary
	notificationURL string
	profile         string
	window          time.Duration
}

// Option changes a Client's defaults.
type Option func(*Client)

// WithProfile sets the streaming profile (hd, sd, full_hd, 4k, auto, or a
// custom profile's name).
func WithProfile(p string) Option { return func(c *Client) { c.profile = p } }

// WithNotificationWindow sets how old (or how far ahead) a notification's
// timestamp may be.
func WithNotificationWindow(d time.Duration) Option { return func(c *Client) { c.window = d } }

// WithHTTPClient replaces the SDK's http.Client (timeouts, transports).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.sdk.Upload.Client = *h }
}

// New reads CLOUDINARY_URL (cloudinary://api_key:api_secret@cloud_name, with
// the SDK's query parameters: upload_prefix, signature_algorithm,
// chunk_size, secure, cname ...). notificationURL is where Cloudinary posts
// the eager notification: the gateway's public route.
//
// When upload_prefix names another origin than Cloudinary's API and no cname
// is set, delivery URLs are built on that origin too: a local fake
// (tools/cloudinary-emulator) serves the API and delivery on one port.
func New(cloudinaryURL, notificationURL string, opts ...Option) (*Client, error) {
	sdk, err := cld.NewFromURL(cloudinaryURL)
	if err != nil {
		return nil, fmt.Errorf("cloudinary: CLOUDINARY_URL: %w", err)
	}
	conf := &sdk.Config
	if conf.Cloud.CloudName == "" || conf.Cloud.APIKey == "" || conf.Cloud.APISecret == "" {
		return nil, errors.New("cloudinary: CLOUDINARY_URL needs cloudinary://api_key:api_secret@cloud_name")
	}
	if a := conf.Cloud.GetSignatureAlgorithm(); a != "sha1" && a != "sha256" {
		return nil, fmt.Errorf("cloudinary: signature_algorithm %q (sha1 or sha256)", a)
	}
	if u, err := url.Parse(notificationURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cloudinary: notification URL %q is not an absolute http(s) URL", notificationURL)
	}
	if prefix := strings.TrimSuffix(conf.API.UploadPrefix, "/"); prefix != cloudinaryAPI && conf.URL.CName == "" && conf.URL.SecureCName == "" {
		u, err := url.Parse(prefix)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("cloudinary: upload_prefix %q is not an http(s) origin", conf.API.UploadPrefix)
		}
		conf.URL.Secure = u.Scheme == "https"
		conf.URL.CName, conf.URL.SecureCName = u.Host, u.Host
		conf.URL.PrivateCDN, conf.URL.CDNSubDomain, conf.URL.SecureCDNSubDomain = false, false, false
	}
	conf.URL.SignURL = true
	conf.URL.Analytics = false // no SDK telemetry query on signed URLs
	sdk.Upload.Config = *conf
	quiet := logger.New()
	quiet.SetLevel(logger.NONE) // errors are returned, and logged once by the caller
	sdk.Upload.Logger, sdk.Logger = quiet, quiet
	c := &Client{sdk: sdk, notificationURL: notificationURL, profile: DefaultProfile, window: DefaultNotificationWindow}
	for _, o := range opts {
		o(c)
	}
	if !profileRe.MatchString(c.profile) {
		return nil, fmt.Errorf("cloudinary: streaming profile %q", c.profile)
	}
	if c.window <= 0 {
		return nil, errors.New("cloudinary: the notification window must be positive")
	}
	return c, nil
}

// Profile is the streaming profile asked for.
func (c *Client) Profile() string { return c.profile }

// Transformation is the eager transformation asked for: sp_<profile>/m3u8.
func (c *Client) Transformation() string { return "sp_" + c.profile + "/m3u8" }

// PublicID is the public id of a video.
func PublicID(videoID string) (string, error) {
	if !videoIDRe.MatchString(videoID) {
		return "", fmt.Errorf("%w: %q", ErrInvalidVideoID, videoID)
	}
	return PublicIDPrefix + videoID, nil
}

// VideoID is the video id of a Tenflix public id, "" for any other.
func VideoID(publicID string) string {
	id, ok := strings.CutPrefix(publicID, PublicIDPrefix)
	if !ok || !videoIDRe.MatchString(id) {
		return ""
	}
	return id
}

// Upload is what Cloudinary answered an upload: the asset exists, its HLS
// renditions do not yet (EagerURL is not playable until the notification).
type Upload struct {
	PublicID string
	Version  int
	AssetID  string
	BatchID  string // the eager batch the notification will name
	EagerURL string
}

// Upload sends the file at path as the video videoID (type authenticated,
// overwriting an earlier upload of the same id: a retry) and asks for the
// eager HLS ladder, asynchronously, with the notification URL.
func (c *Client) Upload(ctx context.Context, videoID, path string) (Upload, error) {
	publicID, err := PublicID(videoID)
	if err != nil {
		return Upload{}, err
	}
	// An *os.File (not a plain reader) is what makes the SDK send chunks
	// (20 MB by default, chunk_size in CLOUDINARY_URL) rather than one body.
	f, err := os.Open(path)
	if err != nil {
		return Upload{}, fmt.Errorf("cloudinary upload: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return Upload{}, fmt.Errorf("cloudinary upload: %s is not a regular file", path)
	}
	res, err := c.sdk.Upload.Upload(ctx, f, uploader.UploadParams{
		PublicID:             publicID,
		ResourceType:         api.Video,
		Type:                 api.Authenticated,
		Overwrite:            api.Bool(true),
		Invalidate:           api.Bool(true),
		Eager:                c.Transformation(),
		EagerAsync:           api.Bool(true),
		EagerNotificationURL: c.notificationURL,
	})
	if err != nil {
		return Upload{}, fmt.Errorf("cloudinary upload: %w", err)
	}
	if res.Error.Message != "" {
		return Upload{}, &APIError{Op: "upload", Message: res.Error.Message}
	}
	if res.PublicID != publicID || res.Version <= 0 {
		return Upload{}, fmt.Errorf("cloudinary upload: answered public id %q version %d, want %q", res.PublicID, res.Version, publicID)
	}
	up := Upload{PublicID: res.PublicID, Version: res.Version, AssetID: res.AssetID, BatchID: batchID(res.Response)}
	for _, e := range res.Eager {
		if u := firstNonEmpty(e.SecureURL, e.URL); u != "" {
			up.EagerURL = u
			break
		}
	}
	return up, nil
}

// batchID reads eager[].batch_id from the raw answer (the SDK's Eager has
// no field for it; its Response is a *map[string]any).
func batchID(raw any) string {
	m, _ := raw.(*map[string]any)
	if m == nil {
		return ""
	}
	eager, _ := (*m)["eager"].([]any)
	for _, e := range eager {
		if em, ok := e.(map[string]any); ok {
			if id, ok := em["batch_id"].(string); ok {
				return id
			}
		}
	}
	return ""
}

// PlaybackURL is the signed delivery URL of the HLS master of an upload:
// .../video/authenticated/s--SIG--/sp_<profile>/v<version>/<public id>.m3u8.
// Such signatures do not expire; see the README on expiring URLs.
func (c *Client) PlaybackURL(publicID string, version int) (string, error) {
	if VideoID(publicID) == "" {
		return "", fmt.Errorf("cloudinary: %q is not a Tenflix video's public id", publicID)
	}
	if version <= 0 {
		return "", fmt.Errorf("cloudinary: version %d", version)
	}
	v, err := c.sdk.Video(publicID + ".m3u8")
	if err != nil {
		return "", fmt.Errorf("cloudinary: playback URL: %w", err)
	}
	v.DeliveryType = api.Authenticated
	v.Transformation = "sp_" + c.profile
	v.Version = version
	return v.String()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
