package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
)

// badText is the one complaint about a client string: PostgreSQL refuses
// NUL and invalid UTF-8 (a 500 if they reached it), and Go's JSON decoder
// would silently turn invalid bytes into U+FFFD.
const badText = "must be valid UTF-8 without NUL characters"

// badPath is the complaint about a path: a sidecar cannot forward one with
// ASCII control characters either (Go's URL parser refuses them).
const badPath = "must be valid UTF-8 without control characters"

// validInput refuses, before any handler runs, every request in which a
// client string is not valid UTF-8 or holds NUL: the path and its parameters
// (no control characters there at all), query parameters (names and
// values), urlencoded and multipart form fields, and the strings of a JSON
// body (keys and values, at any depth). Messages name the offending place,
// never its bytes. Other bodies (uploads, say) pass untouched; so do bodies
// that do not parse, which the handlers answer themselves.
//
// It lives here, not in BindJSON, so that it covers every source of strings
// and every engine, the gateway's included (which forwards without binding).
func validInput() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := checkInput(c); err != nil {
			Fail(c, err)
			return
		}
		c.Next()
	}
}

func checkInput(c *gin.Context) error {
	for _, p := range c.Params {
		if !goodPath(p.Value) {
			return apierror.New(apierror.Invalid, "path parameter %q %s", p.Key, badPath)
		}
	}
	if !goodPath(c.Request.URL.Path) {
		return apierror.New(apierror.Invalid, "request path %s", badPath)
	}
	if c.Request.URL.RawQuery != "" {
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			return apierror.New(apierror.Invalid, "malformed query string (bad percent-encoding or a ';' separator)")
		}
		if err := checkValues(q, "query parameter"); err != nil {
			return err
		}
	}
	return checkBody(c.Request)
}

// checkValues checks names and values, in name order so that the answer
// does not depend on map order.
func checkValues(v url.Values, what string) error {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if !goodText(k) {
			return apierror.New(apierror.Invalid, "a %s name %s", what, badText)
		}
		for _, s := range v[k] {
			if !goodText(s) {
				return apierror.New(apierror.Invalid, "%s %q %s", what, shorten(k), badText)
			}
		}
	}
	return nil
}

func checkBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return nil // the handler answers 415
	}
	var check func([]byte) error
	switch {
	case ct == "" || mt == "application/json": // BindJSON reads a body without a type as JSON
		check = checkJSON
	case mt == "application/x-www-form-urlencoded":
		check = checkForm
	case mt == "multipart/form-data" && params["boundary"] != "":
		check = func(b []byte) error { return checkMultipart(b, params["boundary"]) }
	default:
		return nil
	}
	// Only the first CheckedBytes are held and checked; a longer body (a
	// video upload, up to gigabytes) streams on past them, unchecked, so
	// that no request costs more memory than that. Text fields come first
	// in a form (a file part after them is data), and a route whose JSON or
	// form may be longer bounds its body below this anyway; a handler that
	// takes longer bodies checks its own fields.
	b, err := io.ReadAll(io.LimitReader(r.Body, CheckedBytes+1))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return apierror.New(apierror.TooLarge, "request body larger than %d bytes", maxErr.Limit)
		}
		return apierror.Wrap(err, apierror.Invalid, "could not read the request body")
	}
	if len(b) > CheckedBytes {
		r.Body = readCloser{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		// The cut may end inside a string or a part: the checks stop at
		// what does not parse, without complaint.
		return check(b[:CheckedBytes])
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return check(b)
}

// CheckedBytes is how much of a request body the input checks hold in
// memory: the default body limit.
const CheckedBytes = 1 << 20

type readCloser struct {
	io.Reader
	io.Closer
}

func checkForm(b []byte) error {
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return apierror.New(apierror.Invalid, "malformed form body (bad percent-encoding or a ';' separator)")
	}
	return checkValues(v, "form field")
}

// checkMultipart checks field names, file names and the values of non-file
// fields; file contents are data, not text. A body that does not parse is
// left to the handler.
func checkMultipart(b []byte, boundary string) error {
	mr := multipart.NewReader(bytes.NewReader(b), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil
		}
		name := p.FormName()
		if !goodText(name) {
			return apierror.New(apierror.Invalid, "a form field name %s", badText)
		}
		if file := p.FileName(); file != "" {
			if !goodText(file) {
				return apierror.New(apierror.Invalid, "the file name of form field %q %s", shorten(name), badText)
			}
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil
		}
		if !goodText(string(v)) {
			return apierror.New(apierror.Invalid, "form field %q %s", shorten(name), badText)
		}
	}
}

// jsonFrame is one open object or array while walking a JSON body.
type jsonFrame struct {
	object  bool
	key     string // object: the current key
	wantKey bool   // object: the next string is a key
	index   int    // array: the current element
}

// checkJSON walks every token of a JSON body. Each string is checked on its
// raw literal: after decoding, an invalid byte or a lone surrogate escape is
// already indistinguishable from a genuine U+FFFD. Syntax errors stop the
// walk without complaint: BindJSON answers them with their offset.
func checkJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // huge numbers are the handler's business
	var stack []jsonFrame
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		end := dec.InputOffset()
		raw := b[prev:end] // the token, after ':' ',' or whitespace
		prev = end
		var top *jsonFrame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				valueDone(&stack[len(stack)-1])
			}
			continue
		}
		if s, ok := tok.(string); ok {
			key := top != nil && top.object && top.wantKey
			if !goodJSONLiteral(raw[bytes.IndexByte(raw, '"'):]) {
				if key {
					return apierror.New(apierror.Invalid, "a field name in %s %s", where(stack), badText)
				}
				return apierror.New(apierror.Invalid, "%s %s", where(stack), badText)
			}
			if key {
				top.key, top.wantKey = s, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, jsonFrame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, jsonFrame{})
		default:
			if top != nil {
				valueDone(top)
			}
		}
	}
}

func valueDone(f *jsonFrame) {
	if f.object {
		f.wantKey = true
	} else {
		f.index++
	}
}

// where names the value being read: field "cast[2].name", or the body.
func where(stack []jsonFrame) string {
	var sb strings.Builder
	for _, f := range stack {
		switch {
		case f.object && f.wantKey: // reading a key: the path is the object's
		case f.object:
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(f.key)
		default:
			sb.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if sb.Len() == 0 {
		return "the request body"
	}
	return "field " + strconv.Quote(shorten(sb.String()))
}

// goodJSONLiteral checks a string literal, quotes included, whose syntax the
// decoder has already accepted: valid UTF-8, no \u0000, surrogate escapes
// only in pairs.
func goodJSONLiteral(lit []byte) bool {
	if !utf8.Valid(lit) {
		return false
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' {
			continue
		}
		i++
		if lit[i] != 'u' {
			continue
		}
		r := hex4(lit[i+1:])
		i += 4
		switch {
		case r == 0:
			return false
		case r >= 0xDC00 && r <= 0xDFFF: // a low surrogate first
			return false
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(lit) || lit[i+1] != '\\' || lit[i+2] != 'u' {
				return false
			}
			if lo := hex4(lit[i+3:]); lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n)
}

func goodText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func goodPath(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// shorten keeps a client-chosen name readable in a message.
func shorten(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
