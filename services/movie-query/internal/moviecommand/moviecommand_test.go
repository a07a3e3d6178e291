package moviecommand_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	daprsidecar "tenflix/platform/sidecar"
	"tenflix/services/movie-query/internal/moviecommand"
)

// The sidecar stands in for daprd's invoke API: the test checks the request
// daprd would forward to movie-command, and that its answers are decoded.
func TestSnapshotPageInvokesMovieCommand(t *testing.T) {
	var got *http.Request
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if r.URL.Query().Get("after") == "bad" {
			http.Error(w, `{"error":{"code":"invalid"}}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"items":[{"key":"movie:m1","kind":"movie","id":"m1","version":3,"deleted":true,
			"document":{"id":"m1","version":"3"}}],"next":"movie:m1"}`))
	}))
	defer sidecar.Close()
	c := moviecommand.New(daprsidecar.New(sidecar.URL[strings.LastIndexByte(sidecar.URL, ':')+1:], "dapr-token"))

	page, err := c.SnapshotPage(context.Background(), "actor:a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodGet || got.URL.Path != "/v1.0/invoke/movie-command/method/internal/catalog/snapshot" ||
		got.URL.Query().Get("after") != "actor:a1" || got.URL.Query().Get("limit") == "" ||
		got.Header.Get("dapr-api-token") != "dapr-token" {
		t.Errorf("request %s %s token=%q", got.Method, got.URL, got.Header.Get("dapr-api-token"))
	}
	if len(page.Items) != 1 || page.Next != "movie:m1" {
		t.Fatalf("page = %+v", page)
	}
	if it := page.Items[0]; it.Kind != "movie" || it.ID != "m1" || it.Version != 3 || !it.Deleted || string(it.Document) == "" {
		t.Errorf("item = %+v", it)
	}

	if _, err := c.SnapshotPage(context.Background(), "bad"); err == nil {
		t.Error("a 400 answer: err = nil")
	}
}
