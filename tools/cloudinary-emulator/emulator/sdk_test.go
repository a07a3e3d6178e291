package emulator

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudinary/cloudinary-go/v2"
	"github.com/cloudinary/cloudinary-go/v2/api"
	"github.com/cloudinary/cloudinary-go/v2/api/uploader"
)

// eagerNotification is the part of the notification the tests read.
type eagerNotification struct {
	NotificationType string `json:"notification_type"`
	PublicID         string `json:"public_id"`
	Version          int64  `json:"version"`
	BatchID          string `json:"batch_id"`
	Eager            []struct {
		Transformation, Status, Reason, URL string
		Width, Height                       int
	} `json:"eager"`
}

func uploadVideo(t *testing.T, cld *cloudinary.Cloudinary, path, publicID, eager, notify string) *uploader.UploadResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := uploader.UploadParams{PublicID: publicID, ResourceType: "video", Type: api.Authenticated, Overwrite: api.Bool(true)}
	if eager != "" {
		p.Eager, p.EagerAsync, p.EagerNotificationURL = eager, api.Bool(true), notify
	}
	res, err := cld.Upload.Upload(context.Background(), f, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// playbackURL is the SDK's signed delivery URL of the HLS master.
func playbackURL(t *testing.T, cld *cloudinary.Cloudinary, publicID, profile string, version int) string {
	t.Helper()
	v, err := cld.Video(publicID + ".m3u8")
	if err != nil {
		t.Fatal(err)
	}
	v.DeliveryType = api.Authenticated
	v.Transformation = "sp_" + profile
	v.Version = version
	v.Config.URL.SignURL = true
	u, err := v.String()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUploadEagerNotificationAndPlayback(t *testing.T) {
	h := newHarness(t, "", "")
	cld := h.client(t, testSecret, "")
	rc := newReceiver(t, http.StatusOK)
	src := makeVideo(t, 1280, 720, 2.5, true)
	res := uploadVideo(t, cld, src, "tenflix/videos/v1", "sp_hd/m3u8", rc.URL+"/hook")
	if res.Error.Message != "" {
		t.Fatalf("upload refused: %s", res.Error.Message)
	}
	if res.PublicID != "tenflix/videos/v1" || res.Version == 0 || res.ResourceType != "video" || res.Type != "authenticated" ||
		res.Width != 1280 || res.Height != 720 || res.Format != "mp4" {
		t.Fatalf("result %+v", res)
	}
	if !cld.Upload.VerifyApiResponseSignature(res.PublicID, strconv.Itoa(res.Version), res.Signature) {
		t.Error("the response signature does not verify with the SDK")
	}
	h.mu.Lock()
	if len(h.chunks) != 0 {
		t.Errorf("a small file was chunked: %d", len(h.chunks))
	}
	h.mu.Unlock()
	want := playbackURL(t, cld, res.PublicID, "hd", res.Version)
	if len(res.Eager) != 1 || res.Eager[0].URL != want {
		t.Fatalf("eager %+v, want the URL %s", res.Eager, want)
	}
	if resp, _ := get(t, want); resp.StatusCode != http.StatusLocked {
		t.Errorf("master before the eager job: %d, want 423", resp.StatusCode)
	}

	n := rc.next(t, 2*time.Minute)
	ts, _ := strconv.ParseInt(n.timestamp, 10, 64)
	if !cld.Upload.VerifyNotificationSignature(string(n.body), ts, n.sig, 0) {
		t.Fatalf("notification signature %q does not verify with the SDK", n.sig)
	}
	if n.sig != hex.EncodeToString(digest("sha1", string(n.body)+n.timestamp, testSecret)) || n.contentType != "application/json" || n.path != "/hook" {
		t.Errorf("notification %+v", n)
	}
	var en eagerNotification
	if err := json.Unmarshal(n.body, &en); err != nil {
		t.Fatal(err)
	}
	if en.NotificationType != "eager" || en.PublicID != res.PublicID || en.Version != int64(res.Version) || en.BatchID == "" ||
		len(en.Eager) != 1 || en.Eager[0].Status != "complete" || en.Eager[0].URL != want || en.Eager[0].Transformation != "sp_hd/m3u8" ||
		en.Eager[0].Height != 720 {
		t.Fatalf("notification %s", n.body)
	}

	// A player's walk: master, a variant playlist, a segment (and a range).
	resp, master := get(t, want)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-mpegURL" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("master: %d %v\n%s", resp.StatusCode, resp.Header, master)
	}
	for _, w := range []string{"RESOLUTION=640x360", "RESOLUTION=1280x720", `CODECS="avc1.`, "mp4a.40.2", "BANDWIDTH="} {
		if !strings.Contains(string(master), w) {
			t.Errorf("master lacks %s:\n%s", w, master)
		}
	}
	if strings.Contains(string(master), "1920x1080") {
		t.Error("hd upscaled")
	}
	base, _ := url.Parse(want)
	variants := uris(master)
	if len(variants) != 2 {
		t.Fatalf("variants %v", variants)
	}
	vu, _ := base.Parse(variants[1])
	resp, variant := get(t, vu.String())
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(variant), "#EXT-X-ENDLIST") {
		t.Fatalf("variant %s: %d\n%s", vu, resp.StatusCode, variant)
	}
	segs := uris(variant)
	su, _ := vu.Parse(segs[0])
	resp, seg := get(t, su.String())
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/MP2T" || len(seg) < 1000 || seg[0] != 0x47 {
		t.Fatalf("segment %s: %d %v %d bytes", su, resp.StatusCode, resp.Header, len(seg))
	}
	if resp, part := get(t, su.String(), "Range", "bytes=0-187"); resp.StatusCode != http.StatusPartialContent || len(part) != 188 {
		t.Errorf("range: %d, %d bytes", resp.StatusCode, len(part))
	}

	// Signatures: tampered, missing, or on another path.
	sig := regexp.MustCompile(`s--[A-Za-z0-9_-]{8}--`)
	for name, u := range map[string]string{
		"tampered":  sig.ReplaceAllString(su.String(), "s--AAAAAAAA--"),
		"missing":   sig.ReplaceAllString(su.String(), ""),
		"moved":     strings.Replace(su.String(), "seg_000", "seg_001", 1),
		"master":    sig.ReplaceAllString(want, "s--AAAAAAAA--"),
		"as upload": strings.Replace(sig.ReplaceAllString(want, ""), "/authenticated/", "/upload/", 1),
	} {
		resp, _ := get(t, strings.Replace(u, "//sp_", "/sp_", 1))
		wantStatus := http.StatusUnauthorized
		if name == "as upload" {
			wantStatus = http.StatusNotFound // an authenticated asset is not public
		}
		if resp.StatusCode != wantStatus || resp.Header.Get("X-Cld-Error") == "" {
			t.Errorf("%s: %d (X-Cld-Error %q), want %d", name, resp.StatusCode, resp.Header.Get("X-Cld-Error"), wantStatus)
		}
	}
}

