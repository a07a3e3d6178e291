package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/playback"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/movie-query/internal/grants"
	"tenflix/services/movie-query/internal/httpapi"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
	"tenflix/services/movie-query/internal/projector"
	"tenflix/services/movie-query/internal/subscription"
	"tenflix/services/movie-query/internal/watching"
)

const signingKey = "0123456789abcdef0123456789abcdef"

// watchEnv is the service on a fresh database with a stand-in sidecar: it
// holds the signing key and answers the entitlement checks from entitled
// (userId -> answer body; a user missing there gets 500).
type watchEnv struct {
	h       http.Handler
	iss     *authntest.Issuer
	sidecar *sidecartest.Sidecar
}

// Entitlement answers as subscription gives them (its internal.go).
func entitledBody(user string) string {
	return `{"userId":"` + user + `","entitled":true,"subscription":{"id":"o1","userId":"` + user +
		`","status":"ACTIVE","endAt":"2999-01-01T00:00:00Z"}}`
}
func notEntitledBody(user string) string {
	return `{"userId":"` + user + `","entitled":false,"subscription":null}`
}

// lapsedBody is the answer that names an ended subscription (see
// subscription.Client.Entitlement).
func lapsedBody(user string) string {
	return `{"userId":"` + user + `","entitled":false,"subscription":{"id":"o0","userId":"` + user +
		`","status":"EXPIRED","endAt":"2001-01-01T00:00:00Z"}}`
}

