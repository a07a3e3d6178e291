package cloudinary

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudinary/cloudinary-go/v2/api/uploader"
	"github.com/cloudinary/cloudinary-go/v2/config"
)

const (
	key    = "123456789012345"
	secret = "media-test-secret"
	notify = "http://127.0.0.1:8080/api/v1/media/notifications/cloudinary"
)

// fake is the few Upload API behaviours the adapter relies on: it records
// every request (fields, chunk headers, bytes of the file part) and answers
// a non-final chunk with {"done":false}, the last with an upload result, or
// a refusal when refuse is set. The emulator's own tests
// (tools/cloudinary-emulator) run the SDK against the full fake.
type fake struct {
	*httptest.Server
	mu       sync.Mutex
	requests []fakeRequest
	refuse   string
}

type fakeRequest struct {
	path          string
	fields        map[string]string
	rng, uploadID string
	bytes         int64
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := fakeRequest{path: r.URL.Path, fields: map[string]string{}, rng: r.Header.Get("Content-Range"), uploadID: r.Header.Get("X-Unique-Upload-Id")}
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if p.FormName() == "file" {
			q.bytes, _ = io.Copy(io.Discard, p)
			continue
		}
		b, _ := io.ReadAll(p)
		q.fields[p.FormName()] = string(b)
	}
	f.mu.Lock()
	f.requests = append(f.requests, q)
	refuse := f.refuse
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if refuse != "" {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": refuse}})
		return
	}
	if q.rng != "" && !strings.HasSuffix(q.rng, "/"+strconv.FormatInt(endOf(q.rng)+1, 10)) {
		json.NewEncoder(w).Encode(map[string]any{"done": false, "public_id": q.fields["public_id"]})
		return
	}
	pid := q.fields["public_id"]
	eagerURL := f.URL + "/demo/video/authenticated/s--abcdefgh--/sp_auto/v1700000000/" + pid + ".m3u8"
	json.NewEncoder(w).Encode(map[string]any{
		"asset_id": "a1", "public_id": pid, "version": 1700000000, "resource_type": "video", "type": "authenticated",
		"eager": []map[string]any{{"transformation": q.fields["eager"], "status": "processing", "batch_id": "b1", "url": eagerURL, "secure_url": eagerURL}},
	})
}

// endOf is the last byte of a Content-Range "bytes a-b/n".
func endOf(rng string) int64 {
	dash, slash := strings.IndexByte(rng, '-'), strings.IndexByte(rng, '/')
	n, _ := strconv.ParseInt(rng[dash+1:slash], 10, 64)
	return n
}

