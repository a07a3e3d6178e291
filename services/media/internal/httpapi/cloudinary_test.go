package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/playback"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/cloudinary"
	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/ffmpeg/ffmpegtest"
	"tenflix/services/media/internal/hls"
	"tenflix/services/media/internal/httpapi"
	"tenflix/services/media/internal/job"
	"tenflix/services/media/internal/postgres/postgrestest"
	"tenflix/tools/cloudinary-emulator/emulator"
)

const (
	cldCloud  = "tenflix-test"
	cldKey    = "123456789012345"
	cldSecret = "media-test-secret"
)

// cldFixture is media with the Cloudinary backend against the real
// emulator, in process: the emulator's notifications reach media's
// handler on the test server, as the gateway's route would forward them.
type cldFixture struct {
	*fixture
	emu     *httptest.Server
	cld     *cloudinary.Client
	notify  string // media's notification URL
	mu      sync.Mutex
	chunks  []http.Header // upload requests with a Content-Range
	answers []int         // media's answers to the emulator's notifications
}

func newCloudinaryFixture(t *testing.T) *cldFixture {
	t.Helper()
	f := &cldFixture{}
	em := httptest.NewUnstartedServer(nil)
	emuBase := "http://" + em.Listener.Addr().String()
	server, err := emulator.New(emulator.Config{CloudName: cldCloud, APIKey: cldKey, APISecret: cldSecret,
		BaseURL: emuBase, DataDir: t.TempDir(), NotificationRetries: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	h := server.Handler()
	em.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1_1/") && r.Header.Get("Content-Range") != "" {
			f.mu.Lock()
			f.chunks = append(f.chunks, r.Header.Clone())
			f.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
	em.Start()
	t.Cleanup(func() { em.Close(); _ = server.Close() })
	f.emu = em

	media := httptest.NewUnstartedServer(nil)
	f.notify = "http://" + media.Listener.Addr().String() + httpapi.CloudinaryNotificationPath
	f.cld, err = cloudinary.New(fmt.Sprintf("cloudinary://%s:%s@%s?upload_prefix=%s", cldKey, cldSecret, cldCloud, emuBase), f.notify)
	if err != nil {
		t.Fatal(err)
	}

	iss := authntest.NewIssuer(t)
	dir := t.TempDir()
	files, err := hls.Open(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	db := postgrestest.New(t)
	movieID := uuid.NewString()
	cat := &catalog{movies: map[string]bool{movieID: true}}
	tools := ffmpeg.Tools{}
	a := app.New(db, cat, files, app.ProbeFunc(func(ctx context.Context, p string) (app.Source, error) {
		s, err := tools.Probe(ctx, p)
		return app.Source{Duration: s.Duration, Height: s.Height}, err
	}), cloudinary.Transcoder{Client: f.cld, Files: files}, app.Options{Lease: 3 * time.Second, Backend: "Cloudinary"})
	grants, _ := playback.NewSigner(bytes.Repeat([]byte("k"), 32))
	log := slog.New(slog.DiscardHandler)
	engine := httpserver.NewEngine(httpserver.Options{Log: log, MaxBodyBytes: 65 << 20})
	notification := httpapi.CloudinaryNotification(f.cld, a, nil)
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: iss.Verifier(t), App: a, Files: files, Grants: grants,
		CloudinaryNotification: func(c *gin.Context) {
			notification(c)
			f.mu.Lock()
			f.answers = append(f.answers, c.Writer.Status())
			f.mu.Unlock()
		}})
	media.Config.Handler = engine
	media.Start()
	t.Cleanup(media.Close)
	f.fixture = &fixture{t: t, srv: media, app: a, db: db, catalog: cat, dir: dir,
		admin: iss.Token(t, "admin-1", "admin"), grants: grants, movieID: movieID}
	return f
}

// waitJob polls the job until done says so.
func (f *cldFixture) waitJob(id string, done func(job.Job) bool) job.Job {
	f.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		j, err := f.db.Get(f.t.Context(), id)
		if err == nil && done(j) {
			return j
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("job %s: %+v %v, still not done", id, j, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *cldFixture) answered() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.answers...)
}

// emuGet fetches a delivery URL (absolute, or a path on the emulator).
func (f *cldFixture) emuGet(u string) (*http.Response, []byte) {
	f.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = f.emu.URL + u
	}
	resp, err := http.Get(u)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// bigVideo is a 4 s 640x360 source padded (CBR filler) past the SDK's
// 20,000,000-byte chunk size, so that it goes up in two chunks.
func bigVideo(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "big.mp4")
	ffmpegtest.Run(t, "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=size=640x360:rate=24:duration=4",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:a", "aac", "-shortest",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-b:v", "48M", "-minrate", "48M", "-maxrate", "48M", "-bufsize", "8M", "-x264-params", "nal-hrd=cbr",
		"-movflags", "+faststart", out)
	if st, err := os.Stat(out); err != nil || st.Size() <= 20_000_000 {
		t.Fatalf("the padded source is %v bytes (%v), want over 20 MB", st.Size(), err)
	}
	return out
}

