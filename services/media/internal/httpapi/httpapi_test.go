package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/playback"
	"tenflix/services/media/internal/app"
	"tenflix/services/media/internal/ffmpeg"
	"tenflix/services/media/internal/ffmpeg/ffmpegtest"
	"tenflix/services/media/internal/hls"
	"tenflix/services/media/internal/httpapi"
	"tenflix/services/media/internal/job"
	"tenflix/services/media/internal/postgres"
	"tenflix/services/media/internal/postgres/postgrestest"

	catalogv1 "tenflix/proto/catalog/v1"
)

// catalog stands in for movie-command: it knows some movies and records
// every report, in order.
type catalog struct {
	mu      sync.Mutex
	movies  map[string]bool
	reports []catalogv1.VideoStatus
}

func (c *catalog) MovieExists(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.movies[id] {
		return job.ErrMovieNotFound
	}
	return nil
}

func (c *catalog) PutVideo(_ context.Context, movieID, _ string, v catalogv1.VideoStatus) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.movies[movieID] {
		return job.ErrMovieNotFound
	}
	c.reports = append(c.reports, v)
	return nil
}

func (c *catalog) statuses() (out []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.reports {
		out = append(out, r.Status)
	}
	return out
}

type fixture struct {
	t       *testing.T
	srv     *httptest.Server
	app     *app.App
	db      *postgres.DB
	catalog *catalog
	dir     string
	admin   string
	grants  *playback.Signer
	movieID string
}

func newFixture(t *testing.T, maxUpload int64) *fixture {
	t.Helper()
	iss := authntest.NewIssuer(t)
	dir := t.TempDir()
	files, err := hls.Open(dir, maxUpload)
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
	}), hls.Transcoder{Store: files, Tools: tools}, app.Options{Lease: 3 * time.Second})
	grants, err := playback.NewSigner(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	engine := httpserver.NewEngine(httpserver.Options{Log: log, MaxBodyBytes: maxUpload + 1<<20})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: iss.Verifier(t), App: a, Files: files, Grants: grants})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, app: a, db: db, catalog: cat, dir: dir,
		admin: iss.Token(t, "admin-1", "admin"), grants: grants, movieID: movieID}
}

func (f *fixture) upload(movieID, token string, parts map[string]string, file string) (int, string, map[string]string) {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range parts {
		_ = mw.WriteField(k, v)
	}
	if file != "" {
		w, _ := mw.CreateFormFile("file", "v.mp4")
		b, err := os.ReadFile(file)
		if err != nil {
			f.t.Fatal(err)
		}
		_, _ = w.Write(b)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/movie-command/movies/"+movieID+"/videos/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		ID, Status string
		Error      struct{ Code string }
	}
	_ = json.Unmarshal(b, &env)
	return resp.StatusCode, env.Error.Code, map[string]string{"id": env.ID, "status": env.Status, "body": string(b)}
}

