package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"tenflix/platform/apierror"
	"tenflix/services/gateway/internal/httpapi"
)

// The measured 500s of issue 6 are the gateway's own 400s: the bad bytes
// never reach the sidecar.
func TestBadTextIsRefusedBeforeForwarding(t *testing.T) {
	g := newGateway(t)
	tests := []struct {
		method, target, contentType, body string
	}{
		{"POST", "/api/v1/auth/token", "application/x-www-form-urlencoded", "grant_type=password&username=%00&password=x"},
		{"GET", "/api/v1/movie-query/movies?q=%ff", "", ""},
		{"GET", "/api/v1/movie-query/movies?category=%ff", "", ""},
		{"GET", "/api/v1/movie-query/movies/%ff", "", ""},
		{"POST", "/api/v1/auth/register", "application/json", `{"email":"a@example.com","password":"p","name":"\u0000"}`},
		{"PUT", "/api/v1/movie-command/movies/m-1", "application/json", "{\"name\":\"\xff\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := g.do(tt.method, tt.target, strings.NewReader(tt.body),
				"Authorization", "Bearer "+g.admin, "Content-Type", tt.contentType)
			wantEnvelope(t, rec, http.StatusBadRequest, apierror.Invalid)
		})
	}
	if n := g.sidecar.count(); n != 0 {
		t.Fatalf("%d requests reached the sidecar", n)
	}
}

// Whatever reaches a public route, the gateway answers without a 5xx, any
// error in the envelope, and forwards only clean text.
func FuzzGateway(f *testing.F) {
	f.Add(uint8(0), "", "", "application/json", []byte(`{"email":"a@example.com","password":"pw","name":"A"}`))
	f.Add(uint8(1), "", "", "application/x-www-form-urlencoded", []byte("grant_type=password&username=%00&password=x"))
	f.Add(uint8(6), "", "q=%ff&category=%ff", "", []byte(nil))
	f.Add(uint8(7), "\xff", "", "", []byte(nil))
	f.Add(uint8(8), "", "", "application/json", []byte(`{"name":"x","cast":[{"name":"\u0000"}]}`))
	f.Add(uint8(11), "..", "a=%zz", "application/json", []byte("{\"name\":\"\xc0\xaf\"}"))
	f.Add(uint8(12), "00000000-0000-0000-0000-000000000000", "", "text/plain", []byte("\x00\xff"))
	routes := httpapi.Routes()
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, route uint8, id, rawQuery, contentType string, body []byte) {
		rt := routes[int(route)%len(routes)]
		req, ok := parseRequest(rt.Method, strings.ReplaceAll(rt.Path, ":id", id), rawQuery, contentType, body)
		if !ok {
			return // net/http answers it before any handler runs
		}
		req.Header.Set("Authorization", "Bearer "+g.admin)
		before := g.sidecar.count()
		rec := httptest.NewRecorder()
		g.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s answered %d %s", rt.Method, req.URL, rec.Code, rec.Body)
		}
		if rec.Code >= 300 {
			var b apierror.Body
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
				t.Fatalf("%d is not an envelope: %q", rec.Code, rec.Body)
			}
		}
		if g.sidecar.count() == before {
			return
		}
		got := g.sidecar.last(t)
		if p, err := url.PathUnescape(got.Path); err != nil || !cleanText(p) {
			t.Fatalf("forwarded path %q", got.Path)
		}
		if q, err := url.ParseQuery(got.Query); err != nil || !cleanValues(q) {
			t.Fatalf("forwarded query %q", got.Query)
		}
		mt, _, _ := mime.ParseMediaType(contentType)
		switch {
		case mt == "application/x-www-form-urlencoded":
			if v, err := url.ParseQuery(string(got.Body)); err != nil || !cleanValues(v) {
				t.Fatalf("forwarded form %q", got.Body)
			}
		case (contentType == "" || mt == "application/json") && json.Valid(got.Body):
			if !cleanJSON(got.Body) {
				t.Fatalf("forwarded JSON %q", got.Body)
			}
		}
	})
}

// parseRequest reads the request as net/http's server would from the wire,
// so that only requests a client can really send reach the gateway.
func parseRequest(method, path, rawQuery, contentType string, body []byte) (*http.Request, bool) {
	if strings.ContainsFunc(contentType, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return nil, false // the server refuses such a header value
	}
	target := path
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	head := method + " " + target + " HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if contentType != "" {
		head += "Content-Type: " + contentType + "\r\n"
	}
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(strings.NewReader(head+"\r\n"), bytes.NewReader(body))))
	if err != nil || req.Method != method {
		return nil, false
	}
	req.RemoteAddr = "192.0.2.1:1234"
	return req, true
}

func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func cleanValues(v url.Values) bool {
	for k, vs := range v {
		if !cleanText(k) {
			return false
		}
		for _, s := range vs {
			if !cleanText(s) {
				return false
			}
		}
	}
	return true
}

// cleanJSON: UTF-8 throughout and no NUL in any string, per the decoder.
func cleanJSON(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return true // the end, or not JSON after all (the service refuses it)
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
}
