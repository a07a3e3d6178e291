package httpserver_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever a request holds, the answer is 200 (the handler ran) or an
// envelope, never a 5xx; and a request that reached the handler carries
// only clean text in its path, query, form and JSON strings.
func FuzzValidInput(f *testing.F) {
	f.Add("1", "q=matrix&page=2", "application/json", []byte(`{"name":"Heat","cast":["a",{"id":"x"}]}`))
	f.Add("\xff", "", "", []byte(nil))
	f.Add("a\x00", "q=%00", "application/json", []byte(`{"a":"\u0000"}`))
	f.Add("1", "category=%ff&q=%c0%af", "", []byte("{\"a\":\"\xff\"}"))
	f.Add("1", "%zz=1;a=b", "application/x-www-form-urlencoded", []byte("username=%00&password=\xff"))
	f.Add("1", "", "application/x-www-form-urlencoded; charset=utf-8", []byte(strings.Repeat("&", 1000)))
	f.Add("1", "", "multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n\x00\r\n--XX--\r\n"))
	f.Add("1", "", "application/json", []byte(`{"a":"\ud800","b":"\udc00\ud800"}`))
	f.Add("1", "", "application/json", []byte(strings.Repeat("[", 20000)))
	f.Add("1", "", "application/json", []byte(`{"n":1e99999999,"a":"x","a":"\u0000"}`))
	f.Add("%2e%2e", "x=%", "text/plain", []byte("\x00"))
	h := newEngine(f)
	f.Fuzz(func(t *testing.T, id, rawQuery, contentType string, body []byte) {
		rec := serve(h, request(http.MethodPost, "/things/"+id, rawQuery, contentType, body))
		if rec.Code != http.StatusOK {
			envelope(t, rec)
			if rec.Code >= 500 {
				t.Fatalf("answered %d", rec.Code)
			}
			return
		}
		if !clean(id) || strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("path parameter %q reached the handler", id)
		}
		if q, err := url.ParseQuery(rawQuery); err != nil || !cleanValues(q) {
			t.Fatalf("query %q reached the handler", rawQuery)
		}
		if !bytes.Equal(rec.Body.Bytes(), body) {
			t.Fatalf("the handler read %q, sent %q", rec.Body, body)
		}
		mt, _, _ := mime.ParseMediaType(contentType)
		switch {
		case mt == "application/x-www-form-urlencoded":
			if v, err := url.ParseQuery(string(body)); err != nil || !cleanValues(v) {
				t.Fatalf("form %q reached the handler", body)
			}
		case (contentType == "" || mt == "application/json") && json.Valid(body):
			if ok, _ := cleanJSON(body); !ok {
				t.Fatalf("JSON %q reached the handler", body)
			}
		}
	})
}

// FuzzJSONStrings checks the JSON walk both ways against the decoder's own
// tokens: refused exactly when a string holds NUL or a body byte is not
// UTF-8. Strings that decode to U+FFFD are only checked for a clean answer
// (a genuine U+FFFD and a lone surrogate escape both decode to it).
func FuzzJSONStrings(f *testing.F) {
	for _, s := range []string{
		`{"name":"Heat"}`, `{"a":"\u0000"}`, `{"\u0000":1}`, "[\"\xff\"]", `"\ud83c\udfac"`, `"\\u0000"`,
		`{"a":[{"b":{"c":["\u0000"]}}]}`, `{"a":"x"} {"b":"\u0000"}`, `{"a":"\u0000"`, `[1e999,-0,true,null]`,
	} {
		f.Add([]byte(s))
	}
	h := newEngine(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := serve(h, request(http.MethodPost, "/things/1", "", "application/json", body))
		if rec.Code != http.StatusOK {
			if code, _ := envelope(t, rec); rec.Code != http.StatusBadRequest || code != "invalid" {
				t.Fatalf("answered %d %s", rec.Code, code)
			}
		}
		if !json.Valid(body) {
			return // the handler's to refuse; answered cleanly above
		}
		ok, sure := cleanJSON(body)
		if sure && ok != (rec.Code == http.StatusOK) {
			t.Fatalf("clean=%v but answered %d %s", ok, rec.Code, rec.Body)
		}
	})
}

// cleanJSON reports whether a valid JSON text is UTF-8 with no NUL in any
// string; sure is false when a string decoded to U+FFFD.
func cleanJSON(body []byte) (ok, sure bool) {
	if !utf8.Valid(body) {
		return false, true
	}
	sure = true
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return true, sure
		}
		if s, isString := tok.(string); isString {
			if strings.IndexByte(s, 0) >= 0 {
				return false, true
			}
			if strings.ContainsRune(s, utf8.RuneError) {
				sure = false
			}
		}
	}
}

func clean(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func cleanValues(v url.Values) bool {
	for k, vs := range v {
		if !clean(k) {
			return false
		}
		for _, s := range vs {
			if !clean(s) {
				return false
			}
		}
	}
	return true
}
