package httpserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"tenflix/platform/httpserver"
)

// newEngine is an engine whose one route, /things/:id on any method,
// answers 200 with the body it received: a request that gets 200 passed
// the input checks.
func newEngine(tb testing.TB) http.Handler {
	tb.Helper()
	r := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler), MaxBodyBytes: 1 << 16})
	r.Any("/things/:id", func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			httpserver.Fail(c, err)
			return
		}
		c.Data(http.StatusOK, "application/octet-stream", b)
	})
	return r
}

// request is built by hand: httptest.NewRequest refuses the bytes under test.
func request(method, path, rawQuery, contentType string, body []byte) *http.Request {
	req := &http.Request{
		Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		Host: "example.test", RemoteAddr: "192.0.2.1:1234", Body: http.NoBody,
	}
	if body != nil {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// envelope returns the error code and message of an error answer, failing
// when it is not the house envelope or when the message is not clean text.
func envelope(tb testing.TB, rec *httptest.ResponseRecorder) (string, string) {
	tb.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		tb.Fatalf("%d: not an error envelope (%v): %q", rec.Code, err, rec.Body)
	}
	if !utf8.ValidString(b.Error.Message) || strings.ContainsAny(b.Error.Message, "\x00\uFFFD") {
		tb.Fatalf("message echoes bad bytes: %q", b.Error.Message)
	}
	return b.Error.Code, b.Error.Message
}

func TestBadTextIsRefusedWhereverItIs(t *testing.T) {
	h := newEngine(t)
	form := "application/x-www-form-urlencoded"
	multi := "multipart/form-data; boundary=XX"
	part := func(disposition, value string) []byte {
		return []byte("--XX\r\nContent-Disposition: form-data; " + disposition + "\r\n\r\n" + value + "\r\n--XX--\r\n")
	}
	cases := []struct {
		name, path, query, contentType string
		body                           []byte
		mention                        string // in the message
	}{
		{"NUL in a path parameter", "/things/a\x00b", "", "", nil, `path parameter "id"`},
		{"invalid UTF-8 in a path parameter", "/things/\xff", "", "", nil, `path parameter "id"`},
		{"invalid UTF-8 in an unknown path", "/nothing/\xc3", "", "", nil, "request path"},
		{"a control character in a path parameter", "/things/a\x1bb", "", "", nil, `path parameter "id"`},
		{"a line break in the path", "/things/1\r\n", "", "", nil, `path parameter "id"`},
		{"NUL in a query value", "/things/1", "q=%00", "", nil, `query parameter "q"`},
		{"invalid UTF-8 in a query value", "/things/1", "category=%ff", "", nil, `query parameter "category"`},
		{"overlong UTF-8 in a query value", "/things/1", "q=%c0%af", "", nil, `query parameter "q"`},
		{"surrogate half in UTF-8", "/things/1", "q=%ed%a0%80", "", nil, `query parameter "q"`},
		{"bad query name", "/things/1", "%ff=1", "", nil, "a query parameter name"},
		{"raw invalid byte in a query", "/things/1", "q=\xfe", "", nil, `query parameter "q"`},
		{"malformed query", "/things/1", "q=%zz", "", nil, "malformed query string"},
		{"NUL in a form field", "/things/1", "", form, []byte("grant_type=password&username=%00"), `form field "username"`},
		{"invalid UTF-8 in a form field", "/things/1", "", form + "; charset=utf-8", []byte("password=\xff"), `form field "password"`},
		{"malformed form", "/things/1", "", form, []byte("a=%"), "malformed form body"},
		{"NUL in a multipart field", "/things/1", "", multi, part(`name="title"`, "a\x00"), `form field "title"`},
		{"invalid UTF-8 in a multipart file name", "/things/1", "", multi, part("name=\"f\"; filename=\"\xff.txt\"", "data"), `file name of form field "f"`},
		{"JSON \\u0000", "/things/1", "", "application/json", []byte(`{"name":"a\u0000"}`), `field "name"`},
		{"JSON invalid byte, no content type", "/things/1", "", "", []byte("{\"name\":\"\xff\"}"), `field "name"`},
		{"JSON deep", "/things/1", "", "application/json; charset=utf-8", []byte(`{"a":[1,{"b":["x","\u0000"]}]}`), `field "a[1].b[1]"`},
		{"JSON bad key", "/things/1", "", "application/json", []byte(`{"a":{"ok":1,"\u0000":2}}`), `a field name in field "a"`},
		{"JSON bad top-level key", "/things/1", "", "application/json", []byte(`{"\ud800":2}`), "a field name in the request body"},
		{"JSON top-level string", "/things/1", "", "application/json", []byte(`"\udc00"`), "the request body"},
		{"JSON lone high surrogate", "/things/1", "", "application/json", []byte(`["\ud83dx"]`), `field "[0]"`},
		{"JSON overlong UTF-8", "/things/1", "", "application/json", []byte("{\"a\":\"\xc0\xaf\"}"), `field "a"`},
		{"JSON second value", "/things/1", "", "application/json", []byte(`{} {"a":"\u0000"}`), `field "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(h, request(http.MethodPost, c.path, c.query, c.contentType, c.body))
			code, msg := envelope(t, rec)
			if rec.Code != http.StatusBadRequest || code != "invalid" || !strings.Contains(msg, c.mention) {
				t.Fatalf("got %d %s %q, want 400 invalid mentioning %s", rec.Code, code, msg, c.mention)
			}
		})
	}
}

func TestGoodTextPassesAndTheBodyIsKept(t *testing.T) {
	h := newEngine(t)
	cases := []struct {
		name, path, query, contentType string
		body                           string
	}{
		{"plain", "/things/1", "q=matrix&page=2", "application/json", `{"name":"Heat"}`},
		{"unicode everywhere", "/things/été", "q=%E5%8D%83%E3%81%A8&tag=🎬", "application/json", `{"名前":"千と千尋 🎬","x":["\ud83c\udfac","\u00e9"]}`},
		{"a real U+FFFD", "/things/1", "q=%EF%BF%BD", "application/json", `{"a":"\ufffd�"}`},
		{"an escaped backslash before u0000", "/things/1", "", "application/json", `{"a":"\\u0000"}`},
		{"malformed JSON is the handler's", "/things/1", "", "application/json", `{"a":"\u0000`},
		{"not JSON at all", "/things/1", "", "", "\xff\x00"},
		{"huge numbers and depth", "/things/1", "", "application/json", `{"n":1e999999,"d":[[[[[[[[[[]]]]]]]]]]}`},
		{"form", "/things/1", "", "application/x-www-form-urlencoded", "grant_type=password&username=a%40b.example&password=%C3%A9"},
		{"uploads pass untouched", "/things/1", "", "video/mp4", "\x00\xff\xfe"},
		{"unparsable content type", "/things/1", "", ";;;", "\x00"},
		{"multipart file content is data", "/things/1", "", "multipart/form-data; boundary=XX",
			"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"v.bin\"\r\n\r\n\x00\xff\r\n--XX--\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(h, request(http.MethodPut, c.path, c.query, c.contentType, []byte(c.body)))
			if rec.Code != http.StatusOK || rec.Body.String() != c.body {
				t.Fatalf("got %d %q, want 200 with the body unchanged", rec.Code, rec.Body)
			}
		})
	}
}

func TestLongHeadsAreRefusedInTheEnvelope(t *testing.T) {
	h := newEngine(t)
	for _, req := range []*http.Request{
		request(http.MethodGet, "/things/1", "q="+strings.Repeat("x", 4<<10), "", nil),
		request(http.MethodGet, "/things/"+strings.Repeat("x", 4<<10), "", "", nil),
		func() *http.Request {
			r := request(http.MethodGet, "/things/1", "", "", nil)
			r.Header.Set("User-Agent", strings.Repeat("x", 4<<10))
			return r
		}(),
	} {
		rec := serve(h, req)
		if code, _ := envelope(t, rec); rec.Code != http.StatusRequestHeaderFieldsTooLarge || code != "headers_too_large" {
			t.Fatalf("got %d %s, want 431 headers_too_large", rec.Code, code)
		}
	}
	if rec := serve(h, request(http.MethodGet, "/things/1", "q="+strings.Repeat("x", 3<<10), "", nil)); rec.Code != http.StatusOK {
		t.Fatalf("a 3 KiB URL: %d %s", rec.Code, rec.Body)
	}
}

func TestBodyReadStaysBounded(t *testing.T) {
	h := newEngine(t)
	body := []byte(`{"a":"` + strings.Repeat("x", 1<<16) + `"}`)
	req := request(http.MethodPost, "/things/1", "", "application/json", body)
	req.ContentLength = -1 // chunked: only the reader's bound applies
	rec := serve(h, req)
	if code, _ := envelope(t, rec); rec.Code != http.StatusRequestEntityTooLarge || code != "too_large" {
		t.Fatalf("got %d %s, want 413 too_large", rec.Code, code)
	}
}

// A body longer than CheckedBytes streams past the checks (an upload): the
// handler reads all of it, and the fields in its first CheckedBytes are
// still checked.
func TestLongBodiesStreamPastTheChecks(t *testing.T) {
	r := httpserver.NewEngine(httpserver.Options{Log: slog.New(slog.DiscardHandler), MaxBodyBytes: 8 << 20})
	r.POST("/upload", func(c *gin.Context) {
		n, err := io.Copy(io.Discard, c.Request.Body)
		if err != nil {
			httpserver.Fail(c, err)
			return
		}
		c.String(http.StatusOK, "%d", n)
	})
	form := func(title string) ([]byte, string) {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n%s\r\n", title)
		buf.WriteString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\r\n")
		buf.Write(bytes.Repeat([]byte{0xff, 0}, 3<<20))
		buf.WriteString("\r\n--b--\r\n")
		return buf.Bytes(), "multipart/form-data; boundary=b"
	}
	body, ct := form("Trailer")
	rec := serve(r, request("POST", "/upload", "", ct, body))
	if rec.Code != http.StatusOK || rec.Body.String() != fmt.Sprint(len(body)) {
		t.Fatalf("a 6 MiB upload: %d %s, want 200 and every byte", rec.Code, rec.Body)
	}
	body, ct = form("bad\x00title")
	if rec := serve(r, request("POST", "/upload", "", ct, body)); rec.Code != http.StatusBadRequest {
		t.Fatalf("a NUL in a field before the file: %d, want 400", rec.Code)
	}
}
