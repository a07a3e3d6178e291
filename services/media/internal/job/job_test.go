package job

import (
	"errors"
	"strings"
	"testing"
)

func TestLadderNeverUpscales(t *testing.T) {
	for _, c := range []struct {
		height int
		want   string
	}{
		{2160, "360p 720p 1080p"},
		{1080, "360p 720p 1080p"},
		{1079, "360p 720p"},
		{720, "360p 720p"},
		{900, "360p 720p"},
		{480, "360p 480p"},
		{481, "360p 480p"},
		{360, "360p"},
		{240, "240p"},
	} {
		var names []string
		for _, r := range Ladder(c.height) {
			names = append(names, r.Name)
			if r.Height > c.height {
				t.Errorf("%dp source: rendition %s upscales", c.height, r.Name)
			}
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("Ladder(%d) = %s, want %s", c.height, got, c.want)
		}
	}
}

func TestValidateMeta(t *testing.T) {
	if m, err := ValidateMeta(Meta{Title: "  Trailer ", Synopsis: " s "}); err != nil || m.Title != "Trailer" || m.Synopsis != "s" {
		t.Fatalf("ValidateMeta = %+v, %v", m, err)
	}
	for _, bad := range []Meta{{}, {Title: "a\x00b"}, {Title: strings.Repeat("x", 201)}, {Title: "t", Synopsis: "\xff"}, {Title: "t", Synopsis: "a\x00"}} {
		var v *ValidationError
		if _, err := ValidateMeta(bad); !errors.As(err, &v) {
			t.Errorf("ValidateMeta(%q) = %v, want a ValidationError", bad, err)
		}
	}
}
