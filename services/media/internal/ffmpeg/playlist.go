package ffmpeg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnsureCodecs makes every variant of dir's master playlist carry CODECS:
// players need it to choose variants they can play, and some ffmpeg builds
// silently leave it out. A variant without it gets the codecs ffprobe finds
// in its first segment.
func (t Tools) EnsureCodecs(ctx context.Context, dir string) error {
	path := filepath.Join(dir, MasterPlaylist)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, changed, err := AddCodecs(string(b), func(variant string) (string, error) {
		return t.codecsOf(ctx, filepath.Join(dir, filepath.FromSlash(variant)))
	})
	if err != nil || !changed {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// AddCodecs adds CODECS="..." to every #EXT-X-STREAM-INF of a master
// playlist that lacks it, asking codecs for the variant playlist named on
// the line after it.
func AddCodecs(master string, codecs func(variant string) (string, error)) (string, bool, error) {
	lines := strings.Split(master, "\n")
	changed := false
	for i, line := range lines {
		if !strings.HasPrefix(line, "#EXT-X-STREAM-INF:") || strings.Contains(line, "CODECS=") {
			continue
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) == "" {
			return "", false, fmt.Errorf("master playlist: a variant without its URI")
		}
		c, err := codecs(strings.TrimSpace(lines[i+1]))
		if err != nil {
			return "", false, err
		}
		lines[i] = strings.TrimRight(line, "\r") + `,CODECS="` + c + `"`
		changed = true
	}
	return strings.Join(lines, "\n"), changed, nil
}

// codecsOf reads the codecs of a variant from its first segment.
func (t Tools) codecsOf(ctx context.Context, variantPlaylist string) (string, error) {
	b, err := os.ReadFile(variantPlaylist)
	if err != nil {
		return "", err
	}
	var first string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			first = l
			break
		}
	}
	if first == "" {
		return "", fmt.Errorf("%s: no segment", variantPlaylist)
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, t.ffprobe(), "-v", "error", "-print_format", "json", "-show_streams",
		"--", filepath.Join(filepath.Dir(variantPlaylist), filepath.FromSlash(first)))
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("probe segment %s: %w", first, err)
	}
	var out struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Profile   string `json:"profile"`
			Level     int    `json:"level"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return "", err
	}
	var cs []string
	for _, s := range out.Streams {
		switch {
		case s.CodecType == "video" && s.CodecName == "h264":
			cs = append(cs, AVC1(s.Profile, s.Level))
		case s.CodecType == "audio" && s.CodecName == "aac":
			cs = append(cs, "mp4a.40.2") // AAC-LC, what the ladder encodes
		}
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("segment %s: no H.264 or AAC stream", first)
	}
	return strings.Join(cs, ","), nil
}

// AVC1 is the RFC 6381 codec string of an H.264 stream: avc1.PPCCLL, the
// profile_idc, constraint flags and level_idc in hex.
func AVC1(profile string, level int) string {
	pc := "6400" // High
	switch strings.ToLower(profile) {
	case "constrained baseline":
		pc = "42e0"
	case "baseline":
		pc = "4200"
	case "main":
		pc = "4d40"
	}
	return fmt.Sprintf("avc1.%s%02x", pc, level)
}
