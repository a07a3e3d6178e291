// Package hls is the local backend: the files under MEDIA_DIR (uploads,
// and the HLS ladder ffmpeg makes of them) and the transcoder that makes it.
//
//	uploads/<videoId>/source          the file as uploaded
//	hls/<videoId>/master.m3u8         the master playlist
//	hls/<videoId>/<rendition>/...     a variant playlist and its segments
//	hls/<videoId>/poster.jpg
//	work/<videoId>/                   a transcode in progress
//
// A transcode writes into work/ and is renamed into hls/ when it is whole, so
// a half-made ladder is never served, and a resumed job starts afresh.
package hls

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/job"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Store is the directory tree under MEDIA_DIR.
type Store struct {
	dir  string
	hls  *os.Root // hls/, opened once: paths resolved in it cannot leave it
	maxB int64
}

// Open makes the tree under dir. maxUpload bounds one uploaded file.
func Open(dir string, maxUpload int64) (*Store, error) {
	for _, sub := range []string{"uploads", "hls", "work"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(filepath.Join(dir, "hls"))
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, hls: root, maxB: maxUpload}, nil
}

// Close releases the hls/ root.
func (s *Store) Close() error { return s.hls.Close() }

func (s *Store) uploadDir(videoID string) string { return filepath.Join(s.dir, "uploads", videoID) }
func (s *Store) workDir(videoID string) string   { return filepath.Join(s.dir, "work", videoID) }
func (s *Store) hlsDir(videoID string) string    { return filepath.Join(s.dir, "hls", videoID) }

// Source is where an upload's file is kept until its ladder is made.
func (s *Store) Source(videoID string) string { return filepath.Join(s.uploadDir(videoID), "source") }

// Save streams r to videoID's source file, never holding it in memory, and
// fails with job.ErrTooLarge as soon as it passes the upload limit.
func (s *Store) Save(videoID string, r io.Reader) (int64, error) {
	if err := os.MkdirAll(s.uploadDir(videoID), 0o755); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(s.Source(videoID), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, s.maxB+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("save upload: %w", err)
	}
	if n > s.maxB {
		return n, fmt.Errorf("%w (%d bytes)", job.ErrTooLarge, s.maxB)
	}
	return n, nil
}

// MaxUpload is the upload limit in bytes.
func (s *Store) MaxUpload() int64 { return s.maxB }

// Remove deletes everything of videoID: upload, work and ladder.
func (s *Store) Remove(videoID string) error {
	return errors.Join(os.RemoveAll(s.uploadDir(videoID)), os.RemoveAll(s.workDir(videoID)), os.RemoveAll(s.hlsDir(videoID)))
}

// RemoveSource deletes the uploaded file once its ladder exists.
func (s *Store) RemoveSource(videoID string) error { return os.RemoveAll(s.uploadDir(videoID)) }

// Uploads lists the video ids with an upload directory older than age
// (the sweep of uploads whose instance died mid-stream).
func (s *Store) Uploads(age time.Duration) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "uploads"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > age {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Transcoder is the local backend: ffmpeg's one-decode ladder.
type Transcoder struct {
	Store *Store
	Tools ffmpeg.Tools
}

// Transcode makes videoID's ladder from its source and publishes it.
// progress gets the percent done.
func (t Transcoder) Transcode(ctx context.Context, videoID string, progress func(int)) (job.Result, error) {
	s := t.Store
	src := s.Source(videoID)
	info, err := t.Tools.Probe(ctx, src)
	if err != nil {
		return job.Result{}, err
	}
	work := s.workDir(videoID)
	if err := os.RemoveAll(work); err != nil { // a killed attempt's leftovers
		return job.Result{}, err
	}
	if err := t.Tools.Transcode(ctx, src, info, work, job.Ladder(info.Height), progress); err != nil {
		_ = os.RemoveAll(work)
		return job.Result{}, err
	}
	final := s.hlsDir(videoID)
	if err := os.RemoveAll(final); err != nil {
		return job.Result{}, err
	}
	if err := os.Rename(work, final); err != nil {
		return job.Result{}, fmt.Errorf("publish ladder: %w", err)
	}
	return job.Result{
		Playback:  catalogv1.PlaybackHLS,
		URL:       path.Join(videoID, ffmpeg.MasterPlaylist),
		PosterURL: path.Join(videoID, ffmpeg.Poster),
		Length:    int(info.Duration + 0.5),
	}, nil
}

// ErrBadPath: a file name that is not one of a ladder's (traversal, hidden
// files, anything but playlists, segments and the poster).
var ErrBadPath = errors.New("not a file of a video's ladder")

// fileName is one path segment of a ladder's files.
var fileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)?$`)

// ContentTypes are the types of the files a ladder has.
var ContentTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".jpg":  "image/jpeg",
}

// OpenFile opens file (e.g. "720p/seg_00001.ts") of videoID's ladder. Names
// are checked before the file system sees them, and os.Root refuses any
// path (or symlink) that leaves hls/. A missing file is fs.ErrNotExist.
func (s *Store) OpenFile(videoID, file string) (*os.File, fs.FileInfo, error) {
	if uuid.Validate(videoID) != nil {
		return nil, nil, fs.ErrNotExist
	}
	parts := strings.Split(strings.TrimPrefix(file, "/"), "/")
	if len(parts) > 2 || ContentTypes[path.Ext(file)] == "" {
		return nil, nil, ErrBadPath
	}
	for _, p := range parts {
		if !fileName.MatchString(p) {
			return nil, nil, ErrBadPath
		}
	}
	f, err := s.hls.Open(videoID + "/" + strings.Join(parts, "/"))
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, info, nil
}