func newWatchEnv(t *testing.T) *watchEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := mongotest.NewStore(t)
	iss := authntest.NewIssuer(t)
	sc := sidecartest.New(t, map[string]string{grants.SecretName: signingKey})
	sc.HandleInvoke(func(inv sidecartest.Invoked) (int, []byte) {
		user, ok := strings.CutPrefix(inv.Method, "internal/entitlements/")
		if inv.AppID != subscription.AppID || inv.Verb != "GET" || !ok {
			return http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"no route"}}`)
		}
		switch {
		case strings.HasPrefix(user, "subscriber"):
			return http.StatusOK, []byte(entitledBody(user))
		case strings.HasPrefix(user, "lapsed"):
			return http.StatusOK, []byte(lapsedBody(user))
		case strings.HasPrefix(user, "nobody"):
			return http.StatusOK, []byte(notEntitledBody(user))
		case strings.HasPrefix(user, "slow"):
			time.Sleep(time.Second)
			return http.StatusOK, []byte(entitledBody(user))
		case strings.HasPrefix(user, "liar"): // an answer about someone else
			return http.StatusOK, []byte(entitledBody("someone-else"))
		case strings.HasPrefix(user, "vague"): // no entitled field
			return http.StatusOK, []byte(`{"userId":"` + user + `"}`)
		}
		return http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	})
	dapr := sc.Client(t, "")
	app := watching.New(store, store, subscription.New(dapr, 300*time.Millisecond), grants.New(dapr, "secretstore"), watching.Options{})
	engine := httpserver.NewEngine(httpserver.Options{Log: log})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: iss.Verifier(t), Movies: store,
		Events: projector.New(store).Handle, Watching: app})
	env := &watchEnv{h: engine, iss: iss, sidecar: sc}
	env.seed(t)
	return env
}

func (e *watchEnv) seed(t *testing.T) {
	t.Helper()
	for _, ev := range []struct{ typ, data string }{
		{"tenflix.catalog.movie.created.v1", `{"id":"m1","name":"Heat","version":1}`},
		{"tenflix.catalog.movie.created.v1", `{"id":"m2","name":"Ronin","version":1}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v-url","movieId":"m1","title":"Trailer","lengthSeconds":100,
			"url":"https://cdn.example/heat.mp4","status":"ready","version":1}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v-hls","movieId":"m1","title":"Feature","lengthSeconds":600,
			"url":"v-hls/master.m3u8","playback":"hls","posterUrl":"v-hls/poster.jpg","status":"READY","version":3}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v-cld","movieId":"m1","title":"Extra","lengthSeconds":60,
			"url":"https://res.cloudinary.example/demo/video/upload/sp_hd/v1/x.m3u8","playback":"cloudinary","status":"READY","version":2}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v-trans","movieId":"m1","title":"Coming","playback":"hls",
			"status":"TRANSCODING","progress":40,"version":2}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v-failed","movieId":"m1","title":"Broken","playback":"hls",
			"status":"FAILED","failureReason":"not a decodable video","version":2}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v-m2","movieId":"m2","title":"Chase","lengthSeconds":300,
			"url":"https://cdn.example/ronin.mp4","status":"READY","version":1}`},
	} {
		if got := publish(t, e.h, ev.typ, ev.data); got != "SUCCESS" {
			t.Fatalf("publish %s = %s", ev.data, got)
		}
	}
}

// call sends a request as user (a token with role user; "admin:..." gets
// role admin too), with a JSON body when body is not empty.
func (e *watchEnv) call(t *testing.T, method, target, user, body string) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	roles := []string{"user"}
	if strings.HasPrefix(user, "admin") {
		roles = append(roles, "admin")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.iss.Token(t, user, roles...))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	e, _ := decode(t, body)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

type watchAnswer struct {
	Video struct {
		ID, Title, Status, PosterURL string
		LengthSeconds                int
		URL                          *string `json:"url"`
	} `json:"video"`
	PlaybackURL string  `json:"playbackUrl"`
	ExpiresAt   string  `json:"expiresAt"`
	ResumeAt    float64 `json:"resumeAt"`
}

func (e *watchEnv) watch(t *testing.T, user, movie, video string) watchAnswer {
	t.Helper()
	code, h, body := e.call(t, http.MethodGet, "/api/v1/movie-query/videos/"+movie+"/"+video, user, "")
	if code != http.StatusOK {
		t.Fatalf("watch %s/%s as %s = %d %s, want 200", movie, video, user, code, body)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", h.Get("Cache-Control"))
	}
	var a watchAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	if a.Video.URL != nil {
		t.Errorf("the video carries its url: %s", body)
	}
	return a
}

func TestWatchGivesAnEntitledUserAGrantForThatVideo(t *testing.T) {
	e := newWatchEnv(t)
	before := time.Now()
	a := e.watch(t, "subscriber-1", "m1", "v-hls")
	grant, ok := strings.CutPrefix(a.PlaybackURL, watching.HLSPrefix)
	grant, ok2 := strings.CutSuffix(grant, "/v-hls/master.m3u8")
	if !ok || !ok2 || strings.Contains(grant, "/") {
		t.Fatalf("playbackUrl = %q, want %s<grant>/v-hls/master.m3u8", a.PlaybackURL, watching.HLSPrefix)
	}
	signer, _ := playback.NewSigner([]byte(signingKey))
	if user, err := signer.Verify(grant, "v-hls", time.Now()); err != nil || user != "subscriber-1" {
		t.Fatalf("grant verifies as %q, %v; want subscriber-1", user, err)
	}
	if _, err := signer.Verify(grant, "v-url", time.Now()); err == nil {
		t.Fatal("the grant also opens another video")
	}
	// Default TTL: 4 h.
	exp, err := time.Parse(time.RFC3339, a.ExpiresAt)
	if err != nil || exp.Before(before.Add(4*time.Hour-time.Minute)) || exp.After(before.Add(4*time.Hour+time.Minute)) {
		t.Fatalf("expiresAt = %q, want about 4 h from now", a.ExpiresAt)
	}
	if _, err := signer.Verify(grant, "v-hls", before.Add(4*time.Hour+time.Minute)); err == nil {
		t.Fatal("the grant outlives its expiresAt")
	}
	if a.Video.ID != "v-hls" || a.Video.Status != "READY" || a.ResumeAt != 0 ||
		a.Video.PosterURL != watching.HLSPrefix+grant+"/v-hls/poster.jpg" {
		t.Fatalf("answer = %+v", a)
	}

	// By URL and by Cloudinary: the stored address, no expiry here.
	if a := e.watch(t, "subscriber-1", "m1", "v-url"); a.PlaybackURL != "https://cdn.example/heat.mp4" || a.ExpiresAt != "" {
		t.Fatalf("url video = %+v", a)
	}
	if a := e.watch(t, "subscriber-1", "m1", "v-cld"); !strings.HasPrefix(a.PlaybackURL, "https://res.cloudinary.example/") {
		t.Fatalf("cloudinary video = %+v", a)
	}
	// Admins watch without a subscription (the stand-in would answer 500).
	if a := e.watch(t, "admin-1", "m1", "v-hls"); !strings.HasPrefix(a.PlaybackURL, watching.HLSPrefix) {
		t.Fatalf("admin = %+v", a)
	}
}

func TestWatchRefusals(t *testing.T) {
	e := newWatchEnv(t)
	tests := []struct {
		name, user, path string
		status           int
		code             string
	}{
		{"no subscription", "nobody-1", "m1/v-url", 403, "not_subscribed"},
		{"ended subscription", "lapsed-1", "m1/v-url", 403, "subscription_expired"},
		{"subscription failing", "broken-1", "m1/v-url", 503, "unavailable"},
		{"subscription too slow", "slow-1", "m1/v-url", 503, "unavailable"},
		{"answer about another user", "liar-1", "m1/v-url", 503, "unavailable"},
		{"answer without entitled", "vague-1", "m1/v-url", 503, "unavailable"},
		{"transcoding", "subscriber-1", "m1/v-trans", 409, "video_not_ready"},
		{"failed", "subscriber-1", "m1/v-failed", 409, "video_not_ready"},
		{"not ready, even unsubscribed", "nobody-1", "m1/v-trans", 409, "video_not_ready"},
		{"unknown video", "subscriber-1", "m1/nope", 404, "not_found"},
		{"video of another movie", "subscriber-1", "m1/v-m2", 404, "not_found"},
		{"unknown movie", "subscriber-1", "m9/v-url", 404, "not_found"},
		{"NUL in the id", "subscriber-1", "m1/v%00url", 400, "invalid"},
		{"invalid UTF-8 in the id", "subscriber-1", "m1/v%ffurl", 400, "invalid"},
		{"no token", "", "m1/v-url", 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := e.call(t, http.MethodGet, "/api/v1/movie-query/videos/"+tt.path, tt.user, "")
			if code != tt.status || errorCode(t, body) != tt.code {
				t.Fatalf("GET %s as %s = %d %s, want %d %s", tt.path, tt.user, code, body, tt.status, tt.code)
			}
			if strings.Contains(string(body), "cdn.example") || strings.Contains(string(body), watching.HLSPrefix) {
				t.Fatalf("a refusal carries an address: %s", body)
			}
			if tt.status == 503 && h.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}

	// The signing key gone from the secret store: no grant, 503 (a URL
	// video needs no key).
	e2 := newWatchEnv(t)
	e2.sidecar.SetSecret(grants.SecretName, "")
	if code, _, body := e2.call(t, http.MethodGet, "/api/v1/movie-query/videos/m1/v-hls", "subscriber-1", ""); code != 503 {
		t.Fatalf("without the signing key: %d %s, want 503", code, body)
	}
	e2.watch(t, "subscriber-1", "m1", "v-url")
	e2.sidecar.SetSecret(grants.SecretName, signingKey)
	e2.watch(t, "subscriber-1", "m1", "v-hls") // read again once it is back
}

func TestMovieDetailShowsVideoStateNeverItsAddress(t *testing.T) {
	e := newWatchEnv(t)
	code, _, body := e.call(t, http.MethodGet, "/api/v1/movie-query/movies/m1", "nobody-1", "")
	if code != http.StatusOK {
		t.Fatalf("GET movie = %d %s", code, body)
	}
	if strings.Contains(string(body), `"url"`) || strings.Contains(string(body), "cdn.example") || strings.Contains(string(body), "master.m3u8") {
		t.Fatalf("the movie detail shows a video's address: %s", body)
	}
	var d struct {
		Videos []map[string]any `json:"videos"`
	}
	_ = json.Unmarshal(body, &d)
	byID := map[string]map[string]any{}
	for _, v := range d.Videos {
		byID[v["id"].(string)] = v
	}
	if v := byID["v-trans"]; v["status"] != "TRANSCODING" || v["progress"] != 40.0 {
		t.Errorf("transcoding video = %v", v)
	}
	if v := byID["v-failed"]; v["status"] != "FAILED" || v["failureReason"] != "not a decodable video" || v["progress"] != nil {
		t.Errorf("failed video = %v", v)
	}
	if v := byID["v-url"]; v["status"] != "READY" || v["progress"] != nil || v["failureReason"] != nil {
		t.Errorf("url video (stored as ready) = %v", v)
	}
	if v := byID["v-hls"]; v["posterUrl"] != "v-hls/poster.jpg" {
		t.Errorf("hls video = %v", v)
	}
}

func (e *watchEnv) saveProgress(t *testing.T, user, path, body string) (int, []byte) {
	t.Helper()
	code, _, resp := e.call(t, http.MethodPut, "/api/v1/movie-query/videos/"+path+"/progress", user, body)
	return code, resp
}

func TestProgressValidation(t *testing.T) {
	e := newWatchEnv(t)
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"zero", "m1/v-url", `{"positionSeconds":0}`, 200},
		{"fraction", "m1/v-url", `{"positionSeconds":12.5}`, 200},
		{"the length", "m1/v-url", `{"positionSeconds":100}`, 200},
		{"a player's clock past the whole-second length", "m1/v-url", `{"positionSeconds":100.4}`, 200},
		{"past the length", "m1/v-url", `{"positionSeconds":102}`, 400},
		{"negative", "m1/v-url", `{"positionSeconds":-1}`, 400},
		{"huge", "m1/v-url", `{"positionSeconds":1e308}`, 400},
		{"overflowing", "m1/v-url", `{"positionSeconds":1e400}`, 400},
		{"NaN as a string", "m1/v-url", `{"positionSeconds":"NaN"}`, 400},
		{"Infinity", "m1/v-url", `{"positionSeconds":Infinity}`, 400},
		{"a string", "m1/v-url", `{"positionSeconds":"12"}`, 400},
		{"a bool", "m1/v-url", `{"positionSeconds":true}`, 400},
		{"null", "m1/v-url", `{"positionSeconds":null}`, 400},
		{"missing", "m1/v-url", `{}`, 400},
		{"an array", "m1/v-url", `[12]`, 400},
		{"a userId", "m1/v-url", `{"positionSeconds":5,"userId":"someone-else"}`, 400},
		{"not JSON", "m1/v-url", `twelve`, 400},
		{"empty", "m1/v-url", ``, 400},
		{"unknown video", "m1/nope", `{"positionSeconds":5}`, 404},
		{"video of another movie", "m2/v-url", `{"positionSeconds":5}`, 404},
		{"not ready", "m1/v-trans", `{"positionSeconds":5}`, 409},
		{"NUL in the id", "m1/v%00url", `{"positionSeconds":5}`, 400},
		{"invalid UTF-8 in the id", "m1/%ff", `{"positionSeconds":5}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.saveProgress(t, "subscriber-1", tt.path, tt.body)
			if code != tt.status {
				t.Fatalf("PUT %s %s = %d %s, want %d", tt.path, tt.body, code, body, tt.status)
			}
			if code >= 400 && errorCode(t, body) == "" {
				t.Fatalf("no error envelope: %s", body)
			}
		})
	}
	// The position of a video without a known length is bounded too.
	if got := publish(t, e.h, "tenflix.catalog.video.updated.v1",
		`{"id":"v-nolen","movieId":"m1","title":"Unknown length","url":"https://cdn.example/x.mp4","status":"READY","version":1}`); got != "SUCCESS" {
		t.Fatal(got)
	}
	if code, body := e.saveProgress(t, "subscriber-1", "m1/v-nolen", `{"positionSeconds":5000}`); code != 200 {
		t.Fatalf("unknown length, 5000 s: %d %s", code, body)
	}
	if code, body := e.saveProgress(t, "subscriber-1", "m1/v-nolen", `{"positionSeconds":86401}`); code != 400 {
		t.Fatalf("unknown length, over a day: %d %s", code, body)
	}
	// A form body is not JSON.
	code, _, body := e.call(t, http.MethodPut, "/api/v1/movie-query/videos/m1/v-url/progress", "subscriber-1", "")
	if code != 400 {
		t.Fatalf("no body: %d %s", code, body)
	}
}

