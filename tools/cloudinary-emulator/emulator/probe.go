package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

type probeInfo struct {
	format        string
	width, height int
	duration      float64
	audio         bool
}

// probe reads the upload with ffprobe; anything without a decodable video
// stream is refused as Cloudinary refuses it.
func (s *Server) probe(path string) (probeInfo, error) {
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.cfg.FFprobe, "-v", "error",
		"-show_entries", "stream=codec_type,width,height:format=format_name,duration",
		"-of", "json", path).Output()
	unsupported := errorf(http.StatusBadRequest, "Unsupported video format or file")
	if err != nil {
		return probeInfo{}, unsupported
	}
	var p struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
		} `json:"streams"`
		Format struct {
			FormatName string `json:"format_name"`
			Duration   string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return probeInfo{}, unsupported
	}
	var info probeInfo
	for _, st := range p.Streams {
		switch {
		case st.CodecType == "video" && info.width == 0 && st.Width > 0 && st.Height > 0:
			info.width, info.height = st.Width, st.Height
		case st.CodecType == "audio":
			info.audio = true
		}
	}
	if info.width == 0 {
		return probeInfo{}, unsupported
	}
	info.duration, _ = strconv.ParseFloat(p.Format.Duration, 64)
	info.format = containerFormat(p.Format.FormatName)
	return info, nil
}

// containerFormat names ffprobe's demuxer as Cloudinary names formats.
func containerFormat(name string) string {
	switch {
	case strings.HasPrefix(name, "mov,mp4"):
		return "mp4"
	case strings.HasPrefix(name, "matroska"):
		return "webm"
	case name == "mpegts":
		return "ts"
	}
	if i := strings.IndexByte(name, ','); i > 0 {
		name = name[:i]
	}
	return name
}
