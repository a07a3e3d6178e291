package catalog

import "strings"

// Video statuses and playback kinds: the values of catalogv1.Video* and
// catalogv1.Playback*, which the events carry.
const (
	StatusUploaded    = "UPLOADED"
	StatusTranscoding = "TRANSCODING"
	StatusReady       = "READY"
	StatusFailed      = "FAILED"

	PlaybackURL        = "url"        // URL is the address an admin gave
	PlaybackHLS        = "hls"        // URL is "<videoId>/master.m3u8" in media's store
	PlaybackCloudinary = "cloudinary" // URL is Cloudinary's delivery URL
)

// NormalizeVideo brings a video from an event (or movie-command's snapshot)
// to today's vocabulary: statuses are upper case (videos stored before
// issue 9 say "ready"), and a video without a playback kind but with a URL
// was added by URL, the only kind there was then.
func NormalizeVideo(v *Video) {
	switch s := strings.ToUpper(v.Status); s {
	case StatusUploaded, StatusTranscoding, StatusReady, StatusFailed:
		v.Status = s
	}
	if v.Playback == "" && v.URL != "" {
		v.Playback = PlaybackURL
	}
}
