package catalog_test

import (
	"math"
	"testing"

	catalogv1 "tenflix/proto/catalog/v1"
	"tenflix/services/movie-query/internal/catalog"
)

func TestVocabularyIsTheEvents(t *testing.T) {
	for got, want := range map[string]string{
		catalog.StatusUploaded: catalogv1.VideoUploaded, catalog.StatusTranscoding: catalogv1.VideoTranscoding,
		catalog.StatusReady: catalogv1.VideoReady, catalog.StatusFailed: catalogv1.VideoFailed,
		catalog.PlaybackURL: catalogv1.PlaybackURL, catalog.PlaybackHLS: catalogv1.PlaybackHLS,
		catalog.PlaybackCloudinary: catalogv1.PlaybackCloudinary,
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func TestNormalizeVideo(t *testing.T) {
	tests := []struct{ in, want catalog.Video }{
		{catalog.Video{Status: "ready", URL: "https://x"}, catalog.Video{Status: "READY", URL: "https://x", Playback: "url"}},
		{catalog.Video{Status: "READY", URL: "v/master.m3u8", Playback: "hls"}, catalog.Video{Status: "READY", URL: "v/master.m3u8", Playback: "hls"}},
		{catalog.Video{Status: "transcoding", Playback: "hls"}, catalog.Video{Status: "TRANSCODING", Playback: "hls"}},
		{catalog.Video{Status: "weird"}, catalog.Video{Status: "weird"}}, // not READY: never played
	}
	for _, tt := range tests {
		got := tt.in
		catalog.NormalizeVideo(&got)
		if got != tt.want {
			t.Errorf("NormalizeVideo(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestValidatePosition(t *testing.T) {
	tests := []struct {
		pos    float64
		length int32
		ok     bool
	}{
		{0, 100, true}, {100, 100, true}, {101, 100, true}, {101.5, 100, false}, {-0.001, 100, false},
		{math.NaN(), 100, false}, {math.Inf(1), 0, false}, {86_400, 0, true}, {86_401, 0, false},
	}
	for _, tt := range tests {
		if err := catalog.ValidatePosition(tt.pos, tt.length); (err == nil) != tt.ok {
			t.Errorf("ValidatePosition(%v, %d) = %v, want ok %v", tt.pos, tt.length, err, tt.ok)
		}
	}
	if catalog.Finished(90, 100) || !catalog.Finished(90.5, 100) || catalog.Finished(1e6, 0) {
		t.Error("Finished: want strictly past 90 % of a known length")
	}
}
