package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"tenflix/platform/httpserver"
	catalogv1 "tenflix/proto/catalog/v1"
)

// snapshotter serves items after the given key, as the SQL query does (its
// own test runs on PostgreSQL).
type snapshotter []catalogv1.SnapshotItem

func (s snapshotter) Snapshot(_ context.Context, _ []string, after string, limit int) ([]catalogv1.SnapshotItem, error) {
	var out []catalogv1.SnapshotItem
	for _, it := range s {
		if it.Key > after && len(out) < limit {
			out = append(out, it)
		}
	}
	return out, nil
}

func TestSnapshotPages(t *testing.T) {
	items := snapshotter{
		{Key: "actor:a", Kind: "actor", ID: "a", Version: 2, Document: json.RawMessage(`{"id":"a"}`)},
		{Key: "movie:m", Kind: "movie", ID: "m", Version: 3, Deleted: true, Document: json.RawMessage(`{"id":"m"}`)},
	}
	engine := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	internalRoutes(engine, items)
	get := func(query string) (int, catalogv1.SnapshotPage) {
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, catalogv1.SnapshotPath+query, nil))
		var page catalogv1.SnapshotPage
		_ = json.Unmarshal(rec.Body.Bytes(), &page)
		return rec.Code, page
	}

	code, page := get("?limit=1")
	if code != http.StatusOK || len(page.Items) != 1 || page.Items[0].Key != "actor:a" || page.Next != "actor:a" {
		t.Fatalf("first page: %d %+v", code, page)
	}
	code, page = get("?limit=1&after=" + page.Next)
	if code != http.StatusOK || len(page.Items) != 1 || !page.Items[0].Deleted || page.Items[0].Version != 3 {
		t.Fatalf("second page: %d %+v", code, page)
	}
	if _, page = get("?after=movie:m"); len(page.Items) != 0 || page.Next != "" || page.Items == nil {
		t.Fatalf("past the end: %+v, want an empty items list and no next", page)
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?limit=1001"} {
		if code, _ := get(bad); code != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 400", bad, code)
		}
	}
}