// Upload through media's route -> chunked upload to the emulator -> the job
// waits, TRANSCODING without a lease -> the emulator's eager ladder and
// signed notification -> READY with a signed delivery URL whose master,
// variant and segment play from the emulator; a duplicate changes nothing.
func TestCloudinaryUploadToReady(t *testing.T) {
	f := newCloudinaryFixture(t)
	code, errCode, got := f.upload(f.movieID, f.admin, map[string]string{"title": "Big"}, bigVideo(t))
	if code != http.StatusAccepted || got["status"] != "UPLOADED" {
		t.Fatalf("upload: %d %s %s", code, errCode, got["body"])
	}
	id := got["id"]
	if worked, err := f.app.Step(t.Context()); !worked || err != nil {
		t.Fatalf("Step = %v, %v", worked, err)
	}
	// Transcode returned: the video is handed over, not READY.
	j, _ := f.db.Get(t.Context(), id)
	if j.Status == job.Ready || j.RemoteVersion <= 0 || j.LeaseOwner != "" {
		t.Fatalf("after the upload: %+v, want TRANSCODING awaiting, unleased", j)
	}
	if st := f.catalog.statuses(); st[len(st)-1] != "TRANSCODING" {
		t.Fatalf("reports after the upload %v", st)
	}
	f.mu.Lock()
	chunks := append([]http.Header(nil), f.chunks...)
	f.mu.Unlock()
	if len(chunks) != 2 || chunks[0].Get("X-Unique-Upload-Id") == "" || chunks[0].Get("X-Unique-Upload-Id") != chunks[1].Get("X-Unique-Upload-Id") {
		t.Fatalf("chunks %v, want 2 of one upload", chunks)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "uploads", id, "source")); err != nil {
		t.Fatalf("the source is gone before READY: %v", err)
	}

	j = f.waitJob(id, func(j job.Job) bool { return j.Status != job.Transcoding })
	if j.Status != job.Ready || j.Playback != "cloudinary" || j.Reported != job.Ready || j.Awaiting {
		t.Fatalf("job %+v", j)
	}
	final := f.catalog.reports[len(f.catalog.reports)-1]
	pattern := `^` + regexp.QuoteMeta(f.emu.URL+"/"+cldCloud+"/video/authenticated/s--") + `[A-Za-z0-9_-]{8}--/sp_auto/v` +
		strconv.FormatInt(j.RemoteVersion, 10) + `/tenflix/videos/` + id + `\.m3u8$`
	if final.Status != "READY" || final.Playback != "cloudinary" || !regexp.MustCompile(pattern).MatchString(final.URL) ||
		final.URL != j.URL || final.Title != "Big" || final.LengthSeconds != 4 {
		t.Fatalf("READY report %+v, want a URL like %s", final, pattern)
	}
	if left := f.leftovers(); len(left) != 0 {
		t.Errorf("on disk after READY: %v, want nothing (no local ladder)", left)
	}

	// What movie-query hands a viewer for playback "cloudinary" is this URL.
	resp, master := f.emuGet(final.URL)
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "mpegurl") ||
		!bytes.Contains(master, []byte("CODECS=")) {
		t.Fatalf("master: %d %v\n%s", resp.StatusCode, resp.Header, master)
	}
	variant := firstURI(t, master)
	resp, playlist := f.emuGet(variant)
	if resp.StatusCode != 200 {
		t.Fatalf("variant %s: %d", variant, resp.StatusCode)
	}
	resp, seg := f.emuGet(firstURI(t, playlist))
	if resp.StatusCode != 200 || len(seg) < 188 || seg[0] != 0x47 {
		t.Fatalf("segment: %d, %d bytes", resp.StatusCode, len(seg))
	}
	if resp, _ := f.emuGet(strings.Replace(final.URL, "/s--", "/s--x", 1)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a tampered delivery signature: %d, want 401", resp.StatusCode)
	}

	// A duplicate notification (as Cloudinary's retries make) changes nothing.
	reports := len(f.catalog.reports)
	if resp, err := http.Post(f.emu.URL+"/emulator/notify?public_id="+url.QueryEscape("tenflix/videos/"+id), "", nil); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("resend: %v %v", resp, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(f.answered()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if a := f.answered(); len(a) != 2 || a[0] != 200 || a[1] != 200 {
		t.Fatalf("media's answers to the notifications: %v, want 200 200", a)
	}
	again, _ := f.db.Get(t.Context(), id)
	if again != j || len(f.catalog.reports) != reports {
		t.Fatalf("the duplicate changed the job %+v -> %+v or reported (%d -> %d)", j, again, reports, len(f.catalog.reports))
	}
}

// firstURI is a playlist's first URI line.
func firstURI(t *testing.T, playlist []byte) string {
	t.Helper()
	for _, line := range strings.Split(string(playlist), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	t.Fatalf("no URI in\n%s", playlist)
	return ""
}

// notification is an eager notification as Cloudinary (and the emulator)
// sends it.
func notification(publicID string, version int64, status, reason string) []byte {
	e := map[string]any{"transformation": "sp_auto/m3u8", "status": status, "format": "m3u8"}
	if status == "complete" {
		e["secure_url"] = "http://x/" + publicID + ".m3u8"
	} else {
		e["reason"] = reason
	}
	b, _ := json.Marshal(map[string]any{"notification_type": "eager", "batch_id": "b1", "public_id": publicID,
		"version": version, "resource_type": "video", "type": "authenticated", "eager": []any{e}})
	return b
}

// post sends a notification signed with secret at ts.
func (f *cldFixture) post(body []byte, secret string, ts time.Time) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.notify, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		sum := sha1.Sum(append(append(append([]byte(nil), body...), stamp...), secret...))
		req.Header.Set("X-Cld-Timestamp", stamp)
		req.Header.Set("X-Cld-Signature", hex.EncodeToString(sum[:]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// awaiting makes a job that media uploaded as version and now waits for.
func (f *cldFixture) awaiting(version int64, wait time.Duration) string {
	f.t.Helper()
	ctx := f.t.Context()
	id := uuid.NewString()
	if err := f.db.Create(ctx, job.Job{VideoID: id, MovieID: f.movieID, Title: "t", LengthSeconds: 3}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.Accept(ctx, id); err != nil {
		f.t.Fatal(err)
	}
	if j, ok, err := f.db.Claim(ctx, "w", time.Minute, 3); err != nil || !ok || j.VideoID != id {
		f.t.Fatalf("claim: %+v %v %v", j, ok, err)
	}
	if version > 0 {
		if err := f.db.Await(ctx, id, "w", version, wait); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

// Notifications are verified before anything is read from them; those that
// are not media's are answered 200 and ignored; a failed eager ends the
// waiting job FAILED with Cloudinary's reason, once; a job past its
// deadline is FAILED.
func TestCloudinaryNotifications(t *testing.T) {
	f := newCloudinaryFixture(t)
	const v = 1_700_000_000
	id := f.awaiting(v, time.Hour)
	pid := "tenflix/videos/" + id
	now := time.Now()
	failed := notification(pid, v, "failed", "Emulated \u0007failure")
	before, _ := f.db.Get(t.Context(), id)
	for _, c := range []struct {
		name   string
		body   []byte
		secret string
		ts     time.Time
		code   int
		answer string
	}{
		{"unsigned", failed, "", now, 401, `"unauthorized"`},
		{"another secret", failed, "not-the-secret", now, 401, `"unauthorized"`},
		{"stale", failed, cldSecret, now.Add(-3 * time.Hour), 401, "window"},
		{"from the future", failed, cldSecret, now.Add(3 * time.Hour), 401, "window"},
		{"too large", bytes.Repeat([]byte(" "), httpapi.MaxNotificationBytes+1), cldSecret, now, 413, `"too_large"`},
		{"signed garbage", []byte("\x00\xff{"), cldSecret, now, 400, `"invalid"`},
		// The platform's JSON guard answers before the handler does.
		{"NUL in a reason", notification(pid, v, "failed", "a\x00b"), cldSecret, now, 400, `"invalid"`},
		{"an upload notification", []byte(`{"notification_type":"upload","public_id":"` + pid + `"}`), cldSecret, now, 200, "ignored"},
		{"another folder", notification("elsewhere/"+id, v, "failed", "x"), cldSecret, now, 200, "ignored"},
		{"not a media id", notification("tenflix/videos/fail-eager-1", v, "failed", "x"), cldSecret, now, 200, "ignored"},
		{"an unknown video", notification("tenflix/videos/"+uuid.NewString(), v, "failed", "x"), cldSecret, now, 200, "ignored"},
		{"an older upload", notification(pid, v-1, "failed", "x"), cldSecret, now, 200, "ignored"},
	} {
		code, body := f.post(c.body, c.secret, c.ts)
		if code != c.code || !strings.Contains(body, c.answer) {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, body, c.code, c.answer)
		}
	}
	if j, _ := f.db.Get(t.Context(), id); j != before || len(f.catalog.reports) != 0 {
		t.Fatalf("refused notifications changed %+v -> %+v, reports %v", before, j, f.catalog.statuses())
	}

	code, body := f.post(failed, cldSecret, now)
	j, _ := f.db.Get(t.Context(), id)
	if code != 200 || !strings.Contains(body, "FAILED") || j.Status != job.Failed || j.Reason != "Cloudinary: Emulated  failure" || j.Reported != job.Failed {
		t.Fatalf("failed eager: %d %s, job %+v", code, body, j)
	}
	if r := f.catalog.reports; len(r) != 1 || r[0].Status != "FAILED" || r[0].FailureReason != j.Reason {
		t.Fatalf("reports %+v", r)
	}
	if code, body := f.post(failed, cldSecret, now); code != 200 || !strings.Contains(body, "duplicate") {
		t.Fatalf("duplicate: %d %s", code, body)
	}
	if again, _ := f.db.Get(t.Context(), id); again != j || len(f.catalog.reports) != 1 {
		t.Fatalf("the duplicate changed %+v -> %+v", j, again)
	}

	// An upload still being answered (leased, not waiting yet): sent again later.
	inFlight := f.awaiting(0, 0)
	if code, body := f.post(notification("tenflix/videos/"+inFlight, v, "complete", ""), cldSecret, now); code != 503 || !strings.Contains(body, "unavailable") {
		t.Fatalf("a notification before the upload's answer: %d %s, want 503", code, body)
	}

	// Never notified: FAILED at the deadline, by the worker.
	late := f.awaiting(v, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	f.app.Run(ctx)
	cancel()
	if j, _ := f.db.Get(t.Context(), late); j.Status != job.Failed || !strings.Contains(j.Reason, "Cloudinary never notified") || j.Awaiting {
		t.Fatalf("past the deadline: %+v", j)
	}
}

// The emulator's fail-eager knob: its signed failure notification reaches
// media's handler and is answered 200 (the asset is not one of media's
// videos: their ids are UUIDs, which never contain the knob).
func TestCloudinaryEagerFailureNotification(t *testing.T) {
	f := newCloudinaryFixture(t)
	src := ffmpegtest.Video(t, t.TempDir(), 320, 240, 1, false)
	if _, err := f.cld.Upload(t.Context(), "fail-eager-1", src); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(f.answered()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if a := f.answered(); len(a) != 1 || a[0] != 200 {
		t.Fatalf("answers %v, want one 200", a)
	}
}

// Cloudinary unreachable: each attempt is given back for later, and the
// last one ends FAILED with the error; never READY, never waiting.
func TestCloudinaryUnreachableIsRetriedThenFailed(t *testing.T) {
	cld, err := cloudinary.New("cloudinary://k:s@c?upload_prefix=http://127.0.0.1:1", "http://127.0.0.1:2/n")
	if err != nil {
		t.Fatal(err)
	}
	files, err := hls.Open(t.TempDir(), 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	db := postgrestest.New(t)
	movieID := uuid.NewString()
	cat := &catalog{movies: map[string]bool{movieID: true}}
	a := app.New(db, cat, files, app.ProbeFunc(func(context.Context, string) (app.Source, error) {
		return app.Source{Duration: 1, Height: 240}, nil
	}), cloudinary.Transcoder{Client: cld, Files: files}, app.Options{Lease: 3 * time.Second, RetryDelay: time.Millisecond, MaxAttempts: 3})
	u, err := a.BeginUpload(t.Context(), movieID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.SaveFile(strings.NewReader("not really a video: the probe is faked")); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Accept(t.Context(), job.Meta{Title: "t"}); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		time.Sleep(5 * time.Millisecond)
		if worked, err := a.Step(t.Context()); !worked || err != nil {
			t.Fatalf("attempt %d: %v %v", attempt, worked, err)
		}
		j, _ := db.Get(t.Context(), u.VideoID)
		want := job.Transcoding
		if attempt == 3 {
			want = job.Failed
		}
		if j.Status != want || j.Attempts != attempt || j.Awaiting || !strings.Contains(j.Reason, "connection refused") {
			t.Fatalf("after attempt %d: %+v", attempt, j)
		}
	}
	if st := cat.statuses(); st[len(st)-1] != "FAILED" || slices.Contains(st, "READY") {
		t.Fatalf("reports %v", st)
	}
}
