package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The three 500s measured in issue 6 are clear 400s.
func TestNULAndInvalidUTF8AreA400(t *testing.T) {
	form := url.Values{"grant_type": {"password"}, "username": {"\x00"}, "password": {"x"}}.Encode()
	cases := []struct{ method, path, contentType, body string }{
		{"POST", "/api/v1/auth/token", "application/x-www-form-urlencoded", form},
		{"GET", "/api/v1/movie-query/movies?q=%ff", "", ""},
		{"GET", "/api/v1/movie-query/movies?category=%ff", "", ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := call(t, c.method, gateway+c.path, body, "Content-Type", c.contentType, "Authorization", "Bearer "+stack.userToken)
			if r.Status != http.StatusBadRequest || r.errorCode() != "invalid" {
				t.Fatalf("got %d %s, want 400 invalid", r.Status, r.Body)
			}
		})
	}
}

// apiRoute is one public route of docs/openapi.yaml, which the gateway's
// tests keep equal to its route table.
type apiRoute struct{ method, path string }

var (
	openapiPath   = regexp.MustCompile(`^  (/\S*):\s*$`)
	openapiMethod = regexp.MustCompile(`^    (get|post|put|delete|patch):\s*$`)
)

func publicRoutes(t testing.TB) []apiRoute {
	t.Helper()
	f, err := os.Open(filepath.Join(os.Getenv("TENFLIX_ROOT"), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var routes []apiRoute
	var path string
	inPaths := false
	for s := bufio.NewScanner(f); s.Scan(); {
		line := s.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case len(line) > 0 && line[0] != ' ' && line[0] != '#':
			inPaths = false
		case !inPaths:
		case openapiPath.MatchString(line):
			path = openapiPath.FindStringSubmatch(line)[1]
		case openapiMethod.MatchString(line):
			routes = append(routes, apiRoute{strings.ToUpper(openapiMethod.FindStringSubmatch(line)[1]), path})
		}
	}
	if len(routes) < 30 {
		t.Fatalf("read only %d routes from docs/openapi.yaml", len(routes))
	}
	return routes
}

// nastyStrings are decoded values: each is sent percent-encoded in URLs and
// forms, and as raw bytes (or escapes) in JSON.
var nastyStrings = []string{
	"", " ", "\x00", "a\x00b", "\xff", "\xfe\xff", "\xc0\xaf", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80",
	"\xf4\x90\x80\x80", "\x80", "é", "\xe9", "🎬", "\u202e", "\ufffd", "\r\n", "\t", "\x1b[31m", "%00", "%ff",
	"../..", "..", ".", "a/b", "' OR 1=1 --", `{"$ne":null}`, "$where", ".*", "(a+)+$", "[", "\\", `"`,
	"<script>alert(1)</script>", "null", "true", "-1", "0", "1e309", "99999999999999999999999", "NaN",
	"Infinity", "-0", "0x10", "2000-13-01", "9999-12-31", "00000000-0000-0000-0000-000000000000",
	strings.Repeat("x", 201), strings.Repeat("é", 300), strings.Repeat("🎬", 1000),
}

// nastyJSON are whole JSON values (some not JSON at all) put where a field
// or the whole body goes.
var nastyJSON = []string{
	`null`, `true`, `0`, `-1`, `1e999`, `-1e999`, `1.5`, `123456789012345678901234567890`, `"x"`, `[]`, `{}`,
	`[null]`, `{"id":null}`, `"\u0000"`, `"\ud800"`, `"\udc00\ud800"`, `"\ud83c\udfac"`, `"\\u0000"`,
	strings.Repeat("[", 200) + strings.Repeat("]", 200), strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100),
	strings.Repeat("[", 20000), `{`, `}`, `[1,]`, `{"a" 1}`, `'x'`, "\xff", "",
}

// bodyTemplates are valid bodies of each write route, keyed by path prefix.
func bodyTemplates(movieID, actorName string) map[string]map[string]string {
	named := map[string]string{"name": `"Fuzz name"`}
	return map[string]map[string]string{
		"/api/v1/auth/register": {"email": `"fuzz-reg@tenflix.test"`, "password": `"fuzz password 0123"`, "name": `"Fuzz"`},
		"/api/v1/auth/logout":   {"refresh_token": `"not-a-token"`},
		"/api/v1/movie-command/movies": {"name": `"Fuzz movie"`, "type": `"movie"`, "synopsis": `"s"`, "mpaRating": `"PG"`,
			"releaseDate": `"2001-02-03"`, "rating": `7.5`, "image": `"https://img.example/f.jpg"`, "actors": "[" + strconv.Quote(actorName) + "]",
			"creators": `[]`, "categories": `[{"name":"Fuzz category"}]`, "tags": `[]`, "notify": `false`},
		"/api/v1/movie-command/videos": {"movieId": strconv.Quote(movieID), "title": `"Fuzz video"`, "synopsis": `"s"`,
			"lengthSeconds": `60`, "url": `"https://cdn.example/f.m3u8"`},
		"/api/v1/movie-command/actors":     named,
		"/api/v1/movie-command/creators":   named,
		"/api/v1/movie-command/categories": named,
		"/api/v1/movie-command/tags":       named,
	}
}