func (f *fixture) get(path string, header ...string) (*http.Response, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// leftovers lists what is on disk under uploads/, work/ and hls/.
func (f *fixture) leftovers() []string {
	var out []string
	for _, sub := range []string{"uploads", "work", "hls"} {
		entries, _ := os.ReadDir(filepath.Join(f.dir, sub))
		for _, e := range entries {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return out
}

func TestUploadTranscodeAndServe(t *testing.T) {
	f := newFixture(t, 64<<20)
	src := ffmpegtest.Video(t, t.TempDir(), 1280, 720, 4, true)
	code, errCode, got := f.upload(f.movieID, f.admin, map[string]string{"title": " Trailer ", "synopsis": "s"}, src)
	if code != http.StatusAccepted || got["status"] != "UPLOADED" {
		t.Fatalf("upload: %d %s %s", code, errCode, got["body"])
	}
	id := got["id"]
	if worked, err := f.app.Step(t.Context()); !worked || err != nil {
		t.Fatalf("Step = %v, %v", worked, err)
	}
	statuses := f.catalog.statuses()
	if statuses[0] != "UPLOADED" || statuses[1] != "TRANSCODING" || statuses[len(statuses)-1] != "READY" {
		t.Fatalf("reports %v", statuses)
	}
	final := f.catalog.reports[len(f.catalog.reports)-1]
	if final.Playback != "hls" || final.URL != id+"/master.m3u8" || final.PosterURL != id+"/poster.jpg" || final.Title != "Trailer" || final.LengthSeconds != 4 {
		t.Fatalf("READY report %+v", final)
	}
	if j, _ := f.db.Get(t.Context(), id); j.Status != job.Ready || j.Reported != job.Ready {
		t.Fatalf("job %+v", j)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "uploads", id)); !os.IsNotExist(err) {
		t.Errorf("the upload was kept after READY: %v", err)
	}

	grant := f.grants.Grant("u1", id, time.Now().Add(time.Hour))
	base := "/api/v1/media/hls/" + grant + "/" + id + "/"
	resp, master := f.get(base + "master.m3u8")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" ||
		resp.Header.Get("Cache-Control") != "private, max-age=5" {
		t.Fatalf("master: %d %v", resp.StatusCode, resp.Header)
	}
	if n := len(regexp.MustCompile(`CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"`).FindAll(master, -1)); n != 2 {
		t.Fatalf("master with %d variants carrying CODECS, want 2:\n%s", n, master)
	}
	resp, seg := f.get(base+"720p/seg_00000.ts", "Range", "bytes=188-375")
	if resp.StatusCode != http.StatusPartialContent || len(seg) != 188 || seg[0] != 0x47 ||
		resp.Header.Get("Content-Type") != "video/mp2t" || resp.Header.Get("Cache-Control") != "private, max-age=3600, immutable" {
		t.Fatalf("segment range: %d %d bytes %v", resp.StatusCode, len(seg), resp.Header)
	}
	if resp, _ := f.get(base + "poster.jpg"); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("poster: %d %v", resp.StatusCode, resp.Header)
	}
	head, _ := http.NewRequest(http.MethodHead, f.srv.URL+base+"master.m3u8", nil)
	if resp, err := http.DefaultClient.Do(head); err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(master)) {
		t.Fatalf("HEAD: %v %v", resp, err)
	}

	for name, path := range map[string]string{
		"tampered":      "/api/v1/media/hls/" + grant[:len(grant)-1] + "A/" + id + "/master.m3u8",
		"expired":       "/api/v1/media/hls/" + f.grants.Grant("u1", id, time.Now().Add(-time.Minute)) + "/" + id + "/master.m3u8",
		"another video": "/api/v1/media/hls/" + f.grants.Grant("u1", uuid.NewString(), time.Now().Add(time.Hour)) + "/" + id + "/master.m3u8",
		"garbage":       "/api/v1/media/hls/x/" + id + "/master.m3u8",
	} {
		if resp, _ := f.get(path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s grant: %d, want 403", name, resp.StatusCode)
		}
	}
	for file, want := range map[string]int{
		"../../../etc/passwd":   400,
		"720p/../../x.m3u8":     400,
		".hidden.ts":            400,
		"720p/seg_99999.ts":     404,
		"a/b/c.ts":              400,
		"720p/index.m3u8.bak":   400,
		"720p%2F..%2F..%2Fx.ts": 400,
	} {
		if resp, _ := f.get(base + file); resp.StatusCode != want {
			t.Errorf("file %q: %d, want %d", file, resp.StatusCode, want)
		}
	}
}

