package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBrowsingNeedsAValidToken(t *testing.T) {
	h, iss := newEngine(t)
	get := func(path string, headers ...string) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	forged := []string{"X-User-Id", "viewer-1", "X-User-Roles", "user,admin"}
	expired := iss.Claims("viewer-1", "user")
	expired["exp"] = int64(1)
	for _, path := range []string{"/api/v1/movie-query/movies", "/api/v1/movie-query/movies/m1"} {
		for name, headers := range map[string][]string{
			"forged headers, no token": forged,
			"malformed token":          append([]string{"Authorization", "Bearer x.y.z"}, forged...),
			"expired token":            {"Authorization", "Bearer " + iss.RSAKey().Token(t, expired)},
		} {
			if code := get(path, headers...); code != http.StatusUnauthorized {
				t.Errorf("GET %s, %s: %d, want 401", path, name, code)
			}
		}
	}
	// Any account may browse; no role is needed.
	for _, roles := range [][]string{{"user"}, nil} {
		if code := get("/api/v1/movie-query/movies", "Authorization", "Bearer "+iss.Token(t, "viewer-1", roles...)); code != http.StatusOK {
			t.Errorf("GET movies with roles %v: %d, want 200", roles, code)
		}
	}
	if code := get("/api/v1/movie-query/movies/none", "Authorization", "Bearer "+iss.Token(t, "viewer-1")); code != http.StatusNotFound {
		t.Errorf("GET an unknown movie: %d, want 404", code)
	}
}

// The catalog events come from movie-query's own sidecar, with no user
// behind them: the app token (off in these tests) is their only check.
func TestEventsNeedNoUserToken(t *testing.T) {
	h, _ := newEngine(t)
	if got := publish(t, h, "tenflix.catalog.movie.created.v1", `{"id":"m9","name":"Heat","version":1}`); got != "SUCCESS" {
		t.Fatalf("publish = %s, want SUCCESS", got)
	}
}
