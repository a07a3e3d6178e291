package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// The apps' own ports (dapr/dapr.yaml): only their sidecars are meant to
// call them, but anything on the host can try.
var appURLs = map[string]string{
	"movie-command": "http://127.0.0.1:7101",
	"movie-query":   "http://127.0.0.1:7102",
	"identity":      "http://127.0.0.1:7103",
}

// gatewaySidecar is the gateway's daprd, allowed to invoke every service.
const gatewaySidecar = "http://127.0.0.1:3500"

// forgedAdmin is what a caller that skips the gateway would claim: the real
// admin's id and the admin role.
func forgedAdmin(t testing.TB) []string {
	t.Helper()
	r := call(t, http.MethodGet, gateway+"/api/v1/auth/me", nil, "Authorization", "Bearer "+stack.adminToken)
	mustStatus(t, r, http.StatusOK)
	var me struct {
		ID string `json:"id"`
	}
	r.json(t, &me)
	return []string{"X-User-Id", me.ID, "X-User-Roles", "user,admin", "X-User-Email", "admin@tenflix.local"}
}

func mustRefuse(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.errorCode() != code {
		t.Fatalf("answer %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

// categoriesNamed counts the live categories whose name contains name.
func categoriesNamed(t testing.TB, name string) int {
	t.Helper()
	r := command(t, http.MethodGet, "/categories?q="+url.QueryEscape(name), nil)
	mustStatus(t, r, http.StatusOK)
	var l struct {
		Total int `json:"total"`
	}
	r.json(t, &l)
	return l.Total
}

// moviesNamed counts movie-command's movies called name.
func moviesNamed(t testing.TB, name string) int {
	t.Helper()
	n := 0
	for page := 1; ; page++ {
		r := command(t, http.MethodGet, "/movies?size=100&page="+strconv.Itoa(page), nil)
		mustStatus(t, r, http.StatusOK)
		var l movieList
		r.json(t, &l)
		for _, m := range l.Items {
			if m.Name == name {
				n++
			}
		}
		if page*l.Size >= l.Total {
			return n
		}
	}
}

// TestForgedIdentityGetsNowhereAtMovieCommand calls movie-command's app port
// with its sidecar's app token, and through the gateway's sidecar (skipping
// the gateway), claiming to be the admin in headers: nothing is created.
func TestForgedIdentityGetsNowhereAtMovieCommand(t *testing.T) {
	u := randomHex(3)
	category, film := "Forged category "+u, "Forged movie "+u
	forged := forgedAdmin(t)
	app := appURLs["movie-command"] + "/api/v1/movie-command"
	viaSidecar := gatewaySidecar + "/v1.0/invoke/movie-command/method/api/v1/movie-command"
	appToken := []string{"dapr-api-token", appToken("movie-command")}
	sidecarToken := []string{"dapr-api-token", sidecarToken("gateway")}
	user := []string{"Authorization", "Bearer " + stack.userToken}

	for _, tt := range []struct {
		name, base string
		headers    []string
		status     int
		code       string
	}{
		{"app port, forged headers, no token", app, concat(appToken, forged), http.StatusUnauthorized, "unauthorized"},
		{"app port, forged headers, bad token", app, concat(appToken, forged, []string{"Authorization", "Bearer x.y.z"}), http.StatusUnauthorized, "unauthorized"},
		{"app port, a user's token", app, concat(appToken, forged, user), http.StatusForbidden, "forbidden"},
		{"gateway's sidecar, forged headers, no token", viaSidecar, concat(sidecarToken, forged), http.StatusUnauthorized, "unauthorized"},
		{"gateway's sidecar, a user's token", viaSidecar, concat(sidecarToken, forged, user), http.StatusForbidden, "forbidden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustRefuse(t, call(t, http.MethodPost, tt.base+"/categories", map[string]any{"name": category}, tt.headers...), tt.status, tt.code)
			mustRefuse(t, call(t, http.MethodPost, tt.base+"/movies", map[string]any{"name": film}, tt.headers...), tt.status, tt.code)
			mustRefuse(t, call(t, http.MethodGet, tt.base+"/categories", nil, tt.headers...), tt.status, tt.code)
		})
	}
	if n := categoriesNamed(t, category); n != 0 {
		t.Fatalf("%d categories %q exist after the forged requests", n, category)
	}
	if n := moviesNamed(t, film); n != 0 {
		t.Fatalf("%d movies %q exist after the forged requests", n, film)
	}

	// The same request with the admin's real token, at the same port, works:
	// what was refused above was the identity, not the route.
	r := call(t, http.MethodPost, app+"/categories", map[string]any{"name": category},
		concat(appToken, []string{"Authorization", "Bearer " + stack.adminToken})...)
	mustStatus(t, r, http.StatusCreated)
	if n := categoriesNamed(t, category); n != 1 {
		t.Fatalf("%d categories %q after the admin's request, want 1", n, category)
	}
}

func TestForgedIdentityGetsNowhereAtMovieQuery(t *testing.T) {
	forged := forgedAdmin(t)
	app := appURLs["movie-query"] + "/api/v1/movie-query/movies"
	appToken := []string{"dapr-api-token", appToken("movie-query")}
	mustRefuse(t, call(t, http.MethodGet, app, nil, concat(appToken, forged)...), http.StatusUnauthorized, "unauthorized")
	mustRefuse(t, call(t, http.MethodGet, app, nil, concat(appToken, forged, []string{"Authorization", "Bearer x.y.z"})...),
		http.StatusUnauthorized, "unauthorized")
	mustStatus(t, call(t, http.MethodGet, app, nil, concat(appToken, []string{"Authorization", "Bearer " + stack.userToken})...), http.StatusOK)
}

func TestForgedIdentityGetsNowhereAtIdentity(t *testing.T) {
	forged := forgedAdmin(t)
	app := appURLs["identity"] + "/api/v1/auth/me"
	appToken := []string{"dapr-api-token", appToken("identity")}
	mustRefuse(t, call(t, http.MethodGet, app, nil, concat(appToken, forged)...), http.StatusUnauthorized, "unauthorized")

	// With a user's token the answer is the user's account, whatever the headers say.
	r := call(t, http.MethodGet, app, nil, concat(appToken, forged, []string{"Authorization", "Bearer " + stack.userToken})...)
	mustStatus(t, r, http.StatusOK)
	var me struct {
		ID    string   `json:"id"`
		Roles []string `json:"roles"`
	}
	r.json(t, &me)
	if me.ID == forged[1] || len(me.Roles) != 1 || me.Roles[0] != "user" {
		t.Fatalf("me = %s: taken from the forged headers", r.Body)
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