func TestChunkedUpload(t *testing.T) {
	h := newHarness(t, "", "")
	cld := h.client(t, testSecret, "")
	const size = 25_000_000 // cloudinary-go chunks above 20,000,000 bytes
	big := padVideo(t, makeVideo(t, 640, 360, 1, false), size)
	res := uploadVideo(t, cld, big, "tenflix/videos/big", "", "")
	if res.Error.Message != "" {
		t.Fatalf("upload refused: %s", res.Error.Message)
	}
	h.mu.Lock()
	chunks := h.chunks
	h.mu.Unlock()
	if len(chunks) != 2 {
		t.Fatalf("%d chunk requests, want 2", len(chunks))
	}
	if chunks[0].Get("X-Unique-Upload-Id") == "" || chunks[0].Get("X-Unique-Upload-Id") != chunks[1].Get("X-Unique-Upload-Id") ||
		chunks[0].Get("Content-Range") != "bytes 0-19999999/25000000" || chunks[1].Get("Content-Range") != "bytes 20000000-24999999/25000000" {
		t.Errorf("chunk headers %v", chunks)
	}
	raw, _ := os.ReadFile(big)
	sum := md5.Sum(raw)
	if res.Bytes != size || res.Etag != hex.EncodeToString(sum[:]) || res.Width != 640 || res.PublicID != "tenflix/videos/big" {
		t.Errorf("result bytes %d etag %s width %d", res.Bytes, res.Etag, res.Width)
	}
	// The reassembled original is delivered byte for byte (signed URL).
	v, _ := cld.Video(res.PublicID + ".mp4")
	v.DeliveryType, v.Version, v.Config.URL.SignURL = api.Authenticated, res.Version, true
	u, _ := v.String()
	resp, got := get(t, u)
	if resp.StatusCode != http.StatusOK || md5.Sum(got) != sum {
		t.Errorf("original: %d, %d bytes", resp.StatusCode, len(got))
	}
	var left int
	h.em.store.view(func(st *state) { left = len(st.Uploads) })
	if left != 0 {
		t.Errorf("%d chunked uploads left", left)
	}
}