var queryNames = []string{"q", "category", "tag", "actor", "sort", "page", "size", "year", "minRating", "movieId", "notify"}

// jsonString writes s as a JSON string literal keeping invalid bytes raw
// (json.Marshal would replace them with U+FFFD).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fuzzRequest is one request of the HTTP fuzz test.
type fuzzRequest struct {
	method, target, contentType, token string
	body                               []byte
}

// generator makes requests from a fixed-seed source.
type generator struct {
	rnd       *rand.Rand
	routes    []apiRoute
	ids       []string // path ids to use besides nasty ones
	templates map[string]map[string]string
	user      string // the fuzz test's own account: never the admin's (a lockout would break other tests)
	tokens    []string
}

func (g *generator) pick(n int) int { return g.rnd.IntN(n) }

func (g *generator) nasty() string { return nastyStrings[g.pick(len(nastyStrings))] }

func (g *generator) value() string {
	if g.pick(4) == 0 {
		return strconv.Itoa(g.rnd.IntN(2000) - 100)
	}
	return g.nasty()
}

func (g *generator) jsonValue() string {
	if g.pick(2) == 0 {
		return jsonString(g.nasty())
	}
	return nastyJSON[g.pick(len(nastyJSON))]
}

func (g *generator) query() string {
	switch g.pick(8) {
	case 0:
		return ""
	case 1:
		return []string{"%zz", "a=%", "a;b=1", "&&&", "=", "%ff=1", "%00", "q=%ed%a0%80"}[g.pick(8)]
	}
	var parts []string
	for range 1 + g.pick(3) {
		name := queryNames[g.pick(len(queryNames))]
		if g.pick(6) == 0 {
			name = g.nasty()
		}
		parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(g.value()))
	}
	return strings.Join(parts, "&")
}

func (g *generator) form() string {
	v := url.Values{}
	switch g.pick(3) {
	case 0:
		v.Set("grant_type", "password")
		v.Set("username", g.user)
		v.Set("password", g.value())
	case 1:
		v.Set("grant_type", "refresh_token")
		v.Set("refresh_token", g.value())
	}
	for range g.pick(3) {
		v.Add([]string{"grant_type", "username", "password", "refresh_token", g.nasty()}[g.pick(5)], g.value())
	}
	if g.pick(8) == 0 {
		return v.Encode() + []string{"&a=%", ";", "&&", "=%zz"}[g.pick(4)]
	}
	return v.Encode()
}

// jsonBody mutates a route's template: fields replaced by nasty values,
// unknown or duplicate keys, or a nasty body altogether.
func (g *generator) jsonBody(template map[string]string) string {
	if template == nil || g.pick(6) == 0 {
		return nastyJSON[g.pick(len(nastyJSON))]
	}
	var fields []string
	for _, k := range slices.Sorted(maps.Keys(template)) { // sorted: the same requests every run
		v := template[k]
		switch g.pick(5) {
		case 0:
			v = g.jsonValue()
		case 1:
			if strings.HasPrefix(v, "[") {
				v = "[" + g.jsonValue() + "]"
			}
		}
		if g.pick(10) > 0 {
			fields = append(fields, strconv.Quote(k)+":"+v)
		}
	}
	if g.pick(4) == 0 {
		fields = append(fields, jsonString(g.nasty())+":"+g.jsonValue())
	}
	if g.pick(6) == 0 && len(fields) > 0 {
		fields = append(fields, fields[g.pick(len(fields))])
	}
	return "{" + strings.Join(fields, ",") + "}"
}

func (g *generator) next() fuzzRequest {
	rt := g.routes[g.pick(len(g.routes))]
	path := rt.path
	if strings.Contains(path, "{id}") {
		id := g.ids[g.pick(len(g.ids))]
		if g.pick(2) == 0 {
			id = g.nasty()
		}
		path = strings.ReplaceAll(path, "{id}", url.PathEscape(id))
	}
	r := fuzzRequest{method: rt.method, target: path, token: g.tokens[g.pick(len(g.tokens))]}
	if q := g.query(); q != "" {
		r.target += "?" + q
	}
	if rt.method != "POST" && rt.method != "PUT" && g.pick(4) > 0 {
		return r
	}
	switch {
	case strings.HasSuffix(rt.path, "/auth/token") || (strings.HasSuffix(rt.path, "/auth/logout") && g.pick(2) == 0):
		r.contentType, r.body = "application/x-www-form-urlencoded", []byte(g.form())
	default:
		tmpl := g.templates[strings.TrimSuffix(rt.path, "/{id}")]
		r.contentType, r.body = "application/json", []byte(g.jsonBody(tmpl))
	}
	switch g.pick(12) {
	case 0:
		r.contentType = ""
	case 1:
		r.contentType = []string{"text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x", ";;;", "application/x-www-form-urlencoded"}[g.pick(5)]
	}
	return r
}

