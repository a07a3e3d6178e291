// Package emulator is a local Cloudinary for development and tests: the
// parts of the Upload API and of delivery that cloudinary-go v2 uses for
// video: signed (and chunked) uploads, asynchronous eager adaptive streaming
// (sp_<profile>/m3u8) made for real with ffmpeg, signed eager notifications,
// and delivery of the HLS files, signed URLs for type authenticated.
package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Config is one Cloudinary account (product environment) and where the
// emulator keeps its files.
type Config struct {
	CloudName, APIKey, APISecret string
	// SignatureAlgorithm is the account's: "sha1" (default) or "sha256".
	SignatureAlgorithm string
	// BaseURL is the origin clients reach the emulator at; the delivery
	// URLs it answers with start with BaseURL + "/" + CloudName.
	BaseURL string
	// DataDir keeps state.json, the originals and the derived files.
	DataDir string
	// FFmpeg and FFprobe are the binaries (default: from PATH).
	FFmpeg, FFprobe string
	// MaxFileSize is the largest upload accepted (default 4 GiB).
	MaxFileSize int64
	// NotificationRetries are the delays before each retry of a notification
	// that was not answered 200 (default 3 s, 6 s, 9 s: Cloudinary's three
	// retries, in seconds rather than minutes).
	NotificationRetries []time.Duration
	// HTTPClient sends notifications (default: 30 s timeout).
	HTTPClient *http.Client
	Log        *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Server is the emulator; Handler serves both the API and delivery.
type Server struct {
	cfg    Config
	store  *store
	log    *slog.Logger
	jobs   chan string // asset keys with eager work
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the data directory, resumes eager work left unfinished and
// starts the transcoding worker (one at a time: ffmpeg uses every core).
func New(cfg Config) (*Server, error) {
	if cfg.CloudName == "" || cfg.APIKey == "" || cfg.APISecret == "" {
		return nil, errors.New("emulator: cloud name, api key and api secret are required")
	}
	switch cfg.SignatureAlgorithm {
	case "":
		cfg.SignatureAlgorithm = "sha1"
	case "sha1", "sha256":
	default:
		return nil, fmt.Errorf("emulator: signature algorithm %q (sha1 or sha256)", cfg.SignatureAlgorithm)
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("emulator: base URL %q is not an http(s) origin", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.DataDir == "" {
		return nil, errors.New("emulator: a data directory is required (the videos are files)")
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.FFprobe == "" {
		cfg.FFprobe = "ffprobe"
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = 4 << 30
	}
	if cfg.NotificationRetries == nil {
		cfg.NotificationRetries = []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, err := openStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, store: st, log: cfg.Log, jobs: make(chan string, 1024), ctx: ctx, cancel: cancel}
	var pending []string
	st.view(func(st *state) {
		for key, a := range st.Assets {
			for _, e := range a.Eager {
				if e.Status == "processing" {
					pending = append(pending, key)
					break
				}
			}
		}
	})
	s.wg.Add(1)
	go s.worker()
	for _, key := range pending {
		s.log.Info("resuming eager work", "asset", key)
		s.jobs <- key
	}
	return s, nil
}

// Close stops the worker (an interrupted job resumes on the next New) and
// waits for notifications in flight.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Handler routes the Upload API (/v1_1/...), delivery (/<cloud>/...) and the
// emulator's own inspection routes (/emulator/...).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1_1/{cloud}/{resource}/upload", s.handleUpload)
	mux.HandleFunc("GET /emulator/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /emulator/assets", s.handleAssets)
	mux.HandleFunc("POST /emulator/notify", s.handleResend)
	mux.HandleFunc("GET /{path...}", s.handleDelivery)
	mux.HandleFunc("OPTIONS /{path...}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD")
		w.Header().Set("Access-Control-Allow-Headers", "Range")
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// handleAssets answers every asset, or the one named by ?public_id= (and
// ?type=, default authenticated... any).
func (s *Server) handleAssets(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("public_id")
	var out []Asset
	s.store.view(func(st *state) {
		for _, a := range st.Assets {
			if pid == "" || a.PublicID == pid {
				out = append(out, cloneAsset(a))
			}
		}
	})
	if pid != "" && len(out) == 0 {
		writeAPIError(w, errorf(http.StatusNotFound, "Resource not found - "+pid))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out})
}

// handleResend POSTs the eager notification of ?public_id= again (a
// duplicate, as Cloudinary's retries make).
func (s *Server) handleResend(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("public_id")
	var key string
	s.store.view(func(st *state) {
		for k, a := range st.Assets {
			if a.PublicID == pid {
				key = k
			}
		}
	})
	if key == "" {
		writeAPIError(w, errorf(http.StatusNotFound, "Resource not found - "+pid))
		return
	}
	sent := s.notify(key, nil)
	writeJSON(w, http.StatusOK, map[string]any{"notifications": sent})
}

func cloneAsset(a *Asset) Asset {
	c := *a
	c.Eager = nil
	for _, e := range a.Eager {
		ec := *e
		ec.Renditions = append([]Rendition(nil), e.Renditions...)
		c.Eager = append(c.Eager, &ec)
	}
	c.Notifications = append([]Notification(nil), a.Notifications...)
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deliveryURL is the URL of publicID + "." + ext under transformation for an
// asset: signed when the delivery type needs it (authenticated, private).
func (s *Server) deliveryURL(a *Asset, transformation, file string) string {
	return s.cfg.BaseURL + s.deliveryPath(a, transformation, file)
}

// deliveryPath is deliveryURL without the origin (what playlists carry).
func (s *Server) deliveryPath(a *Asset, transformation, file string) string {
	parts := []string{"", s.cfg.CloudName, "video", a.Type}
	toSign := file
	if transformation != "" {
		toSign = transformation + "/" + file
	}
	if a.Type != "upload" {
		parts = append(parts, urlSignature(toSign, s.cfg.APISecret, s.cfg.SignatureAlgorithm, false))
	}
	if transformation != "" {
		parts = append(parts, transformation)
	}
	parts = append(parts, fmt.Sprintf("v%d", a.Version), escapePath(file))
	return strings.Join(parts, "/")
}

// escapePath escapes each segment of a public id path.
func escapePath(p string) string {
	seg := strings.Split(p, "/")
	for i := range seg {
		seg[i] = url.PathEscape(seg[i])
	}
	return strings.Join(seg, "/")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
