package ffmpeg

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"tenflix/services/media/internal/job"
)

// Layout of a transcoded video's directory.
const (
	MasterPlaylist = "master.m3u8"
	Poster         = "poster.jpg"
	VariantList    = "index.m3u8"       // in each rendition's directory
	segmentPattern = "seg_%05d.ts"      // in each rendition's directory
	SegmentSeconds = 4                  // -hls_time
	keyframeEvery  = SegmentSeconds / 2 // seconds: two GOPs per segment
)

// Transcode makes the HLS ladder rs of src (probed as info) in outDir from
// ONE decode: filter_complex splits the decoded video into one scaler per
// rendition, and every rendition is encoded with keyframes forced at the
// same timestamps (every 2 s, no scene-cut keyframes), so that the 4 s
// segments of all renditions start at the same instants and a player can
// switch between them at any segment boundary. progress gets the percent
// done (0..99) as ffmpeg reports it (-progress pipe:1). The master playlist
// is checked for CODECS and completed when this ffmpeg build left it out;
// the poster is taken last.
func (t Tools) Transcode(ctx context.Context, src string, info Source, outDir string, rs []job.Rendition, progress func(percent int)) error {
	if err := t.Encode(ctx, src, info, outDir, rs, progress); err != nil {
		return err
	}
	if err := t.EnsureCodecs(ctx, outDir); err != nil {
		return err
	}
	return t.poster(ctx, src, info, rs[len(rs)-1].Height, filepath.Join(outDir, Poster))
}

// Encode runs the one-decode ladder alone (no CODECS check, no poster):
// what Transcode spends its time on, and what the benchmark times.
func (t Tools) Encode(ctx context.Context, src string, info Source, outDir string, rs []job.Rendition, progress func(int)) error {
	if len(rs) == 0 {
		return fmt.Errorf("transcode: no renditions")
	}
	for _, r := range rs {
		if err := os.MkdirAll(filepath.Join(outDir, r.Name), 0o755); err != nil {
			return err
		}
	}
	return t.run(ctx, LadderArgs(src, info, outDir, rs), info.Duration, progress)
}

// LadderArgs are ffmpeg's arguments for the one-decode ladder.
func LadderArgs(src string, info Source, outDir string, rs []job.Rendition) []string {
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-y", "-i", src,
		"-progress", "pipe:1", "-nostats"}
	var filter strings.Builder
	fmt.Fprintf(&filter, "[0:v]split=%d", len(rs))
	for i := range rs {
		fmt.Fprintf(&filter, "[s%d]", i)
	}
	for i, r := range rs {
		fmt.Fprintf(&filter, ";[s%d]scale=-2:%d[v%d]", i, r.Height, i)
	}
	args = append(args, "-filter_complex", filter.String())
	var streamMap []string
	for i, r := range rs {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
		args = append(args, videoOptions(i, r)...)
		entry := fmt.Sprintf("v:%d", i)
		if info.HasAudio {
			entry += fmt.Sprintf(",a:%d", i)
		}
		streamMap = append(streamMap, entry+",name:"+r.Name)
	}
	if info.HasAudio {
		for i, r := range rs {
			args = append(args, "-map", "0:a:0",
				fmt.Sprintf("-c:a:%d", i), "aac", fmt.Sprintf("-b:a:%d", i), strconv.Itoa(r.AudioBitrate),
				fmt.Sprintf("-ac:a:%d", i), "2")
		}
	}
	args = append(args, keyframeOptions(info)...)
	return append(args, hlsOptions(outDir, strings.Join(streamMap, " "))...)
}

// videoOptions encode output video stream i as rendition r (constrained
// bitrate, so that BANDWIDTH in the master playlist means something).
func videoOptions(i int, r job.Rendition) []string {
	s := func(opt string) string { return fmt.Sprintf("-%s:v:%d", opt, i) }
	return []string{
		s("c"), "libx264", s("preset"), "veryfast", s("profile"), "high",
		s("b"), strconv.Itoa(r.VideoBitrate),
		s("maxrate"), strconv.Itoa(r.VideoBitrate * 107 / 100),
		s("bufsize"), strconv.Itoa(r.VideoBitrate * 3 / 2),
	}
}

// keyframeOptions align keyframes across renditions: a fixed GOP (-g,
// -keyint_min), no scene-cut keyframes (-sc_threshold 0) and keyframes forced
// at the same timestamps in every stream.
func keyframeOptions(info Source) []string {
	gop := strconv.Itoa(int(math.Round(info.FrameRate * keyframeEvery)))
	return []string{"-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-force_key_frames", fmt.Sprintf("expr:gte(t,n_forced*%d)", keyframeEvery)}
}

func hlsOptions(outDir, streamMap string) []string {
	return []string{"-f", "hls", "-hls_time", strconv.Itoa(SegmentSeconds),
		"-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
		"-hls_segment_type", "mpegts",
		"-hls_segment_filename", filepath.Join(outDir, "%v", segmentPattern),
		"-master_pl_name", MasterPlaylist,
		"-var_stream_map", streamMap,
		filepath.Join(outDir, "%v", VariantList)}
}

// run runs ffmpeg with args, feeding the progress lines it writes on stdout
// to progress, and fails when ffmpeg fails or stops well short of the
// source's duration (a truncated or corrupt source that ffmpeg conceals).
func (t Tools) run(ctx context.Context, args []string, duration float64, progress func(int)) error {
	cmd := exec.CommandContext(ctx, t.ffmpeg(), args...)
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	reached := readProgress(stdout, duration, progress)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ffmpeg failed: %s", firstLine(stderr.String()))
	}
	if duration > 2 && reached < 0.9*duration {
		return fmt.Errorf("the source ends at %.1f s of its %.1f s: truncated or corrupt", reached, duration)
	}
	return nil
}

// readProgress parses ffmpeg's -progress key=value lines and returns the
// last output time reached, in seconds.
func readProgress(r io.Reader, duration float64, progress func(int)) float64 {
	var reached float64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || k != "out_time_us" {
			continue
		}
		us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || us < 0 {
			continue // "N/A" before the first frame
		}
		reached = float64(us) / 1e6
		if progress != nil && duration > 0 {
			progress(min(99, int(reached/duration*100)))
		}
	}
	_, _ = io.Copy(io.Discard, r)
	return reached
}

// poster takes one frame a second in (or halfway through a shorter video),
// no taller than the best rendition.
func (t Tools) poster(ctx context.Context, src string, info Source, height int, out string) error {
	at := 1.0
	if info.Duration > 0 && info.Duration < 2 {
		at = info.Duration / 2
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, t.ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-ss", strconv.FormatFloat(at, 'f', 2, 64), "-i", src, "-frames:v", "1",
		"-vf", fmt.Sprintf("scale=-2:%d", height), "-q:v", "3", out)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("poster: %s", firstLine(stderr.String()))
	}
	return nil
}

// tailBuffer keeps the first max bytes written (ffmpeg's first complaint is
// the useful one).
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return b.buf.String() }