// seedCorpus is the fixed part: every route with each nasty path id, query
// value and body field.
func (g *generator) seedCorpus() []fuzzRequest {
	var out []fuzzRequest
	for i, rt := range g.routes {
		for j, s := range nastyStrings {
			if (i+j)%4 != 0 { // a quarter of the pairs, spread over every route and value
				continue
			}
			path := strings.ReplaceAll(rt.path, "{id}", url.PathEscape(s))
			r := fuzzRequest{method: rt.method, target: path + "?q=" + url.QueryEscape(s) + "&page=" + url.QueryEscape(s), token: g.tokens[j%len(g.tokens)]}
			if rt.method == "POST" || rt.method == "PUT" {
				if strings.HasSuffix(rt.path, "/auth/token") {
					r.contentType = "application/x-www-form-urlencoded"
					r.body = []byte(url.Values{"grant_type": {"password"}, "username": {s}, "password": {s}}.Encode())
				} else {
					r.contentType = "application/json"
					r.body = []byte(`{"name":` + jsonString(s) + `,"title":` + jsonString(s) + `,"email":` + jsonString(s) + `}`)
				}
			}
			out = append(out, r)
		}
		for _, body := range nastyJSON {
			if rt.method == "POST" || rt.method == "PUT" {
				out = append(out, fuzzRequest{method: rt.method, target: strings.ReplaceAll(rt.path, "{id}", g.ids[0]),
					contentType: "application/json", body: []byte(body), token: stack.adminToken})
			}
		}
	}
	return out
}

// Every public route of the gateway, with a fixed seed corpus of nasty
// inputs and a few thousand generated requests: never a 5xx, every error in
// the envelope.
func TestFuzzEveryPublicRoute(t *testing.T) {
	const generated = 3000
	start := time.Now()
	u := randomHex(3)
	actor := createNamed(t, "actors", "Fuzz actor "+u)
	r := command(t, http.MethodPost, "/movies", map[string]any{"name": "Fuzz base " + u, "type": "movie", "releaseDate": "2000-01-01"})
	mustStatus(t, r, http.StatusCreated)
	var m struct{ ID string }
	r.json(t, &m)
	g := &generator{
		rnd:       rand.New(rand.NewPCG(6, 2026)),
		routes:    publicRoutes(t),
		ids:       []string{m.ID, actor.ID, "00000000-0000-0000-0000-000000000000", "not-an-id"},
		templates: bodyTemplates(m.ID, actor.Name),
		user:      "fuzz-" + randomHex(4) + "@tenflix.test",
		tokens:    []string{stack.adminToken, stack.adminToken, stack.userToken, "", "not.a.jwt"},
	}
	reqs := g.seedCorpus()
	nSeed := len(reqs)
	for range generated {
		reqs = append(reqs, g.next())
	}

	client := &http.Client{Timeout: 30 * time.Second}
	var (
		mu       sync.Mutex
		byStatus = map[int]int{}
		failures []string
	)
	work := make(chan fuzzRequest)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for r := range work {
				status, body, err := sendRaw(client, r)
				mu.Lock()
				byStatus[status]++
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s %s: %v", r.method, abbreviate([]byte(r.target)), err))
				case status >= 500 || (status >= 300 && !isEnvelope(body)):
					failures = append(failures, fmt.Sprintf("%s %s (%s) %q: %d %s",
						r.method, abbreviate([]byte(r.target)), r.contentType, abbreviate(r.body), status, abbreviate(body)))
				}
				mu.Unlock()
			}
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()

	var summary []string
	for _, s := range slices.Sorted(maps.Keys(byStatus)) {
		summary = append(summary, fmt.Sprintf("%d: %d", s, byStatus[s]))
	}
	t.Logf("%d requests (%d seed, %d generated) over %d routes in %s; by status: %s",
		len(reqs), nSeed, generated, len(g.routes), time.Since(start).Round(time.Millisecond), strings.Join(summary, ", "))
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}

func sendRaw(client *http.Client, r fuzzRequest) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, gateway+r.target, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func isEnvelope(b []byte) bool {
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	return json.Unmarshal(b, &env) == nil && env.Error.Code != "" && env.Error.Message != ""
}

func abbreviate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
