package e2e

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Media's Cloudinary backend through the whole stack, opt-in: the stack
// then runs with TENFLIX_MEDIA_BACKEND=cloudinary (the emulator on
// 127.0.0.1:8091), which the local-backend tests do not expect, so run it
// alone:
//
//	cd tools/e2e && flock /tmp/tenflix-stack.lock env E2E_CLOUDINARY=1 \
//	  TENFLIX_ROOT=$PWD/../.. GOWORK=off go test -count=1 -run TestMediaCloudinary -v .
//
// An upload goes through the gateway to media, up to the emulator; the
// emulator's signed notification comes back through the gateway's public
// route (its X-Cld-* headers forwarded) and makes the video READY with a
// signed delivery URL that plays; a forged notification is refused.
func TestMediaCloudinary(t *testing.T) {
	if os.Getenv("E2E_CLOUDINARY") != "1" {
		t.Skip("E2E_CLOUDINARY=1 runs the stack with media's Cloudinary backend (the emulator)")
	}
	movieID := newMovie(t)
	r := upload(t, stack.adminToken, movieID, testVideo(t, 640, 360, 4), "Cloudinary trailer")
	mustStatus(t, r, http.StatusAccepted)
	var accepted struct{ ID, Status string }
	r.json(t, &accepted)
	start := time.Now()
	seen := waitVideoReady(t, accepted.ID, 3*time.Minute)
	t.Logf("upload to READY through the emulator: %s; statuses seen: %v", time.Since(start).Round(100*time.Millisecond), seen)
	v := commandSideVideo(t, accepted.ID)
	pattern := `^http://127\.0\.0\.1:8091/tenflix-local/video/authenticated/s--[A-Za-z0-9_-]{8}--/sp_auto/v\d+/tenflix/videos/` + accepted.ID + `\.m3u8$`
	if v.Playback != "cloudinary" || !regexp.MustCompile(pattern).MatchString(v.URL) || v.Progress != 100 {
		t.Fatalf("READY video %+v, want playback cloudinary and a URL like %s", v, pattern)
	}
	eventually(t, time.Minute, "READY on the query side", func() bool {
		m, code := queryMovie(t, movieID)
		return code == http.StatusOK && len(m.Videos) == 1 && m.Videos[0].Status == "READY"
	})
	get := func(u string) (int, string) {
		if strings.HasPrefix(u, "/") {
			u = "http://127.0.0.1:8091" + u
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, master := get(v.URL)
	variant := regexp.MustCompile(`(?m)^[^#\s].*$`).FindString(master)
	if code != 200 || !strings.Contains(master, "CODECS=") || variant == "" {
		t.Fatalf("master: %d\n%s", code, master)
	}
	code, playlist := get(variant)
	segment := regexp.MustCompile(`(?m)^[^#\s].*$`).FindString(playlist)
	if code != 200 || segment == "" {
		t.Fatalf("variant %s: %d\n%s", variant, code, playlist)
	}
	if code, body := get(segment); code != 200 || len(body) < 188 || body[0] != 0x47 {
		t.Fatalf("segment %s: %d, %d bytes", segment, code, len(body))
	}
	if _, err := os.Stat(stack.root + "/.data/media/uploads/" + accepted.ID); !os.IsNotExist(err) {
		t.Errorf("the upload was kept after READY: %v", err)
	}

	forged := call(t, http.MethodPost, gateway+"/api/v1/media/notifications/cloudinary",
		`{"notification_type":"eager","public_id":"tenflix/videos/`+accepted.ID+`","version":1,"eager":[]}`,
		"X-Cld-Timestamp", "1700000000", "X-Cld-Signature", strings.Repeat("0", 40))
	if forged.Status != http.StatusUnauthorized || forged.errorCode() != "unauthorized" {
		t.Errorf("a forged notification: %d %s, want 401", forged.Status, forged.Body)
	}
}
