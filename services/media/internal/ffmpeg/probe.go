// Package ffmpeg runs ffprobe and ffmpeg: it tells a decodable video from
// anything else, and makes the HLS ladder from one decode.
package ffmpeg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"tenflix/services/media/internal/job"
)

// Errors of Probe, by what the file is.
var (
	// ErrNotMedia: ffprobe recognises no container or stream at all (a text
	// file renamed .mp4, say).
	ErrNotMedia = job.ErrNotMedia
	// ErrNoVideo: a media file with no video stream that decodes (audio
	// only, an image-less container, a corrupt video stream).
	ErrNoVideo = job.ErrNoVideo
)

// Tools are the binaries to run; empty fields are looked up on PATH.
type Tools struct {
	FFmpeg  string
	FFprobe string
}

func (t Tools) ffmpeg() string  { return cmpOr(t.FFmpeg, "ffmpeg") }
func (t Tools) ffprobe() string { return cmpOr(t.FFprobe, "ffprobe") }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Source is what Probe learned of a file.
type Source struct {
	Duration  float64 // seconds; 0 when unknown
	Width     int
	Height    int
	FrameRate float64 // frames per second (30 when the file does not say)
	HasAudio  bool
	Codec     string // of the video stream
}

type probeOutput struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		Duration     string `json:"duration"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// Probe reads path's streams with ffprobe (JSON output) and then decodes its
// first video frame: a file is accepted only when that frame decodes.
func (t Tools) Probe(ctx context.Context, path string) (Source, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, t.ffprobe(), "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", "--", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Source{}, ctx.Err()
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return Source{}, fmt.Errorf("%w: %s", ErrNotMedia, firstLine(stderr.String()))
		}
		return Source{}, fmt.Errorf("run ffprobe: %w", err)
	}
	var out probeOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Source{}, fmt.Errorf("ffprobe output: %w", err)
	}
	if len(out.Streams) == 0 {
		return Source{}, fmt.Errorf("%w: no streams", ErrNotMedia)
	}
	var src Source
	found := false
	for _, s := range out.Streams {
		switch {
		case s.CodecType == "audio":
			src.HasAudio = true
		case s.CodecType == "video" && s.Disposition.AttachedPic == 0 && !found && s.Width > 0 && s.Height > 0:
			found = true
			src.Width, src.Height, src.Codec = s.Width, s.Height, s.CodecName
			src.FrameRate = frameRate(s.AvgFrameRate)
			if src.FrameRate == 0 {
				src.FrameRate = frameRate(s.RFrameRate)
			}
			src.Duration, _ = strconv.ParseFloat(s.Duration, 64)
		}
	}
	if !found {
		// Pipes and raw text can "probe" as a format without a stream size;
		// a container with no video is a media file all the same.
		if out.Format.FormatName == "tty" {
			return Source{}, fmt.Errorf("%w: text", ErrNotMedia)
		}
		return Source{}, fmt.Errorf("%w: the file has no video stream", ErrNoVideo)
	}
	if d, err := strconv.ParseFloat(out.Format.Duration, 64); err == nil && d > src.Duration {
		src.Duration = d
	}
	if src.FrameRate <= 0 || src.FrameRate > 240 {
		src.FrameRate = 30
	}
	if err := t.decodeFirstFrame(ctx, path); err != nil {
		return Source{}, err
	}
	return src, nil
}

// decodeFirstFrame proves the video stream decodes: headers can be intact
// in a file whose frames are garbage.
func (t Tools) decodeFirstFrame(ctx context.Context, path string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, t.ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-xerror",
		"-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s", ErrNoVideo, firstLine(stderr.String()))
	}
	return nil
}

func frameRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	if !ok {
		return n
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d == 0 {
		return 0
	}
	return n / d
}

// firstLine is the first line of ffmpeg's complaint, without the input's
// path (which names a server directory), bounded for a reason field.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s[:i], "/") {
		s = s[i+2:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		s = "ffmpeg gave no reason"
	}
	return s
}
