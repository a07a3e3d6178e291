package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Midtrans follows a 307/308 with the same POST body and does not follow a
// 301/302/303 (which would turn the POST into a GET without the body).
func TestRedirects(t *testing.T) {
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		switch r.URL.Path {
		case "/temporary":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/found":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer ts.Close()
	s := New(nil)
	if code, err := s.Send(context.Background(), ts.URL+"/temporary", []byte(`{"a":1}`)); err != nil || code != 200 {
		t.Fatalf("307: %d %v", code, err)
	}
	if code, err := s.Send(context.Background(), ts.URL+"/found", []byte(`{"a":2}`)); err != nil || code != http.StatusFound {
		t.Fatalf("302: %d %v", code, err)
	}
	want := []string{`POST /temporary {"a":1}`, `POST /final {"a":1}`, `POST /found {"a":2}`}
	if len(got) != len(want) {
		t.Fatalf("requests %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %q, want %q", i, got[i], want[i])
		}
	}
}