func TestBadSignatureRefused(t *testing.T) {
	h := newHarness(t, "", "")
	src := makeVideo(t, 320, 240, 0.5, false)
	for name, tc := range map[string]struct {
		cld    *cloudinary.Cloudinary
		params uploader.UploadParams
		want   string
	}{
		"wrong secret": {h.client(t, "not-the-secret", ""), uploader.UploadParams{PublicID: "x"}, "Invalid Signature "},
		"stale":        {h.client(t, testSecret, ""), uploader.UploadParams{PublicID: "x", Timestamp: time.Now().Add(-2 * time.Hour).Unix()}, "Stale request - reported time is "},
		"bad eager":    {h.client(t, testSecret, ""), uploader.UploadParams{PublicID: "x", Eager: "c_scale,w_100"}, "The emulator makes only adaptive streaming"},
	} {
		f, _ := os.Open(src)
		tc.params.ResourceType = "video"
		res, err := tc.cld.Upload.Upload(context.Background(), f, tc.params)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(res.Error.Message, tc.want) {
			t.Errorf("%s: error %q, want %q...", name, res.Error.Message, tc.want)
		}
	}
	// The status and the body as Cloudinary answers them.
	resp, err := http.Post(h.base+"/v1_1/demo/video/upload?x=1", "multipart/form-data; boundary=b",
		strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n"+testKey+
			"\r\n--b\r\nContent-Disposition: form-data; name=\"timestamp\"\r\n\r\n"+strconv.FormatInt(time.Now().Unix(), 10)+
			"\r\n--b\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\nabc"+
			"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\nxyz\r\n--b--\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error struct{ Message string } }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(body.Error.Message, "Invalid Signature abc. String to sign - 'timestamp=") {
		t.Errorf("%d %q", resp.StatusCode, body.Error.Message)
	}
	// Nothing was stored.
	var n int
	h.em.store.view(func(st *state) { n = len(st.Assets) })
	if n != 0 {
		t.Errorf("%d assets after refusals", n)
	}
}

func TestEagerFailureIsNotified(t *testing.T) {
	h := newHarness(t, "", "")
	cld := h.client(t, testSecret, "")
	rc := newReceiver(t, http.StatusOK)
	res := uploadVideo(t, cld, makeVideo(t, 320, 240, 0.5, false), "tenflix/videos/fail-eager-1", "sp_hd/m3u8", rc.URL)
	if res.Error.Message != "" {
		t.Fatal(res.Error.Message)
	}
	var en eagerNotification
	json.Unmarshal(rc.next(t, time.Minute).body, &en)
	if len(en.Eager) != 1 || en.Eager[0].Status != "failed" || !strings.Contains(en.Eager[0].Reason, "fail-eager") || en.Eager[0].URL != "" {
		t.Fatalf("notification %+v", en)
	}
	if resp, _ := get(t, playbackURL(t, cld, res.PublicID, "hd", res.Version)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("master of a failed job: %d", resp.StatusCode)
	}
}

func TestNotificationRetriedUntil200(t *testing.T) {
	h := newHarness(t, "", "")
	cld := h.client(t, testSecret, "")
	rc := newReceiver(t, http.StatusServiceUnavailable)
	uploadVideo(t, cld, makeVideo(t, 320, 240, 0.5, false), "tenflix/videos/fail-eager-retry", "sp_sd/m3u8", rc.URL)
	first, second := rc.next(t, time.Minute), rc.next(t, 5*time.Second)
	if string(first.body) != string(second.body) {
		t.Error("a retry changed the body")
	}
	select {
	case <-rc.got:
		t.Error("retried more than configured")
	case <-time.After(500 * time.Millisecond):
	}
}

func TestSHA256AccountAndRestart(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, "sha256", dir)
	cld := h.client(t, testSecret, "&signature_algorithm=sha256")
	rc := newReceiver(t, http.StatusOK)
	res := uploadVideo(t, cld, makeVideo(t, 320, 240, 1, true), "tenflix/videos/sha", "sp_auto/m3u8", rc.URL)
	if res.Error.Message != "" {
		t.Fatal(res.Error.Message)
	}
	n := rc.next(t, time.Minute)
	ts, _ := strconv.ParseInt(n.timestamp, 10, 64)
	if len(n.sig) != 64 || !cld.Upload.VerifyNotificationSignature(string(n.body), ts, n.sig, 0) {
		t.Fatalf("sha256 notification signature %q", n.sig)
	}
	// SHA-1 clients are refused by a SHA-256 account.
	sha1Client := h.client(t, testSecret, "")
	f, _ := os.Open(makeVideo(t, 320, 240, 0.5, false))
	bad, _ := sha1Client.Upload.Upload(context.Background(), f, uploader.UploadParams{PublicID: "y", ResourceType: "video"})
	f.Close()
	if !strings.HasPrefix(bad.Error.Message, "Invalid Signature") {
		t.Errorf("sha1 on a sha256 account: %q", bad.Error.Message)
	}
	// A restart on the same directory keeps the asset and its ladder.
	h.em.Close()
	h.start(t, "sha256")
	resp, master := get(t, playbackURL(t, cld, res.PublicID, "auto", res.Version))
	if resp.StatusCode != http.StatusOK || len(uris(master)) != 1 || !strings.Contains(string(master), "RESOLUTION=320x240") {
		t.Fatalf("after restart: %d\n%s", resp.StatusCode, master)
	}
}
