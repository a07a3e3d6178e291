package emulator

import (
	"reflect"
	"testing"
)

func TestStringsToSign(t *testing.T) {
	v2, v1 := stringsToSign(map[string][]string{
		"timestamp": {"1700000000"}, "public_id": {"a&b"}, "tags[0]": {"x"}, "tags[1]": {"y"},
		"file": {"ignored"}, "api_key": {"k"}, "resource_type": {"video"}, "signature": {"s"}, "eager": {"sp_hd/m3u8"},
	})
	if v2 != "eager=sp_hd/m3u8&public_id=a%26b&tags=x,y&timestamp=1700000000" ||
		v1 != "eager=sp_hd/m3u8&public_id=a&b&tags=x,y&timestamp=1700000000" {
		t.Errorf("v2 %q\nv1 %q", v2, v1)
	}
}

func TestParseDelivery(t *testing.T) {
	for in, want := range map[string]deliveryRef{
		"/demo/video/authenticated/s--abcdefgh--/sp_hd/v17/tenflix/videos/x.m3u8": {"authenticated", "s--abcdefgh--", "sp_hd", "tenflix/videos/x.m3u8"},
		"/demo/video/upload/v1/a/b/360p/seg_000.ts":                               {"upload", "", "", "a/b/360p/seg_000.ts"},
		"/demo/video/upload/sp_hd/x.m3u8":                                         {"upload", "", "sp_hd", "x.m3u8"},
		"/demo/video/upload/x.mp4":                                                {"upload", "", "", "x.mp4"},
	} {
		if got, ok := parseDelivery(in); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v, want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{"/demo/image/upload/x.jpg", "/demo/video/fetch/x", "/demo/video/upload/v1/../x.mp4", "/demo/video/upload/v1/"} {
		if _, ok := parseDelivery(in); ok {
			t.Errorf("%s parsed", in)
		}
	}
}

func TestLadderNeverUpscales(t *testing.T) {
	for _, tc := range []struct {
		profile string
		w, h    int
		want    []string
	}{
		{"hd", 1920, 1080, []string{"360p", "720p"}},
		{"auto", 1920, 1080, []string{"360p", "720p", "1080p"}},
		{"full_hd", 1280, 720, []string{"360p", "720p"}},
		{"hd", 320, 240, []string{"240p"}},
		{"sd", 640, 360, []string{"360p"}},
	} {
		var got []string
		for _, r := range ladder(tc.profile, tc.w, tc.h) {
			got = append(got, r.Name)
			if r.Width%2 != 0 || r.Height > tc.h {
				t.Errorf("%+v", r)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %dx%d: %v, want %v", tc.profile, tc.w, tc.h, got, tc.want)
		}
	}
}

func TestChunkRanges(t *testing.T) {
	u := &chunkedUpload{Total: 30}
	u.add(10, 19)
	if u.complete() {
		t.Fatal("complete with a hole")
	}
	u.add(0, 9)
	u.add(25, 29)
	u.add(20, 24)
	if !u.complete() || u.received() != 30 || len(u.Ranges) != 1 {
		t.Errorf("%+v", u.Ranges)
	}
}

func TestURLSignatureMatchesSDKShape(t *testing.T) {
	s := urlSignature("sp_hd/tenflix/videos/x.m3u8", "secret", "sha1", false)
	if len(s) != 13 || !validURLSignature(s, "sp_hd/tenflix/videos/x.m3u8", "secret", "sha1") ||
		validURLSignature(s, "sp_hd/tenflix/videos/y.m3u8", "secret", "sha1") {
		t.Errorf("%s", s)
	}
	long := urlSignature("a/b.mp4", "secret", "sha1", true)
	if len(long) != 37 || !validURLSignature(long, "a/b.mp4", "secret", "sha1") {
		t.Errorf("%s", long)
	}
}