type inProgressPage struct {
	Items []struct {
		MovieID, MovieTitle, VideoID, VideoTitle, UpdatedAt string
		PositionSeconds                                     float64
		LengthSeconds                                       int
	} `json:"items"`
	Page, Size, Total int
}

func (e *watchEnv) continueWatching(t *testing.T, user, query string) inProgressPage {
	t.Helper()
	code, _, body := e.call(t, http.MethodGet, "/api/v1/movie-query/continue-watching"+query, user, "")
	if code != http.StatusOK {
		t.Fatalf("continue-watching as %s = %d %s", user, code, body)
	}
	var p inProgressPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(p inProgressPage) string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.VideoID)
	}
	return strings.Join(out, ",")
}

func TestProgressResumeAndContinueWatching(t *testing.T) {
	e := newWatchEnv(t)
	save := func(user, path string, pos float64) {
		t.Helper()
		if code, body := e.saveProgress(t, user, path, fmt.Sprintf(`{"positionSeconds":%v}`, pos)); code != 200 {
			t.Fatalf("save %s %v as %s = %d %s", path, pos, user, code, body)
		}
		time.Sleep(5 * time.Millisecond) // distinct updatedAt (milliseconds)
	}
	save("subscriber-1", "m1/v-url", 30)
	save("subscriber-1", "m2/v-m2", 60)
	save("subscriber-1", "m1/v-hls", 120)
	save("subscriber-2", "m1/v-url", 50) // another user's progress is theirs alone

	p := e.continueWatching(t, "subscriber-1", "")
	if ids(p) != "v-hls,v-m2,v-url" || p.Total != 3 || p.Page != 1 || p.Size != 20 {
		t.Fatalf("continue-watching = %+v, want v-hls,v-m2,v-url (newest first)", p)
	}
	it := p.Items[0]
	if it.MovieID != "m1" || it.MovieTitle != "Heat" || it.VideoTitle != "Feature" || it.PositionSeconds != 120 ||
		it.LengthSeconds != 600 || it.UpdatedAt == "" {
		t.Fatalf("first item = %+v", it)
	}
	if a := e.watch(t, "subscriber-1", "m1", "v-url"); a.ResumeAt != 30 {
		t.Fatalf("resumeAt = %v, want 30", a.ResumeAt)
	}
	if a := e.watch(t, "subscriber-1", "m1", "v-cld"); a.ResumeAt != 0 {
		t.Fatalf("resumeAt of an unwatched video = %v, want 0", a.ResumeAt)
	}
	// Seeking back is saved too (last write wins) and moves it to the top.
	save("subscriber-1", "m1/v-url", 10)
	if p := e.continueWatching(t, "subscriber-1", ""); ids(p) != "v-url,v-hls,v-m2" || p.Items[0].PositionSeconds != 10 {
		t.Fatalf("after seeking back = %+v", p)
	}
	// Pages.
	if p := e.continueWatching(t, "subscriber-1", "?size=2&page=2"); ids(p) != "v-m2" || p.Total != 3 {
		t.Fatalf("page 2 = %+v", p)
	}
	// Past 90 %: finished, out of the list, and starts over.
	save("subscriber-1", "m2/v-m2", 271)
	if p := e.continueWatching(t, "subscriber-1", ""); ids(p) != "v-url,v-hls" || p.Total != 2 {
		t.Fatalf("after finishing v-m2 = %+v", p)
	}
	if a := e.watch(t, "subscriber-1", "m2", "v-m2"); a.ResumeAt != 0 {
		t.Fatalf("resumeAt of a finished video = %v, want 0", a.ResumeAt)
	}
	// At 90 % exactly it is not past it.
	save("subscriber-1", "m2/v-m2", 270)
	if p := e.continueWatching(t, "subscriber-1", ""); ids(p) != "v-m2,v-url,v-hls" {
		t.Fatalf("at 90 %% = %+v", p)
	}
	// Isolation: the other user sees only theirs; a third sees nothing.
	if p := e.continueWatching(t, "subscriber-2", ""); ids(p) != "v-url" || p.Items[0].PositionSeconds != 50 {
		t.Fatalf("subscriber-2 = %+v", p)
	}
	if a := e.watch(t, "subscriber-2", "m1", "v-url"); a.ResumeAt != 50 {
		t.Fatalf("subscriber-2 resumeAt = %v", a.ResumeAt)
	}
	if p := e.continueWatching(t, "subscriber-3", ""); len(p.Items) != 0 || p.Total != 0 {
		t.Fatalf("subscriber-3 = %+v", p)
	}
	// Deleted videos and movies drop out.
	if got := publish(t, e.h, "tenflix.catalog.video.deleted.v1", `{"id":"v-hls","movieId":"m1","version":4}`); got != "SUCCESS" {
		t.Fatal(got)
	}
	if p := e.continueWatching(t, "subscriber-1", ""); ids(p) != "v-m2,v-url" || p.Total != 2 {
		t.Fatalf("after deleting v-hls = %+v", p)
	}
	if got := publish(t, e.h, "tenflix.catalog.movie.deleted.v1", `{"id":"m2","version":2}`); got != "SUCCESS" {
		t.Fatal(got)
	}
	if p := e.continueWatching(t, "subscriber-1", ""); ids(p) != "v-url" || p.Total != 1 {
		t.Fatalf("after deleting m2 = %+v", p)
	}
	// Bad pages.
	for _, q := range []string{"?page=0", "?size=101", "?page=x", "?size=%00"} {
		if code, _, body := e.call(t, http.MethodGet, "/api/v1/movie-query/continue-watching"+q, "subscriber-1", ""); code != 400 {
			t.Errorf("continue-watching%s = %d %s, want 400", q, code, body)
		}
	}
	if code, _, _ := e.call(t, http.MethodGet, "/api/v1/movie-query/continue-watching", "", ""); code != 401 {
		t.Errorf("continue-watching without a token = %d, want 401", code)
	}
}
