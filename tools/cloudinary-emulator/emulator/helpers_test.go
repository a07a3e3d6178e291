package emulator

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudinary/cloudinary-go/v2"
)

const (
	testCloud  = "demo"
	testKey    = "123456789012345"
	testSecret = "emulator-test-secret"
)

// harness is an emulator behind a real listener, counting the upload
// requests that carry a Content-Range (the chunks).
type harness struct {
	em      *Server
	handler http.Handler
	srv     *httptest.Server
	base    string
	dir     string
	mu      sync.Mutex
	chunks  []http.Header
	uploads int
}

func newHarness(t testing.TB, algo, dir string) *harness {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (make deps installs it)")
	}
	if dir == "" {
		dir = t.TempDir()
	}
	h := &harness{dir: dir}
	h.srv = httptest.NewUnstartedServer(nil)
	h.base = "http://" + h.srv.Listener.Addr().String()
	h.start(t, algo)
	return h
}

func (h *harness) start(t testing.TB, algo string) {
	t.Helper()
	em, err := New(Config{CloudName: testCloud, APIKey: testKey, APISecret: testSecret, SignatureAlgorithm: algo,
		BaseURL: h.base, DataDir: h.dir, NotificationRetries: []time.Duration{100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.em, h.handler = em, em.Handler()
	h.mu.Unlock()
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1_1/") {
			h.mu.Lock()
			h.uploads++
			if r.Header.Get("Content-Range") != "" {
				h.chunks = append(h.chunks, r.Header.Clone())
			}
			h.mu.Unlock()
		}
		h.mu.Lock()
		handler := h.handler
		h.mu.Unlock()
		handler.ServeHTTP(w, r)
	})
	if h.srv.URL == "" {
		h.srv.Start()
		t.Cleanup(h.srv.Close)
	}
	t.Cleanup(func() { em.Close() })
}

// client is cloudinary-go pointed at the emulator for the API
// (upload_prefix) and for delivery URLs (cname, plain http).
func (h *harness) client(t testing.TB, secret, extra string) *cloudinary.Cloudinary {
	t.Helper()
	u, _ := url.Parse(h.base)
	q := url.Values{"upload_prefix": {h.base}, "secure": {"false"}, "cname": {u.Host}}
	raw := "cloudinary://" + testKey + ":" + secret + "@" + testCloud + "?" + q.Encode() + extra
	cld, err := cloudinary.NewFromURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	cld.Config.URL.Analytics = false
	cld.Upload.Config = cld.Config
	return cld
}

// makeVideo renders a test pattern (with a tone when audio) with ffmpeg.
func makeVideo(t testing.TB, w, h int, seconds float64, audio bool) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "src.mp4")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=" + itoa(w) + "x" + itoa(h) + ":rate=24"}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100")
	}
	args = append(args, "-t", ftoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	if audio {
		args = append(args, "-c:a", "aac", "-shortest")
	}
	args = append(args, out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// padVideo copies src and appends an MP4 "free" box so that the file is
// size bytes and still a valid video (players skip free boxes).
func padVideo(t testing.TB, src string, size int64) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	pad := size - int64(len(raw))
	out := filepath.Join(t.TempDir(), "big.mp4")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(raw)
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(pad))
	copy(hdr[4:], "free")
	f.Write(hdr[:])
	if _, err := io.CopyN(f, zeros{}, pad-8); err != nil {
		t.Fatal(err)
	}
	return out
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// receiver is an eager_notification_url that records what it gets.
type receiver struct {
	*httptest.Server
	got    chan received
	status int
}

type received struct {
	body              []byte
	timestamp, sig    string
	contentType, path string
}

func newReceiver(t testing.TB, status int) *receiver {
	rc := &receiver{got: make(chan received, 16), status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.got <- received{b, r.Header.Get("X-Cld-Timestamp"), r.Header.Get("X-Cld-Signature"), r.Header.Get("Content-Type"), r.URL.Path}
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) next(t testing.TB, timeout time.Duration) received {
	t.Helper()
	select {
	case n := <-rc.got:
		return n
	case <-time.After(timeout):
		t.Fatal("no notification within", timeout)
	}
	return received{}
}

func get(t testing.TB, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// uris are the URI lines of a playlist.
func uris(playlist []byte) []string {
	var out []string
	for _, l := range bytes.Split(playlist, []byte("\n")) {
		if s := strings.TrimSpace(string(l)); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, s)
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
