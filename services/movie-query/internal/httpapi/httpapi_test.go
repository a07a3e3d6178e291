package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-query/internal/httpapi"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
	"tenflix/services/movie-query/internal/projector"
)

// newServer is the service's engine on a fresh database, called by a
// signed-in user: requests without an Authorization header get a valid user
// token, as the gateway forwards it (auth_test.go checks the tokens).
func newServer(t testing.TB) http.Handler {
	t.Helper()
	engine, iss := newEngine(t)
	user := "Bearer " + iss.Token(t, "viewer-1", "user")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", user)
		}
		engine.ServeHTTP(w, r)
	})
}

// newEngine is the service's engine on a fresh database, verifying the
// tokens of a test issuer.
func newEngine(t testing.TB) (http.Handler, *authntest.Issuer) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := mongotest.NewStore(t)
	iss := authntest.NewIssuer(t)
	engine := httpserver.NewEngine(httpserver.Options{Log: log})
	httpapi.Routes(engine, httpapi.Deps{Log: log, Verifier: iss.Verifier(t), Movies: store, Events: projector.New(store).Handle})
	return engine, iss
}

func do(t testing.TB, h http.Handler, method, target, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/cloudevents+json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response %s is not a JSON object: %v", b, err)
	}
	return v
}

// publish delivers a catalog event as the sidecar would and returns the
// subscriber's status.
func publish(t testing.TB, h http.Handler, typ, data string) string {
	t.Helper()
	body := `{"specversion":"1.0","id":"e1","source":"movie-command","type":"` + typ +
		`","topic":"catalog","pubsubname":"pubsub","datacontenttype":"application/json","data":` + data + `}`
	code, resp := do(t, h, http.MethodPost, "/events/catalog", body)
	if code != http.StatusOK {
		t.Fatalf("POST /events/catalog = %d %s, want 200", code, resp)
	}
	return decode(t, resp)["status"].(string)
}

func seed(t testing.TB, h http.Handler) {
	t.Helper()
	events := []struct{ typ, data string }{
		{"tenflix.catalog.movie.created.v1", `{"id":"m1","name":"Heat","type":"movie","synopsis":"LA crime saga",
			"mpaRating":"R","releaseDate":"1995-12-15","rating":8.3,"image":"https://img.example/heat.jpg",
			"actors":[{"id":"a1","name":"Al Pacino","version":1}],"categories":[{"id":"c1","name":"Crime","version":1}],
			"notify":true,"version":1}`},
		{"tenflix.catalog.movie.created.v1", `{"id":"m2","name":"Collateral","releaseDate":"2004-08-06","rating":7.5,"version":1}`},
		{"tenflix.catalog.video.created.v1", `{"id":"v1","movieId":"m1","title":"Trailer","synopsis":"2 min",
			"lengthSeconds":120,"url":"https://cdn.example/v1.mp4","status":"ready","version":1}`},
	}
	for _, ev := range events {
		if got := publish(t, h, ev.typ, ev.data); got != "SUCCESS" {
			t.Fatalf("publish %s = %s, want SUCCESS", ev.typ, got)
		}
	}
}

func TestListMovies(t *testing.T) {
	h := newServer(t)
	seed(t, h)

	code, body := do(t, h, http.MethodGet, "/api/v1/movie-query/movies?size=1&category=crime", "")
	if code != http.StatusOK {
		t.Fatalf("status = %d %s", code, body)
	}
	want := `{"items":[{"id":"m1","name":"Heat","type":"movie","synopsis":"LA crime saga","mpaRating":"R",
		"releaseDate":"1995-12-15","rating":8.3,"image":"https://img.example/heat.jpg",
		"actors":[{"id":"a1","name":"Al Pacino"}],"creators":[],"categories":[{"id":"c1","name":"Crime"}],"tags":[],
		"notify":true}],"page":1,"size":1,"total":1}`
	assertJSON(t, body, want)

	code, body = do(t, h, http.MethodGet, "/api/v1/movie-query/movies?sort=name&page=2&size=1", "")
	if code != http.StatusOK {
		t.Fatalf("status = %d %s", code, body)
	}
	got := decode(t, body)
	items := got["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != "m1" || got["total"] != 2.0 || got["page"] != 2.0 {
		t.Fatalf("page 2 by name = %s", body)
	}

	code, body = do(t, h, http.MethodGet, "/api/v1/movie-query/movies?q=nothing", "")
	if code != http.StatusOK {
		t.Fatalf("status = %d %s", code, body)
	}
	assertJSON(t, body, `{"items":[],"page":1,"size":20,"total":0}`)
}

