package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/authn/authntest"
	"tenflix/platform/httpserver"
	"tenflix/platform/pgdb/pgtest"
	"tenflix/platform/sidecar"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/httpapi"
	"tenflix/services/movie-command/internal/postgres"
	"tenflix/services/movie-command/internal/postgres/postgrestest"
	"tenflix/services/movie-command/internal/statestore"
	"tenflix/services/movie-command/migrations"
)

const stateStore = "catalog-state"

// newServer is movie-command's engine over a fresh, migrated database,
// called by an admin (the bearer token the gateway forwards). The sidecar is
// a stand-in for daprd's state API doing what state.postgresql v1
// does on the same table (xmin as the ETag, first-write as insert-only), so
// that writes meet the real database, its jsonb and its unique index.
func newServer(tb testing.TB) http.Handler {
	tb.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(tb, "movie_command_test")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, postgrestest.DaprStateTable); err != nil {
		tb.Fatal(err)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		tb.Fatal(err)
	}
	dapr := httptest.NewServer(stateAPI(pool))
	tb.Cleanup(dapr.Close)
	port := dapr.URL[strings.LastIndexByte(dapr.URL, ':')+1:]
	a := app.New(statestore.New(sidecar.New(port, ""), stateStore), db)
	iss := authntest.NewIssuer(tb)
	h := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler)})
	httpapi.Routes(h, httpapi.Deps{Log: slog.New(slog.DiscardHandler), Verifier: iss.Verifier(tb), App: a})
	admin := "Bearer " + iss.Token(tb, "admin-1", "user", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", admin)
		h.ServeHTTP(w, r)
	})
}

