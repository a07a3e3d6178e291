// Package ffmpegtest makes small sources with ffmpeg's test generators.
package ffmpegtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Video writes a seconds-long testsrc video of width x height (H.264, with
// a sine tone when audio) into dir and returns its path.
func Video(t testing.TB, dir string, width, height int, seconds float64, audio bool) string {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("testsrc-%dx%d-%g.mp4", width, height, seconds))
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=24:duration=%g", width, height, seconds)}
	if audio {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%g", seconds), "-c:a", "aac", "-shortest")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out)
	Run(t, args...)
	return out
}

// Audio writes a seconds-long sine tone (an .m4a without video).
func Audio(t testing.TB, dir string, seconds float64) string {
	t.Helper()
	out := filepath.Join(dir, "tone.m4a")
	Run(t, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
		"-i", fmt.Sprintf("sine=frequency=440:duration=%g", seconds), "-c:a", "aac", out)
	return out
}

// Corrupt copies src (a faststart MP4) keeping its first keep bytes, and
// at least everything before its mdat box, and overwrites the rest with a
// pattern: headers intact, frames garbage.
func Corrupt(t testing.TB, src string, keep int) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(b, []byte("mdat")); i+4 > keep {
		keep = i + 4
	}
	for i := keep; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	out := src + ".corrupt.mp4"
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// Run runs ffmpeg, failing the test on error.
func Run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}
