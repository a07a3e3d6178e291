package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Asset is one uploaded video as the emulator keeps it.
type Asset struct {
	AssetID          string    `json:"asset_id"`
	PublicID         string    `json:"public_id"`
	Type             string    `json:"type"` // delivery type: upload, authenticated, private
	Version          int64     `json:"version"`
	VersionID        string    `json:"version_id"`
	Format           string    `json:"format"` // the original's extension
	Bytes            int64     `json:"bytes"`
	Etag             string    `json:"etag"`
	Width            int       `json:"width"`
	Height           int       `json:"height"`
	Duration         float64   `json:"duration"`
	HasAudio         bool      `json:"has_audio"`
	OriginalFilename string    `json:"original_filename"`
	CreatedAt        time.Time `json:"created_at"`
	Eager            []*Eager  `json:"eager,omitempty"`
	// One batch per upload: its eager transformations are announced together
	// in one notification once all of them are done.
	BatchID         string         `json:"batch_id,omitempty"`
	EagerAsync      bool           `json:"eager_async,omitempty"`
	NotificationURL string         `json:"eager_notification_url,omitempty"`
	Notifications   []Notification `json:"notifications,omitempty"`
}

// Eager is one eager transformation of an asset and what became of it.
type Eager struct {
	Transformation string      `json:"transformation"` // sp_<profile>/m3u8
	Profile        string      `json:"profile"`
	Status         string      `json:"status"` // processing, complete, failed
	Reason         string      `json:"reason,omitempty"`
	Renditions     []Rendition `json:"renditions,omitempty"`
	Bytes          int64       `json:"bytes,omitempty"` // of the master playlist
}

// Rendition is one variant of an HLS ladder.
type Rendition struct {
	Name   string `json:"name"` // 360p
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Notification is one POST of an eager notification and its answer.
type Notification struct {
	At     time.Time `json:"at"`
	URL    string    `json:"url"`
	Status int       `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// chunkedUpload is a chunked upload in progress (X-Unique-Upload-Id).
type chunkedUpload struct {
	ID        string     `json:"id"`
	PublicID  string     `json:"public_id"`
	Total     int64      `json:"total"`
	Ranges    [][2]int64 `json:"ranges"` // received, merged, inclusive
	UpdatedAt time.Time  `json:"updated_at"`
}

// received is how many bytes of the upload have arrived.
func (u *chunkedUpload) received() int64 {
	var n int64
	for _, r := range u.Ranges {
		n += r[1] - r[0] + 1
	}
	return n
}

// add records [from, to] and merges overlapping or touching ranges.
func (u *chunkedUpload) add(from, to int64) {
	rs := append(u.Ranges, [2]int64{from, to})
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r[0] <= last[1]+1 {
			last[1] = max(last[1], r[1])
			continue
		}
		out = append(out, r)
	}
	u.Ranges = out
}

func (u *chunkedUpload) complete() bool {
	return len(u.Ranges) == 1 && u.Ranges[0][0] == 0 && u.Ranges[0][1] == u.Total-1
}

// state is what data/state.json holds; the files live beside it.
type state struct {
	Version int                       `json:"version"`
	Assets  map[string]*Asset         `json:"assets"`  // by type + "/" + public id
	Uploads map[string]*chunkedUpload `json:"uploads"` // by upload id
}

// store keeps the state under one lock and rewrites state.json atomically
// after every change, so that a restart keeps what was answered.
type store struct {
	mu   sync.Mutex
	dir  string
	st   state
	file string
}

const stateFile = "state.json"

func openStore(dir string) (*store, error) {
	for _, d := range []string{"files", "chunks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	s := &store{dir: dir, file: filepath.Join(dir, stateFile),
		st: state{Version: 1, Assets: map[string]*Asset{}, Uploads: map[string]*chunkedUpload{}}}
	raw, err := os.ReadFile(s.file)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &s.st); err != nil {
		return nil, fmt.Errorf("%s: %w", s.file, err)
	}
	if s.st.Version != 1 {
		return nil, fmt.Errorf("%s: unknown version %d", s.file, s.st.Version)
	}
	if s.st.Assets == nil {
		s.st.Assets = map[string]*Asset{}
	}
	if s.st.Uploads == nil {
		s.st.Uploads = map[string]*chunkedUpload{}
	}
	return s, nil
}

// saveLocked writes the state; the caller holds mu.
func (s *store) saveLocked() error {
	raw, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.file)
}

// update runs fn under the lock and saves when it succeeds.
func (s *store) update(fn func(st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := fn(&s.st); err != nil {
		return err
	}
	return s.saveLocked()
}

// view runs fn under the lock; fn must not keep pointers it was given.
func (s *store) view(fn func(st *state)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.st)
}

func assetKey(typ, publicID string) string { return typ + "/" + publicID }

// assetDir holds an asset's original and, per version, its derived files.
func (s *store) assetDir(assetID string) string { return filepath.Join(s.dir, "files", assetID) }

func (s *store) originalPath(a *Asset) string {
	return filepath.Join(s.assetDir(a.AssetID), fmt.Sprintf("v%d", a.Version), "original."+a.Format)
}

// derivedDir holds the HLS files of one eager transformation.
func (s *store) derivedDir(a *Asset, profile string) string {
	return filepath.Join(s.assetDir(a.AssetID), fmt.Sprintf("v%d", a.Version), "sp_"+profile)
}

func (s *store) chunkPath(uploadID string) string { return filepath.Join(s.dir, "chunks", uploadID) }
