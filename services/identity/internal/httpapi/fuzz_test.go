package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"tenflix/services/identity/internal/app"
)

// fuzzPost sends one request as the sidecar would and checks the answer:
// never a 5xx, every error in the envelope.
func fuzzPost(t *testing.T, e *env, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("dapr-api-token", appToken)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
	}
	if rec.Code >= 300 {
		var b struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
			t.Fatalf("POST %s %q: %d is not an envelope: %s", path, body, rec.Code, rec.Body)
		}
	}
	return rec
}

// The token endpoint's form, against a real database: the measured 500 of
// issue 6 (username=%00) among the seeds.
func FuzzTokenForm(f *testing.F) {
	e := newEnv(f)
	pw := url.QueryEscape(adminPW)
	for _, s := range []string{
		"grant_type=password&username=" + url.QueryEscape(app.AdminEmail) + "&password=" + pw,
		"grant_type=password&username=%00&password=x",
		"grant_type=password&username=\xff&password=\x00",
		"grant_type=password&username=admin%40tenflix.local%00&password=" + pw,
		"grant_type=password&username=%c0%80&password=%ed%a0%80",
		"grant_type=refresh_token&refresh_token=%00",
		"grant_type=refresh_token&refresh_token=" + strings.Repeat("A", 5000),
		"grant_type=password&grant_type=password&username=a&password=b",
		"grant_type=%ff", "grant_type=password;username=x", "a=%", strings.Repeat("&", 10000), "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, form string) {
		rec := fuzzPost(t, e, "/api/v1/auth/token", "application/x-www-form-urlencoded", []byte(form))
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), `"access_token"`) {
			t.Fatalf("200 without a token: %s", rec.Body)
		}
	})
}

// Registration's JSON, against a real database.
func FuzzRegister(f *testing.F) {
	e := newEnv(f)
	for _, s := range []string{
		`{"email":"fuzz@example.com","password":"a long enough passphrase","name":"Fuzz"}`,
		`{"email":"\u0000@example.com","password":"a long enough passphrase","name":"x"}`,
		"{\"email\":\"b@example.com\",\"password\":\"a long enough passphrase\",\"name\":\"\xff\"}",
		`{"email":"c@example.com","password":"a long enough passphrase","name":"\ud800"}`,
		`{"email":"d@example.com","password":"` + strings.Repeat("é", 300) + `","name":"x"}`,
		`{"email":"e@example.com","password":"a long enough passphrase","name":"x","roles":["admin"]}`,
		`{"email":"f@example.com","email":"g@example.com","password":"a long enough passphrase","name":"x"}`,
		`{"email":1e999}`, `{"email":["x"]}`, `{"email":{"a":1}}`, `{"nope":1}`, `[]`, `null`, `"x"`, ``, `{`,
		strings.Repeat(`{"a":`, 20000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, e, "/api/v1/auth/register", "application/json", body)
	})
}