func TestListMoviesRejectsBadParams(t *testing.T) {
	h := newServer(t)
	tests := []struct{ query, wantInMessage string }{
		{"page=0", "page"},
		{"page=-1", "page"},
		{"page=abc", "page"},
		{"page=1.5", "page"},
		{"page=99999999999999999999", "page"},
		{"size=0", "size"},
		{"size=101", "size"},
		{"size=ten", "size"},
		{"year=99", "year"},
		{"year=19999", "year"},
		{"year=0999", "year"},
		{"year=abcd", "year"},
		{"minRating=11", "minRating"},
		{"minRating=-1", "minRating"},
		{"minRating=abc", "minRating"},
		{"minRating=NaN", "minRating"},
		{"minRating=Inf", "minRating"},
		{"sort=oldest", "sort"},
		{"q=" + strings.Repeat("x", 201), "q"},
		{"actor=" + strings.Repeat("x", 201), "actor"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, body := do(t, h, http.MethodGet, "/api/v1/movie-query/movies?"+tt.query, "")
			if code != http.StatusBadRequest {
				t.Fatalf("status = %d %s, want 400", code, body)
			}
			e, _ := decode(t, body)["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if e["code"] != "invalid" || !strings.Contains(msg, tt.wantInMessage) {
				t.Fatalf("body = %s, want an invalid error about %s", body, tt.wantInMessage)
			}
		})
	}
}

func TestGetMovie(t *testing.T) {
	h := newServer(t)
	seed(t, h)

	code, body := do(t, h, http.MethodGet, "/api/v1/movie-query/movies/m1", "")
	if code != http.StatusOK {
		t.Fatalf("status = %d %s", code, body)
	}
	assertJSON(t, body, `{"id":"m1","name":"Heat","type":"movie","synopsis":"LA crime saga","mpaRating":"R",
		"releaseDate":"1995-12-15","rating":8.3,"image":"https://img.example/heat.jpg",
		"actors":[{"id":"a1","name":"Al Pacino"}],"creators":[],"categories":[{"id":"c1","name":"Crime"}],"tags":[],
		"notify":true,"videos":[{"id":"v1","title":"Trailer","synopsis":"2 min","lengthSeconds":120,
		"status":"READY"}]}`)

	code, body = do(t, h, http.MethodGet, "/api/v1/movie-query/movies/m2", "")
	if code != http.StatusOK || !reflect.DeepEqual(decode(t, body)["videos"], []any{}) {
		t.Fatalf("movie without videos = %d %s, want videos []", code, body)
	}

	for _, id := range []string{"nope", url.PathEscape("a b/c")} {
		code, body = do(t, h, http.MethodGet, "/api/v1/movie-query/movies/"+id, "")
		if code != http.StatusNotFound || decode(t, body)["error"].(map[string]any)["code"] != "not_found" {
			t.Fatalf("GET unknown %s = %d %s, want 404 not_found", id, code, body)
		}
	}

	if got := publish(t, h, "tenflix.catalog.movie.deleted.v1", `{"id":"m1","version":2}`); got != "SUCCESS" {
		t.Fatalf("delete = %s", got)
	}
	code, body = do(t, h, http.MethodGet, "/api/v1/movie-query/movies/m1", "")
	if code != http.StatusNotFound {
		t.Fatalf("GET deleted movie = %d %s, want 404", code, body)
	}
}

func TestCatalogEvents(t *testing.T) {
	h := newServer(t)
	tests := []struct{ name, body, want string }{
		{"valid event", `{"id":"e1","type":"tenflix.catalog.tag.created.v1","data":{"kind":"tag","id":"t1","name":"noir","version":"1"}}`, "SUCCESS"},
		{"redelivered event", `{"id":"e1","type":"tenflix.catalog.tag.created.v1","data":{"kind":"tag","id":"t1","name":"noir","version":"1"}}`, "SUCCESS"},
		{"malformed envelope", `{"id":`, "DROP"},
		{"not an object", `[]`, "DROP"},
		{"unknown type", `{"id":"e2","type":"tenflix.billing.invoice.created.v1","data":{"id":"i1","version":1}}`, "DROP"},
		{"malformed data", `{"id":"e3","type":"tenflix.catalog.movie.created.v1","data":"{not json"}`, "DROP"},
		{"missing data", `{"id":"e4","type":"tenflix.catalog.movie.created.v1"}`, "DROP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, h, http.MethodPost, "/events/catalog", tt.body)
			if code != http.StatusOK {
				t.Fatalf("status = %d %s, want 200", code, body)
			}
			assertJSON(t, body, `{"status":"`+tt.want+`"}`)
		})
	}
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("response %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body = %s\nwant   %s", got, want)
	}
}
