package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/services/gateway/internal/httpapi"
)

// The HLS catch-all reaches media segment by segment escaped, and nothing
// climbs out of it.
func TestHLSPathsAreForwardedSegmentBySegment(t *testing.T) {
	g := newGateway(t)
	rec := g.do("GET", "/api/v1/media/hls/g.123.sig/v-1/720p/seg_00001.ts", nil, "Range", "bytes=0-99")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	got := g.sidecar.last(t)
	if got.Path != "/v1.0/invoke/media/method/api/v1/media/hls/g.123.sig/v-1/720p/seg_00001.ts" || got.Header.Get("Range") != "bytes=0-99" {
		t.Fatalf("sidecar got %s (Range %q)", got.Path, got.Header.Get("Range"))
	}
	if got.Header.Get("Authorization") != "" {
		t.Fatal("a public route forwarded a token")
	}
	n := g.sidecar.count()
	for _, bad := range []string{"/api/v1/media/hls/g/v/../../../movie-command/x", "/api/v1/media/hls/g/v/a/%2e%2e/b", "/api/v1/media/hls/g/v/a//b"} {
		rec := g.do("GET", bad, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, rec.Code)
		}
	}
	if g.sidecar.count() != n {
		t.Fatalf("a climbing path was forwarded: %s", g.sidecar.last(t).Path)
	}
}

// The upload route takes bodies past the default bound, up to its own.
func TestUploadRouteHasItsOwnBodyBound(t *testing.T) {
	g := newGateway(t, func(o *httpapi.Options, _ *authn.Config) { o.MaxBodyBytes = 1024; o.MaxUploadBytes = 4096 })
	path := "/api/v1/movie-command/movies/0b9c6d4e-1111-4a2b-9c3d-123456789abc/videos/upload"
	rec := g.do("POST", path, strings.NewReader(strings.Repeat("x", 3000)), "Authorization", "Bearer "+g.admin,
		"Content-Type", "multipart/form-data; boundary=b")
	if rec.Code != http.StatusOK || len(g.sidecar.last(t).Body) != 3000 {
		t.Fatalf("a 3000-byte upload: %d", rec.Code)
	}
	rec = g.do("POST", path, strings.NewReader(strings.Repeat("x", 5000)), "Authorization", "Bearer "+g.admin,
		"Content-Type", "multipart/form-data; boundary=b")
	wantEnvelope(t, rec, http.StatusRequestEntityTooLarge, apierror.TooLarge)
	rec = g.do("POST", "/api/v1/auth/register", strings.NewReader(strings.Repeat("x", 3000)), "Content-Type", "application/json")
	wantEnvelope(t, rec, http.StatusRequestEntityTooLarge, apierror.TooLarge)
}