func stateAPI(pool *pgxpool.Pool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/state/"+stateStore+"/{key}", func(w http.ResponseWriter, r *http.Request) {
		var value, etag string
		err := pool.QueryRow(r.Context(), `SELECT value::text, xmin::text FROM catalog_state WHERE key = $1`,
			r.PathValue("key")).Scan(&value, &etag)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			w.WriteHeader(http.StatusNoContent)
		case err != nil:
			daprError(w, http.StatusInternalServerError, err.Error())
		default:
			w.Header().Set("ETag", etag)
			_, _ = w.Write([]byte(value))
		}
	})
	mux.HandleFunc("POST /v1.0/state/"+stateStore+"/transaction", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Operations []sidecar.Op }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			daprError(w, http.StatusBadRequest, err.Error())
			return
		}
		err := pgx.BeginFunc(r.Context(), pool, func(tx pgx.Tx) error {
			for _, op := range req.Operations {
				if op.Operation != "upsert" {
					return errors.New("unsupported operation " + op.Operation)
				}
				value, err := json.Marshal(op.Request.Value)
				if err != nil {
					return err
				}
				q := `INSERT INTO catalog_state (key, value, isbinary) VALUES ($1, $2, false) ON CONFLICT (key) DO NOTHING`
				args := []any{op.Request.Key, value}
				if op.Request.ETag != "" {
					q = `UPDATE catalog_state SET value = $2, updatedate = now() WHERE key = $1 AND xmin::text = $3`
					args = append(args, op.Request.ETag)
				}
				tag, err := tx.Exec(r.Context(), q, args...)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					return errors.New("possible etag mismatch. error from state store: no item was updated")
				}
			}
			return nil
		})
		if err != nil {
			daprError(w, http.StatusInternalServerError, "ERR_STATE_TRANSACTION: "+err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func daprError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": "ERR_STATE_TRANSACTION", "message": msg})
}

// send serves one admin request and checks the answer: never a 5xx, every
// error in the envelope. It returns the status and the JSON answer.
func send(tb testing.TB, h http.Handler, method, path string, body []byte) (int, map[string]any) {
	tb.Helper()
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL = &url.URL{Path: path}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		tb.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil && rec.Code != http.StatusNoContent {
		tb.Fatalf("%s %s: %d not JSON: %s", method, path, rec.Code, rec.Body)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if _ = json.Unmarshal(rec.Body.Bytes(), &e); rec.Code >= 300 && (e.Error.Code == "" || e.Error.Message == "") {
		tb.Fatalf("%s %s: %d is not an envelope: %s", method, path, rec.Code, rec.Body)
	}
	return rec.Code, m
}

// create makes an entry and returns its id.
func create(tb testing.TB, h http.Handler, plural, body string) string {
	tb.Helper()
	code, m := send(tb, h, http.MethodPost, httpapi.Prefix+"/"+plural, []byte(body))
	if code != http.StatusCreated {
		tb.Fatalf("create %s: %d %v", plural, code, m)
	}
	return m["id"].(string)
}

// Every catalog write (create and update of each kind) with a fuzzed JSON
// body, against the real database.
func FuzzCatalogWrites(f *testing.F) {
	h := newServer(f)
	ids := map[string]string{}
	for _, plural := range []string{"actors", "creators", "categories", "tags"} {
		ids[plural] = create(f, h, plural, `{"name":"Existing `+plural+`"}`)
	}
	ids["movies"] = create(f, h, "movies", `{"name":"Heat","type":"movie","releaseDate":"1995-12-15","actors":["Existing actors"]}`)
	ids["videos"] = create(f, h, "videos", `{"movieId":"`+ids["movies"]+`","title":"Trailer","url":"https://cdn.example/t.m3u8"}`)
	kinds := []string{"movies", "videos", "actors", "creators", "categories", "tags"}

	movie := `{"name":"Collateral","type":"movie","synopsis":"LA","mpaRating":"R","releaseDate":"2004-08-06","rating":7.5,
		"image":"https://img.example/c.jpg","actors":["Existing actors",{"id":"` + ids["actors"] + `"}],"categories":[{"name":"Existing categories"}],"notify":true}`
	for _, s := range []struct {
		kind uint8
		body string
	}{
		{0, movie},
		{0, `{"name":"\u0000","type":"movie","releaseDate":"2000-01-01"}`},
		{0, "{\"name\":\"\xff\",\"type\":\"movie\",\"releaseDate\":\"2000-01-01\"}"},
		{0, `{"name":"X","type":"movie","releaseDate":"2000-01-01","synopsis":"\ud800"}`},
		{0, `{"name":"X","type":"movie","releaseDate":"2000-01-01","actors":[{"name":"a\u0000"}]}`},
		{0, `{"name":"X","type":"movie","releaseDate":"2000-01-01","tags":["\u0000"]}`},
		{0, `{"name":"X","type":"movie","releaseDate":"2000-01-01","rating":1e999}`},
		{0, `{"name":"X","type":"movie","releaseDate":"2000-01-01","rating":"8"}`},
		{0, `{"name":"X","type":"movie","releaseDate":"99999-01-01"}`},
		{0, `{"name":"X","name":"Y","type":"series","releaseDate":"2000-02-30"}`},
		{0, `{"name":"` + strings.Repeat("x", 10000) + `","type":"movie","releaseDate":"2000-01-01"}`},
		{0, `{"actors":` + strings.Repeat("[", 5000) + `}`},
		{1, `{"movieId":"` + ids["movies"] + `","title":"T\u0000","url":"https://cdn.example/v.m3u8","lengthSeconds":60}`},
		{1, `{"movieId":"` + ids["movies"] + `","title":"T","url":"https://cdn.example/v.m3u8","lengthSeconds":-1}`},
		{1, `{"movieId":"\u0000","title":"T","url":"javascript:alert(1)","lengthSeconds":99999999999999999999}`},
		{2, `{"name":"Keanu Reeves"}`},
		{2, `{"name":"existing ACTORS"}`},
		{3, `{"name":"\u0000"}`},
		{4, "{\"name\":\"\xc0\xaf\"}"},
		{5, `{"name":null}`}, {5, `{"name":["x"]}`}, {5, `[]`}, {5, `null`}, {5, ``}, {5, `{`},
	} {
		f.Add(s.kind, false, []byte(s.body))
		f.Add(s.kind, true, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, kind uint8, update bool, body []byte) {
		plural := kinds[int(kind)%len(kinds)]
		if update {
			send(t, h, http.MethodPut, httpapi.Prefix+"/"+plural+"/"+ids[plural], body)
		} else {
			send(t, h, http.MethodPost, httpapi.Prefix+"/"+plural, body)
		}
	})
}
