package ffmpeg_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/ffmpeg/ffmpegtest"
	"tenflix/services/media/internal/job"
)

var tools ffmpeg.Tools

func TestLadderFromOneDecode(t *testing.T) {
	dir := t.TempDir()
	src := ffmpegtest.Video(t, dir, 1280, 720, 5, true)
	info, err := tools.Probe(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if info.Height != 720 || !info.HasAudio || info.Duration < 4.5 {
		t.Fatalf("probe = %+v", info)
	}
	out := filepath.Join(dir, "out")
	var seen []int
	rs := job.Ladder(info.Height)
	if err := tools.Transcode(t.Context(), src, info, out, rs, func(p int) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	master, err := os.ReadFile(filepath.Join(out, ffmpeg.MasterPlaylist))
	if err != nil {
		t.Fatal(err)
	}
	variants := regexp.MustCompile(`(?m)^#EXT-X-STREAM-INF:(.*)$`).FindAllStringSubmatch(string(master), -1)
	if len(variants) != 2 {
		t.Fatalf("master playlist has %d variants, want 2 (360p, 720p):\n%s", len(variants), master)
	}
	for _, v := range variants {
		for _, attr := range []string{"BANDWIDTH=", "RESOLUTION=", `CODECS="avc1.`, "mp4a.40.2"} {
			if !strings.Contains(v[1], attr) {
				t.Errorf("variant %q lacks %s", v[1], attr)
			}
		}
	}
	if len(seen) == 0 {
		t.Error("no progress reported")
	}
	if _, err := os.Stat(filepath.Join(out, ffmpeg.Poster)); err != nil {
		t.Error("no poster:", err)
	}
	// Keyframes at the same instants in every rendition, so segments align.
	var first string
	for _, r := range rs {
		pl, err := os.ReadFile(filepath.Join(out, r.Name, ffmpeg.VariantList))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(pl), "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
			t.Errorf("%s: not a finished VOD playlist:\n%s", r.Name, pl)
		}
		durations := strings.Join(regexp.MustCompile(`#EXTINF:[0-9.]+`).FindAllString(string(pl), -1), " ")
		if first == "" {
			first = durations
		} else if durations != first {
			t.Errorf("segment durations differ between renditions: %s vs %s", durations, first)
		}
		if kf, want := keyframes(t, filepath.Join(out, r.Name)), keyframes(t, filepath.Join(out, rs[0].Name)); kf != want || kf == "" {
			t.Errorf("%s keyframes %q differ from %s's %q", r.Name, kf, rs[0].Name, want)
		}
	}
}

// keyframes lists the keyframe timestamps of a rendition's first segment.
func keyframes(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
		"-show_entries", "frame=pts_time", "-of", "csv=p=0", filepath.Join(dir, "seg_00000.ts")).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

func TestProbeRefusesWhatIsNotAVideo(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(text, []byte("this is a text file, renamed .mp4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	video := ffmpegtest.Video(t, dir, 320, 240, 2, false)
	for _, c := range []struct {
		name, path string
		want       error
	}{
		{"text renamed .mp4", text, ffmpeg.ErrNotMedia},
		{"empty file", empty, ffmpeg.ErrNotMedia},
		{"audio only", ffmpegtest.Audio(t, dir, 1), ffmpeg.ErrNoVideo},
		{"frames overwritten", ffmpegtest.Corrupt(t, video, 2048), ffmpeg.ErrNoVideo},
	} {
		if _, err := tools.Probe(t.Context(), c.path); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestAddCodecsCompletesAMasterPlaylistWithout(t *testing.T) {
	in := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\n360p/index.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS=\"avc1.64001f\"\n720p/index.m3u8\n"
	out, changed, err := ffmpeg.AddCodecs(in, func(v string) (string, error) {
		if v != "360p/index.m3u8" {
			t.Errorf("asked for %s, which has CODECS", v)
		}
		return "avc1.64001e,mp4a.40.2", nil
	})
	if err != nil || !changed || !strings.Contains(out, `RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"`+"\n360p/index.m3u8") {
		t.Fatalf("AddCodecs = %q, %v, %v", out, changed, err)
	}
	if got := ffmpeg.AVC1("High", 31); got != "avc1.64001f" {
		t.Errorf("AVC1(High, 31) = %s", got)
	}
}

func TestTranscodeFailsOnATruncatedSource(t *testing.T) {
	dir := t.TempDir()
	src := ffmpegtest.Video(t, dir, 640, 360, 6, false)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(cut, b[:len(b)/3], 0o644); err != nil { // moov first (faststart): it probes
		t.Fatal(err)
	}
	info, err := tools.Probe(t.Context(), cut)
	if err != nil {
		t.Skipf("the truncated file does not even probe (%v): nothing to test", err)
	}
	err = tools.Transcode(context.Background(), cut, info, filepath.Join(dir, "out"), job.Ladder(info.Height), nil)
	if err == nil {
		t.Fatal("a truncated source transcoded without error")
	}
	t.Log("reason:", err)
}
