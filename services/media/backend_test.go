package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"tenflix/services/media/internal/ffmpeg"
	"testing"

	"tenflix/platform/sidecar"
	"tenflix/services/media/internal/cloudinary"
	"tenflix/services/media/internal/hls"
)

type secretsOf map[string]any // a value or an error

func (m secretsOf) Secret(_ context.Context, _, name string) (string, error) {
	switch v := m[name].(type) {
	case string:
		return v, nil
	case error:
		return "", v
	}
	return "", fmt.Errorf("secret %s: %w", name, sidecar.ErrNotFound)
}

func TestBackendChoice(t *testing.T) {
	files, err := hls.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	log := slog.New(slog.DiscardHandler)
	s := settings{SecretStore: "secretstore", CloudinarySecret: "cloudinary-url", CloudinaryProfile: "auto"}
	for name, sec := range map[string]secretsOf{"absent": {}, "empty": {"cloudinary-url": " "}} {
		tr, cld, err := backend(context.Background(), s, sec, files, ffmpegTools, log)
		if _, local := tr.(hls.Transcoder); err != nil || cld != nil || !local {
			t.Errorf("%s: %T %v %v, want the local backend", name, tr, cld, err)
		}
	}
	url := "cloudinary://k:s@demo?upload_prefix=http://127.0.0.1:8091"
	if _, _, err := backend(context.Background(), s, secretsOf{"cloudinary-url": url}, files, ffmpegTools, log); err == nil {
		t.Error("Cloudinary without a notification URL was accepted")
	}
	if _, _, err := backend(context.Background(), s, secretsOf{"cloudinary-url": errors.New("access denied by policy")}, files, ffmpegTools, log); err == nil {
		t.Error("a secret store error fell back to the local backend")
	}
	s.CloudinaryNotificationURL = "http://127.0.0.1:8080/api/v1/media/notifications/cloudinary"
	tr, cld, err := backend(context.Background(), s, secretsOf{"cloudinary-url": url}, files, ffmpegTools, log)
	if _, ok := tr.(cloudinary.Transcoder); err != nil || cld == nil || !ok {
		t.Fatalf("got %T %v %v, want Cloudinary", tr, cld, err)
	}
}

var ffmpegTools = ffmpeg.Tools{}