func TestUploadsThatAreNotVideosLeaveNothing(t *testing.T) {
	f := newFixture(t, 256<<10)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	_ = os.WriteFile(text, []byte("just text\n"), 0o644)
	video := ffmpegtest.Video(t, dir, 320, 240, 2, false)
	corrupt := ffmpegtest.Corrupt(t, video, 2048)
	big := filepath.Join(dir, "big.mp4")
	_ = os.WriteFile(big, bytes.Repeat([]byte{1}, 300<<10), 0o644)
	meta := map[string]string{"title": "t"}
	for _, c := range []struct {
		name     string
		movie    string
		parts    map[string]string
		file     string
		code     int
		envelope string
	}{
		{"text renamed .mp4", f.movieID, meta, text, 415, "unsupported_media_type"},
		{"corrupt frames", f.movieID, meta, corrupt, 422, "unprocessable"},
		{"audio only", f.movieID, meta, ffmpegtest.Audio(t, dir, 1), 422, "unprocessable"},
		{"too large", f.movieID, meta, big, 413, "too_large"},
		{"no file", f.movieID, meta, "", 400, "invalid"},
		{"no title", f.movieID, map[string]string{"synopsis": "s"}, video, 400, "invalid"},
		{"NUL in the title", f.movieID, map[string]string{"title": "a\x00b"}, video, 400, "invalid"},
		{"unknown field", f.movieID, map[string]string{"title": "t", "owner": "x"}, video, 400, "invalid"},
		{"missing movie", uuid.NewString(), meta, video, 404, "not_found"},
		{"not a uuid", "x", meta, video, 404, "not_found"},
	} {
		code, envelope, got := f.upload(c.movie, f.admin, c.parts, c.file)
		if code != c.code || envelope != c.envelope {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, code, envelope, got["body"], c.code, c.envelope)
		}
	}
	if left := f.leftovers(); len(left) != 0 {
		t.Errorf("refused uploads left %v", left)
	}
	if len(f.catalog.reports) != 0 {
		t.Errorf("refused uploads were reported: %v", f.catalog.statuses())
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/movie-command/movies/"+f.movieID+"/videos/upload", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.admin)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a JSON body: %d, want 415", resp.StatusCode)
	}
}

// A source that probes but breaks off mid-way fails with a reason, never
// READY; an admin's retry takes it again, and only FAILED videos retry.
func TestFailedTranscodeAndRetry(t *testing.T) {
	f := newFixture(t, 64<<20)
	src := ffmpegtest.Video(t, t.TempDir(), 640, 360, 6, false)
	b, _ := os.ReadFile(src)
	cut := filepath.Join(t.TempDir(), "cut.mp4")
	_ = os.WriteFile(cut, b[:len(b)/3], 0o644)
	code, _, got := f.upload(f.movieID, f.admin, map[string]string{"title": "Cut"}, cut)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, got["body"])
	}
	id := got["id"]
	retry := func() int {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/movie-command/movies/"+f.movieID+"/videos/"+id+"/retry", nil)
		req.Header.Set("Authorization", "Bearer "+f.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := retry(); c != http.StatusConflict {
		t.Fatalf("retry of an UPLOADED video: %d, want 409", c)
	}
	if _, err := f.app.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	j, _ := f.db.Get(t.Context(), id)
	last := f.catalog.reports[len(f.catalog.reports)-1]
	if j.Status != job.Failed || !strings.Contains(j.Reason, "truncated") || last.Status != "FAILED" || last.FailureReason != j.Reason {
		t.Fatalf("job %+v, last report %+v", j, last)
	}
	if left := f.leftovers(); len(left) != 1 || left[0] != "uploads/"+id {
		t.Errorf("after FAILED on disk: %v, want only the upload (for a retry)", left)
	}
	if c := retry(); c != http.StatusAccepted {
		t.Fatalf("retry of a FAILED video: %d", c)
	}
	if j, _ := f.db.Get(t.Context(), id); j.Status != job.Uploaded || j.Attempts != 0 {
		t.Fatalf("after retry %+v", j)
	}
	if worked, _ := f.app.Step(t.Context()); !worked {
		t.Fatal("the retried job was not claimed")
	}
	st := f.catalog.statuses()
	if st[len(st)-1] != "FAILED" || !strings.Contains(strings.Join(slices.Compact(st), " "), "FAILED UPLOADED TRANSCODING FAILED") {
		t.Fatalf("reports %v", st)
	}
}
