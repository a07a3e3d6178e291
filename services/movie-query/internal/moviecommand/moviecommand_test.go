package moviecommand_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/movie-query/internal/moviecommand"
)

// The sidecar stands in for daprd's invoke API: the test checks the request
// daprd would forward to movie-command, and that its answers are decoded.
func TestSnapshotPageInvokesMovieCommand(t *testing.T) {
	sidecar := sidecartest.New(t, nil)
	sidecar.HandleInvoke(func(inv sidecartest.Invoked) (int, []byte) {
		if q, _ := url.ParseQuery(inv.Query); q.Get("after") == "bad" {
			return http.StatusBadRequest, []byte(`{"error":{"code":"invalid"}}`)
		}
		return http.StatusOK, []byte(`{"items":[{"key":"movie:m1","kind":"movie","id":"m1","version":3,"deleted":true,
			"document":{"id":"m1","version":"3"}}],"next":"movie:m1"}`)
	})
	c := moviecommand.New(sidecar.Client(t, "dapr-token"))

	page, err := c.SnapshotPage(context.Background(), "actor:a1")
	if err != nil {
		t.Fatal(err)
	}
	got := sidecar.Invoked()[0]
	q, _ := url.ParseQuery(got.Query)
	if got.Verb != http.MethodGet || got.AppID != moviecommand.AppID || got.Method != "internal/catalog/snapshot" ||
		q.Get("after") != "actor:a1" || q.Get("limit") == "" || got.Token != "dapr-token" {
		t.Errorf("request %+v", got)
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
