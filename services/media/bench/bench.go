// Package bench measures media's ladder for the project's benchmarks
// (BenchmarkLadder here; tools/e2e's bench may call Ladder): transcode
// speed as a multiple of real time, the one-decode ladder against encoding
// each rendition in its own ffmpeg run (one decode per rendition), on the
// same source in the same run.
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/job"
)

// Result is one measurement.
type Result struct {
	SourceSeconds float64
	Height        int
	Renditions    []string
	OneDecode     time.Duration // the whole ladder from one decode
	Separate      time.Duration // each rendition encoded on its own, one after another
}

// OneDecodeSpeed and SeparateSpeed are the speeds as multiples of real time
// (source seconds per wall-clock second).
func (r Result) OneDecodeSpeed() float64 { return r.SourceSeconds / r.OneDecode.Seconds() }
func (r Result) SeparateSpeed() float64  { return r.SourceSeconds / r.Separate.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%gs %dp source, ladder %v: one decode %.2fx real time (%s), each rendition separately %.2fx (%s)",
		r.SourceSeconds, r.Height, r.Renditions, r.OneDecodeSpeed(), r.OneDecode.Round(time.Millisecond),
		r.SeparateSpeed(), r.Separate.Round(time.Millisecond))
}

// Ladder makes a seconds-long testsrc source of height (16:9, 30 fps, with
// a tone) in dir and times both ways of making its ladder.
func Ladder(ctx context.Context, dir string, seconds float64, height int) (Result, error) {
	width := (height*16/9 + 1) &^ 1
	src := filepath.Join(dir, "source.mp4")
	gen := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30:duration=%g", width, height, seconds),
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+strconv.FormatFloat(seconds, 'g', -1, 64),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", src)
	if out, err := gen.CombinedOutput(); err != nil {
		return Result{}, fmt.Errorf("make source: %v: %s", err, out)
	}
	var tools ffmpeg.Tools
	info, err := tools.Probe(ctx, src)
	if err != nil {
		return Result{}, err
	}
	rs := job.Ladder(info.Height)
	res := Result{SourceSeconds: info.Duration, Height: info.Height}
	for _, r := range rs {
		res.Renditions = append(res.Renditions, r.Name)
	}
	start := time.Now()
	if err := tools.Encode(ctx, src, info, filepath.Join(dir, "one"), rs, nil); err != nil {
		return Result{}, err
	}
	res.OneDecode = time.Since(start)
	start = time.Now()
	for _, r := range rs {
		if err := tools.Encode(ctx, src, info, filepath.Join(dir, "separate-"+r.Name), []job.Rendition{r}, nil); err != nil {
			return Result{}, err
		}
	}
	res.Separate = time.Since(start)
	return res, os.RemoveAll(filepath.Join(dir, "one"))
}
