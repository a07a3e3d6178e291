package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The list's query parameters, against a real read model: the measured 500s
// of issue 6 (q=%ff, category=%ff) among the seeds.
func FuzzListQuery(f *testing.F) {
	h := newServer(f)
	seed(f, h)
	for _, s := range []string{
		"q=heat&category=crime&sort=name&page=1&size=5", "q=%ff", "category=%ff", "tag=%00", "actor=a%00b",
		"q=%c0%af", "q=%ed%a0%80", "q=%EF%BF%BD", "q=.*", "q=%5B", "q=(a+|b)*c", "q=$where", "category=%24ne",
		"q=" + strings.Repeat("a", 200), "page=99999999999999999999", "size=-1", "minRating=1e309",
		"year=%EF%BC%91%EF%BC%99%EF%BC%99%EF%BC%95", "sort=name&sort=rating", "q=%zz", "q=a;b", "%ff=1", "&&&=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/movie-query/movies", nil)
		req.URL = &url.URL{Path: "/api/v1/movie-query/movies", RawQuery: rawQuery}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("?%s: %d %s", rawQuery, rec.Code, rec.Body)
		}
		var b struct {
			Items *[]any `json:"items"`
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatalf("?%s: %d not JSON: %s", rawQuery, rec.Code, rec.Body)
		}
		switch {
		case rec.Code == http.StatusOK && b.Items == nil:
			t.Fatalf("?%s: 200 without items: %s", rawQuery, rec.Body)
		case rec.Code != http.StatusOK && (b.Error.Code == "" || b.Error.Message == ""):
			t.Fatalf("?%s: %d is not an envelope: %s", rawQuery, rec.Code, rec.Body)
		}
	})
}
