package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"tenflix/platform/authn"
	"tenflix/platform/authn/authntest"
	"tenflix/services/gateway/internal/httpapi"
	"tenflix/services/gateway/internal/ratelimit"
)

func TestServesTheWatchPage(t *testing.T) {
	g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) {
		o.WebMediaOrigins = []string{"https://res.cloudinary.com", "http://127.0.0.1:8091"}
	})
	for _, tc := range []struct {
		target, contentType, contains string
	}{
		{"/", "text/html", `<script type="module" src="/web/app.js">`},
		{"/web/index.html", "text/html", "<title>Tenflix</title>"},
		{"/web/app.js", "text/javascript", "textContent"},
		{"/web/style.css", "text/css", ".refusal"},
	} {
		rec := g.do(http.MethodGet, tc.target, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.contentType) {
			t.Fatalf("GET %s: %d %q", tc.target, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s: no %q in the body", tc.target, tc.contains)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "media-src 'self' blob: https://res.cloudinary.com http://127.0.0.1:8091",
			"worker-src blob:", "connect-src 'self' https://res.cloudinary.com", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: policy %q lacks %q", tc.target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: policy %q allows unsafe sources", tc.target, csp)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.target)
		}
		// Revalidation by ETag.
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", tc.target)
		}
		if again := g.do(http.MethodGet, tc.target, nil, "If-None-Match", etag); again.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", tc.target, again.Code)
		}
	}
	if rec := g.do(http.MethodHead, "/", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestWatchPageMissingFiles(t *testing.T) {
	g := newGateway(t)
	for _, target := range []string{"/web/", "/web/nope.js", "/web/../routes.go", "/web/%2e%2e/web.go", "/web/web.go", "/web/lib/README.md"} {
		rec := g.do(http.MethodGet, target, nil)
		var env struct{ Error struct{ Code string } }
		if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Error.Code != "not_found" {
			t.Errorf("GET %s: %d %s, want a 404 envelope", target, rec.Code, rec.Body)
		}
	}
	// The player library is built, not committed: served when make build has
	// copied it, else a 404 that says how to get it.
	rec := g.do(http.MethodGet, "/web/lib/hls.min.js", nil)
	switch rec.Code {
	case http.StatusOK:
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("hls.min.js served as %q", rec.Header().Get("Content-Type"))
		}
	case http.StatusNotFound:
		if !strings.Contains(rec.Body.String(), "make build") {
			t.Errorf("missing hls.min.js: %s", rec.Body)
		}
	default:
		t.Errorf("GET hls.min.js: %d", rec.Code)
	}
}

func TestWatchPageRefusesBadMediaOrigins(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v, err := authn.New(t.Context(), authn.Config{Issuer: iss.URL, Audience: authntest.Audience})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"https://cdn.example/path", "ftp://cdn.example", "https://a.example; script-src *", "cdn.example", "https://u:p@cdn.example"} {
		_, err := httpapi.New(httpapi.Options{
			Log: slog.New(slog.DiscardHandler), SidecarURL: "http://127.0.0.1:1", Verifier: v,
			AuthLimiter: ratelimit.New(10, 10, 10), WebMediaOrigins: []string{o},
		})
		if err == nil {
			t.Errorf("media origin %q accepted", o)
		}
	}
}