func newClient(t *testing.T, prefix string, opts ...Option) *Client {
	t.Helper()
	c, err := New("cloudinary://"+key+":"+secret+"@demo?upload_prefix="+prefix, notify, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sparseFile is a file of size bytes (the fake does not decode it).
func sparseFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "v.mp4")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestUploadChunksALargeFile(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f.URL)
	const size = 45_000_000 // three 20 MB chunks
	up, err := c.Upload(context.Background(), "vid-1", sparseFile(t, size))
	if err != nil {
		t.Fatal(err)
	}
	if up.PublicID != "tenflix/videos/vid-1" || up.Version != 1700000000 || up.BatchID != "b1" || up.AssetID != "a1" ||
		!strings.HasSuffix(up.EagerURL, "/sp_auto/v1700000000/tenflix/videos/vid-1.m3u8") {
		t.Errorf("%+v", up)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 3 {
		t.Fatalf("%d requests, want 3 chunks", len(f.requests))
	}
	var total int64
	for i, q := range f.requests {
		total += q.bytes
		if q.uploadID == "" || q.uploadID != f.requests[0].uploadID || q.rng == "" {
			t.Errorf("chunk %d: id %q range %q", i, q.uploadID, q.rng)
		}
		want := map[string]string{
			"public_id": "tenflix/videos/vid-1", "resource_type": "video", "type": "authenticated",
			"eager": "sp_auto/m3u8", "eager_async": "true", "eager_notification_url": notify,
			"overwrite": "true", "api_key": key,
		}
		for k, v := range want {
			if q.fields[k] != v {
				t.Errorf("chunk %d: %s=%q, want %q", i, k, q.fields[k], v)
			}
		}
		if q.fields["signature"] == "" || q.fields["timestamp"] == "" || q.path != "/v1_1/demo/auto/upload" {
			t.Errorf("chunk %d: %s %v", i, q.path, q.fields)
		}
	}
	if total != size || f.requests[2].rng != "bytes 40000000-44999999/45000000" {
		t.Errorf("total %d, last range %q", total, f.requests[2].rng)
	}
}

func TestUploadSmallFileInOneRequest(t *testing.T) {
	f := newFake(t)
	if _, err := newClient(t, f.URL, WithProfile("hd")).Upload(context.Background(), "v2", sparseFile(t, 1000)); err != nil {
		t.Fatal(err)
	}
	if len(f.requests) != 1 || f.requests[0].rng != "" || f.requests[0].bytes != 1000 || f.requests[0].fields["eager"] != "sp_hd/m3u8" {
		t.Errorf("%+v", f.requests)
	}
}

func TestUploadErrorsAreReturned(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f.URL)
	f.refuse = "Invalid Signature abc. String to sign - 'timestamp=1'."
	_, err := c.Upload(context.Background(), "v3", sparseFile(t, 10))
	var ae *APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "Invalid Signature") {
		t.Errorf("refusal: %v", err)
	}
	if _, err := c.Upload(context.Background(), "../x", sparseFile(t, 10)); !errors.Is(err, ErrInvalidVideoID) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := c.Upload(context.Background(), "v4", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file uploaded")
	}
	if _, err := c.Upload(context.Background(), "v4", t.TempDir()); err == nil {
		t.Error("directory uploaded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.refuse = ""
	if _, err := c.Upload(ctx, "v5", sparseFile(t, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func sign(body []byte, ts string, sum func([]byte) []byte) string {
	return hex.EncodeToString(sum(append(append(append([]byte{}, body...), ts...), secret...)))
}

func sha1Sum(b []byte) []byte   { s := sha1.Sum(b); return s[:] }
func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func TestVerifyNotification(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:8091")
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"notification_type":"eager","public_id":"tenflix/videos/x"}`)
	ts := strconv.FormatInt(now.Unix()-60, 10)
	good := sign(body, ts, sha1Sum)
	// The SDK's own check agrees (it reads the clock itself: use a fresh timestamp).
	fresh := strconv.FormatInt(time.Now().Unix(), 10)
	sdk := uploader.API{Config: config.Configuration{Cloud: config.Cloud{APISecret: secret}}}
	freshTS, _ := strconv.ParseInt(fresh, 10, 64)
	if !sdk.VerifyNotificationSignature(string(body), freshTS, sign(body, fresh, sha1Sum), 0) {
		t.Fatal("the SDK rejects our notion of the signature")
	}
	for name, tc := range map[string]struct {
		body      []byte
		ts, sig   string
		now       time.Time
		wantError error
	}{
		"sha1":            {body, ts, good, now, nil},
		"sha256":          {body, ts, sign(body, ts, sha256Sum), now, nil},
		"upper hex":       {body, ts, strings.ToUpper(good), now, nil},
		"tampered body":   {append([]byte(" "), body...), ts, good, now, ErrBadSignature},
		"other ts":        {body, strconv.FormatInt(now.Unix()-61, 10), good, now, ErrBadSignature},
		"wrong secret":    {body, ts, hex.EncodeToString(sha1Sum([]byte(string(body) + ts + "nope"))), now, ErrBadSignature},
		"empty sig":       {body, ts, "", now, ErrBadSignature},
		"not hex":         {body, ts, "zz" + good[2:], now, ErrBadSignature},
		"short":           {body, ts, good[:38], now, ErrBadSignature},
		"bad ts":          {body, "17e8", good, now, ErrBadSignature},
		"padded ts":       {body, "0" + ts, sign(body, "0"+ts, sha1Sum), now, ErrBadSignature},
		"stale":           {body, ts, good, now.Add(2*time.Hour + time.Minute), ErrStaleNotification},
		"from the future": {body, ts, good, now.Add(-3 * time.Hour), ErrStaleNotification},
	} {
		err := c.VerifyNotification(tc.body, tc.ts, tc.sig, tc.now)
		if tc.wantError == nil && err != nil || tc.wantError != nil && !errors.Is(err, tc.wantError) {
			t.Errorf("%s: %v, want %v", name, err, tc.wantError)
		}
	}
	short := newClient(t, "http://127.0.0.1:8091", WithNotificationWindow(time.Minute))
	if err := short.VerifyNotification(body, ts, good, now.Add(time.Minute)); !errors.Is(err, ErrStaleNotification) {
		t.Errorf("a 1 min window: %v", err)
	}
}

func TestParseEagerNotification(t *testing.T) {
	ok := `{"notification_type":"eager","public_id":"tenflix/videos/v9","version":17,"batch_id":"b",
		"eager":[{"transformation":"sp_auto/m3u8","status":"complete","format":"m3u8","url":"http://x/a.m3u8","secure_url":"https://x/a.m3u8"}]}`
	e, err := ParseEagerNotification([]byte(ok))
	if err != nil || !e.Ready || e.VideoID != "v9" || e.Version != 17 || e.BatchID != "b" || len(e.URLs) != 1 || e.URLs[0] != "https://x/a.m3u8" {
		t.Errorf("complete: %+v %v", e, err)
	}
	for name, tc := range map[string]struct {
		body, reason string
	}{
		"failed":     {`{"notification_type":"eager","public_id":"tenflix/videos/v9","eager":[{"transformation":"sp_auto/m3u8","status":"failed","reason":"Video is too long"}]}`, "Video is too long"},
		"no status":  {`{"notification_type":"eager","public_id":"tenflix/videos/v9","eager":[{"transformation":"sp_auto/m3u8"}]}`, "has no URL"},
		"processing": {`{"notification_type":"eager","public_id":"tenflix/videos/v9","eager":[{"transformation":"sp_auto/m3u8","status":"processing","url":"http://x/a.m3u8"}]}`, "still processing"},
		"empty":      {`{"notification_type":"eager","public_id":"tenflix/videos/v9","eager":[]}`, "no eager"},
		"error":      {`{"notification_type":"eager","public_id":"tenflix/videos/v9","error":{"message":"boom"}}`, "boom"},
		"no hls":     {`{"notification_type":"eager","public_id":"tenflix/videos/v9","eager":[{"status":"complete","url":"http://x/a.mp4"}]}`, "no HLS"},
	} {
		e, err := ParseEagerNotification([]byte(tc.body))
		if err != nil || e.Ready || !strings.Contains(e.Reason, tc.reason) || e.VideoID != "v9" {
			t.Errorf("%s: %+v %v", name, e, err)
		}
	}
	for name, tc := range map[string]struct {
		body string
		want error
	}{
		"upload":  {`{"notification_type":"upload","public_id":"tenflix/videos/v9"}`, ErrNotEager},
		"foreign": {`{"notification_type":"eager","public_id":"other/v9"}`, ErrNotOurs},
		"nested":  {`{"notification_type":"eager","public_id":"tenflix/videos/a/b"}`, ErrNotOurs},
	} {
		if _, err := ParseEagerNotification([]byte(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{"", "{", "\x00", "\xff\xfe", `{"notification_type":"eager","public_id":"tenflix/videos/\u0000"}`} {
		if _, err := ParseEagerNotification([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPlaybackURL(t *testing.T) {
	sig := func(toSign string) string {
		s := sha1.Sum([]byte(toSign + secret))
		return "s--" + base64.RawURLEncoding.EncodeToString(s[:])[:8] + "--"
	}
	local := newClient(t, "http://127.0.0.1:8091")
	got, err := local.PlaybackURL("tenflix/videos/v9", 17)
	want := "http://127.0.0.1:8091/demo/video/authenticated/" + sig("sp_auto/tenflix/videos/v9.m3u8") + "/sp_auto/v17/tenflix/videos/v9.m3u8"
	if err != nil || got != want {
		t.Errorf("local:\n%s %v\nwant\n%s", got, err, want)
	}
	real, err := New("cloudinary://"+key+":"+secret+"@demo", notify, WithProfile("hd"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = real.PlaybackURL("tenflix/videos/v9", 17)
	if want := "https://res.cloudinary.com/demo/video/authenticated/" + sig("sp_hd/tenflix/videos/v9.m3u8") + "/sp_hd/v17/tenflix/videos/v9.m3u8"; got != want {
		t.Errorf("cloudinary:\n%s\nwant\n%s", got, want)
	}
	for _, tc := range []struct {
		pid string
		v   int
	}{{"other/v9", 1}, {"tenflix/videos/v9", 0}, {"tenflix/videos/", 1}} {
		if _, err := local.PlaybackURL(tc.pid, tc.v); err == nil {
			t.Errorf("%v accepted", tc)
		}
	}
}

func TestNew(t *testing.T) {
	for name, tc := range map[string]struct {
		url, notify string
		opts        []Option
	}{
		"empty":       {"", notify, nil},
		"no secret":   {"cloudinary://key@demo", notify, nil},
		"no cloud":    {"cloudinary://k:s@", notify, nil},
		"algorithm":   {"cloudinary://k:s@demo?signature_algorithm=md5", notify, nil},
		"notify":      {"cloudinary://k:s@demo", "/api/v1/media/notifications/cloudinary", nil},
		"prefix":      {"cloudinary://k:s@demo?upload_prefix=ftp://x", notify, nil},
		"prefix path": {"cloudinary://k:s@demo?upload_prefix=http://x/api", notify, nil},
		"profile":     {"cloudinary://k:s@demo", notify, []Option{WithProfile("HD; rm")}},
		"window":      {"cloudinary://k:s@demo", notify, []Option{WithNotificationWindow(0)}},
	} {
		if _, err := New(tc.url, tc.notify, tc.opts...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := New("cloudinary://k:s@demo?upload_prefix=http://127.0.0.1:8091", notify, WithHTTPClient(&http.Client{Timeout: time.Second}))
	if err != nil || c.Profile() != DefaultProfile || c.Transformation() != "sp_auto/m3u8" || c.sdk.Upload.Client.Timeout != time.Second {
		t.Errorf("%v %+v", err, c)
	}
}
