package app

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// appliedState is memState whose commits take effect, so that a sequence
// of reports can be read back.
type appliedState struct{ memState }

func (s *appliedState) Commit(ctx context.Context, writes ...statetx.Write) error {
	for _, w := range writes {
		if _, exists := s.docs[w.Key]; exists && w.Create {
			return statetx.ErrConflict
		}
		s.docs[w.Key] = proto.Clone(w.Doc)
	}
	return s.memState.Commit(ctx, writes...)
}

const (
	movieID = "11111111-1111-4111-8111-111111111111"
	videoID = "22222222-2222-4222-8222-222222222222"
)

func report(status string, progress int64) catalog.VideoStatusInput {
	in := catalog.VideoStatusInput{MovieID: movieID, VideoID: videoID, Title: "Trailer", Status: status, Progress: progress}
	switch status {
	case catalog.VideoReady:
		in.Playback, in.URL, in.PosterURL = "hls", videoID+"/master.m3u8", videoID+"/poster.jpg"
	case catalog.VideoFailed:
		in.FailureReason = "ffmpeg failed"
	}
	return in
}

func TestVideoStatusReportsGoForwardOnly(t *testing.T) {
	ctx := context.Background()
	s := &appliedState{memState{docs: map[string]proto.Message{
		"movie:" + movieID: &catalogv1.Movie{Id: movieID, Name: "M", Version: 1},
	}}}
	a := New(s, nil)
	events := func() (out []string) {
		for _, c := range s.commits {
			for _, w := range c {
				out = append(out, w.EventType)
			}
		}
		return out
	}

	steps := []struct {
		in      catalog.VideoStatusInput
		wantErr error
	}{
		{report(catalog.VideoUploaded, 0), nil},
		{report(catalog.VideoUploaded, 0), nil}, // idempotent: no event
		{report(catalog.VideoTranscoding, 40), nil},
		{report(catalog.VideoUploaded, 0), catalog.ErrStatusOrder}, // late
		{report(catalog.VideoFailed, 40), nil},
		{report(catalog.VideoUploaded, 0), nil}, // an admin's retry
		{report(catalog.VideoTranscoding, 10), nil},
		{report(catalog.VideoReady, 0), nil},
		{report(catalog.VideoReady, 0), nil},
		{report(catalog.VideoTranscoding, 90), catalog.ErrStatusOrder},
		{report(catalog.VideoFailed, 0), catalog.ErrStatusOrder},
	}
	for i, st := range steps {
		_, err := a.PutVideoStatus(ctx, st.in)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("step %d (%s): err = %v, want %v", i, st.in.Status, err, st.wantErr)
		}
	}
	v, err := a.GetVideo(ctx, videoID)
	if err != nil || v.Status != catalogv1.VideoReady || v.Progress != 100 || v.Playback != "hls" ||
		v.URL != videoID+"/master.m3u8" || v.PosterURL != videoID+"/poster.jpg" || v.FailureReason != "" {
		t.Fatalf("video %+v, %v", v, err)
	}
	got := events()
	want := []string{"created", "updated", "updated", "updated", "updated", "updated"}
	if len(got) != len(want) || got[0] != catalogv1.EventType("video", "created") || got[1] != catalogv1.EventType("video", "updated") {
		t.Fatalf("events %v, want %d (%v)", got, len(want), want)
	}
}

func TestVideoStatusNeedsALiveMovieAndAnUploadedVideo(t *testing.T) {
	ctx := context.Background()
	s := &appliedState{memState{docs: map[string]proto.Message{
		"movie:gone":       &catalogv1.Movie{Id: "gone", Deleted: true, Version: 2},
		"movie:" + movieID: &catalogv1.Movie{Id: movieID, Version: 1},
		"video:" + videoID: &catalogv1.Video{Id: videoID, MovieId: movieID, Status: catalogv1.VideoReady, Playback: "url", Url: "https://x/y.mp4", Version: 1},
		"video:dead":       &catalogv1.Video{Id: "dead", MovieId: movieID, Status: "UPLOADED", Deleted: true, Version: 2},
	}}}
	a := New(s, nil)
	in := report(catalog.VideoUploaded, 0)
	in.MovieID, in.VideoID = "gone", "33333333-3333-4333-8333-333333333333"
	if _, err := a.PutVideoStatus(ctx, in); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a deleted movie: err = %v, want not found", err)
	}
	in = report(catalog.VideoTranscoding, 0)
	if _, err := a.PutVideoStatus(ctx, in); !errors.Is(err, ErrNotUploaded) {
		t.Errorf("a video added by URL: err = %v, want ErrNotUploaded", err)
	}
	in.VideoID = "dead"
	if _, err := a.PutVideoStatus(ctx, in); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a deleted video: err = %v, want not found (never revived)", err)
	}
	for _, bad := range []catalog.VideoStatusInput{
		{MovieID: movieID, VideoID: videoID, Title: "t", Status: "ready"},
		{MovieID: movieID, VideoID: videoID, Title: "t", Status: "FAILED"},
		{MovieID: movieID, VideoID: videoID, Title: "t", Status: "READY", Playback: "hls"},
		{MovieID: movieID, VideoID: videoID, Title: "t", Status: "READY", Playback: "hls", URL: "../x/master.m3u8"},
		{MovieID: movieID, VideoID: videoID, Title: "t", Status: "UPLOADED", Progress: 101},
	} {
		var ve *catalog.ValidationError
		if _, err := a.PutVideoStatus(ctx, bad); !errors.As(err, &ve) {
			t.Errorf("%+v: err = %v, want a validation error", bad, err)
		}
	}
	if len(s.commits) != 0 {
		t.Fatalf("refused reports committed: %v", s.commits)
	}
}
