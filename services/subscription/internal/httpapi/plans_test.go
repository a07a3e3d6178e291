package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tenflix/platform/apierror"
	"tenflix/services/subscription/internal/httpapi"
)

func TestPlanRoutes(t *testing.T) {
	e := newEnv(t)
	admin := []string{"Authorization", e.bearer(t, "admin-1", "admin")}
	user := []string{"Authorization", e.bearer(t, "user-1", "user")}
	base := httpapi.Prefix + "/plans"

	rec := e.do("POST", base, `{"name":"Premium","price":150000,"discountPrice":99000,"description":"4K","activePeriod":30}`, admin...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	id := created["id"].(string)
	want := `{"id":"` + id + `","name":"Premium","price":150000,"discountPrice":99000,"description":"4K","activePeriod":30,"active":true}`
	if rec.Body.String() != want || rec.Header().Get("Location") != base+"/"+id || rec.Header().Get("ETag") != `"1"` {
		t.Fatalf("create answered %s %v\nwant %s", rec.Body, rec.Header(), want)
	}

	// Any user reads it; a GET answer can be sent back as a PUT.
	rec = e.do("GET", base+"/"+id, "", user...)
	if rec.Code != http.StatusOK || rec.Body.String() != want || rec.Header().Get("ETag") != `"1"` {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	sent := strings.Replace(want, `"discountPrice":99000`, `"discountPrice":null`, 1)
	rec = e.do("PUT", base+"/"+id, sent, append(admin, "If-Match", `"1"`)...)
	if rec.Code != http.StatusOK || rec.Body.String() != sent || rec.Header().Get("ETag") != `"2"` {
		t.Fatalf("put: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	// A stale If-Match changes nothing.
	wantError(t, e.do("PUT", base+"/"+id, planBody, append(admin, "If-Match", `"1"`)...), http.StatusConflict, apierror.Conflict)
	wantError(t, e.do("DELETE", base+"/"+id, "", append(admin, "If-Match", `"1"`)...), http.StatusConflict, apierror.Conflict)
	// The name is taken, ignoring case.
	wantError(t, e.do("POST", base, `{"name":"PREMIUM","price":1,"activePeriod":1}`, admin...), http.StatusConflict, apierror.Conflict)

	basic := e.createPlan(t, planBody)
	listed := func(query string, headers []string) []string {
		t.Helper()
		m := decode(t, e.do("GET", base+query, "", headers...), http.StatusOK)
		var ids []string
		for _, it := range m["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		return ids
	}
	if got := listed("", user); len(got) != 2 || got[0] != basic || got[1] != id {
		t.Fatalf("listed %v, want the cheapest first", got)
	}

	// DELETE deactivates: still readable, no longer listed for users.
	rec = e.do("DELETE", base+"/"+id, "", append(admin, "If-Match", `"2"`)...)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if m := decode(t, e.do("GET", base+"/"+id, "", user...), http.StatusOK); m["active"] != false {
		t.Fatalf("deactivated plan %v", m)
	}
	if got := listed("?page=1&size=10", user); len(got) != 1 || got[0] != basic {
		t.Fatalf("listed for users %v", got)
	}
	if got := listed("?all=true", admin); len(got) != 2 {
		t.Fatalf("listed for admins %v", got)
	}
	if got := listed("?size=1&page=2", user); len(got) != 0 {
		t.Fatalf("page past the end %v", got)
	}
	// PUT with active re-activates.
	rec = e.do("PUT", base+"/"+id, `{"name":"Premium","price":150000,"description":"4K","activePeriod":30,"active":true}`, admin...)
	if m := decode(t, rec, http.StatusOK); m["active"] != true || rec.Header().Get("ETag") != `"4"` {
		t.Fatalf("re-activated %v %v", m, rec.Header())
	}
}

func TestBadInputIsAClearClientError(t *testing.T) {
	e := newEnv(t)
	admin := []string{"Authorization", e.bearer(t, "admin-1", "admin")}
	id := e.createPlan(t, planBody)
	body := func(fields string) string {
		return `{"name":"Gold","price":100000,"description":"","activePeriod":30` + fields + `}`
	}
	cases := []struct {
		name, body string
		code       apierror.Code
	}{
		{"price zero", `{"name":"Gold","price":0,"activePeriod":30}`, apierror.Invalid},
		{"price missing", `{"name":"Gold","activePeriod":30}`, apierror.Invalid},
		{"price negative", `{"name":"Gold","price":-5,"activePeriod":30}`, apierror.Invalid},
		{"price as a string", `{"name":"Gold","price":"100000","activePeriod":30}`, apierror.Invalid},
		{"price with a fraction", `{"name":"Gold","price":100.5,"activePeriod":30}`, apierror.Invalid},
		{"price beyond int64", `{"name":"Gold","price":99999999999999999999,"activePeriod":30}`, apierror.Invalid},
		{"discount equal to price", body(`,"discountPrice":100000`), apierror.Invalid},
		{"discount above price", body(`,"discountPrice":100001`), apierror.Invalid},
		{"discount zero", body(`,"discountPrice":0`), apierror.Invalid},
		{"discount negative", body(`,"discountPrice":-1`), apierror.Invalid},
		{"period zero", `{"name":"Gold","price":100000,"activePeriod":0}`, apierror.Invalid},
		{"period too long", `{"name":"Gold","price":100000,"activePeriod":3651}`, apierror.Invalid},
		{"period beyond int32", `{"name":"Gold","price":100000,"activePeriod":4294967327}`, apierror.Invalid},
		{"name missing", `{"price":100000,"activePeriod":30}`, apierror.Invalid},
		{"name blank", `{"name":"   ","price":100000,"activePeriod":30}`, apierror.Invalid},
		{"name too long", `{"name":"` + strings.Repeat("n", 101) + `","price":100000,"activePeriod":30}`, apierror.Invalid},
		{"name with NUL", `{"name":"Go\u0000ld","price":100000,"activePeriod":30}`, apierror.Invalid},
		{"name not UTF-8", "{\"name\":\"G\xffld\",\"price\":100000,\"activePeriod\":30}", apierror.Invalid},
		{"name with a lone surrogate", `{"name":"G\ud800ld","price":100000,"activePeriod":30}`, apierror.Invalid},
		{"description too long", body(`,"description":"` + strings.Repeat("d", 2001) + `"`), apierror.Invalid},
		{"unknown field", body(`,"currency":"USD"`), apierror.Invalid},
		{"active not a bool", body(`,"active":"yes"`), apierror.Invalid},
		{"malformed JSON", `{"name":`, apierror.Invalid},
		{"not an object", `[]`, apierror.Invalid},
		{"two values", body("") + `{}`, apierror.Invalid},
		{"deep nesting", `{"id":` + strings.Repeat("[", 20000) + `}`, apierror.Invalid},
	}
	for _, c := range cases {
		for _, rt := range [][2]string{{"POST", httpapi.Prefix + "/plans"}, {"PUT", httpapi.Prefix + "/plans/" + id}} {
			t.Run(rt[0]+" "+c.name, func(t *testing.T) {
				wantError(t, e.do(rt[0], rt[1], c.body, admin...), http.StatusBadRequest, c.code)
			})
		}
	}
	wantError(t, e.do("POST", httpapi.Prefix+"/plans", "", admin...), http.StatusBadRequest, apierror.Invalid)
	wantError(t, e.do("POST", httpapi.Prefix+"/plans", planBody, append(admin, "Content-Type", "text/plain")...),
		http.StatusUnsupportedMediaType, apierror.UnsupportedMedia)
	for _, q := range []string{"?page=0", "?size=101", "?page=x", "?all=maybe", "?q=%00", "?all=%ff"} {
		wantError(t, e.do("GET", httpapi.Prefix+"/plans"+q, "", admin...), http.StatusBadRequest, apierror.Invalid)
	}
	for _, m := range []string{`abc`, `"0"`, `"-1"`, `W/"x"`} {
		wantError(t, e.do("PUT", httpapi.Prefix+"/plans/"+id, planBody, append(admin, "If-Match", m)...), http.StatusBadRequest, apierror.Invalid)
	}
	wantError(t, e.do("GET", httpapi.Prefix+"/plans/a%00b", "", admin...), http.StatusBadRequest, apierror.Invalid)
	wantError(t, e.do("GET", "/internal/entitlements/u%00", ""), http.StatusBadRequest, apierror.Invalid)
	wantError(t, e.do("GET", "/internal/entitlements/u%ff", ""), http.StatusBadRequest, apierror.Invalid)
	if n := len(e.api.Published()); n != 1 {
		t.Fatalf("bad requests wrote: %d documents published, want only the plan created", n)
	}
}

func TestNotFoundIsInTheEnvelope(t *testing.T) {
	e := newEnv(t)
	admin := []string{"Authorization", e.bearer(t, "admin-1", "admin")}
	for _, rt := range [][2]string{
		{"GET", httpapi.Prefix + "/plans" + someID},
		{"GET", httpapi.Prefix + "/plans/not-a-uuid"},
		{"PUT", httpapi.Prefix + "/plans" + someID},
		{"DELETE", httpapi.Prefix + "/plans" + someID},
		{"GET", httpapi.Prefix + "/me"},
		{"GET", httpapi.Prefix + "/nothing-here"},
		{"GET", "/internal/plans" + someID},
		{"GET", "/internal/plans/not-a-uuid"},
		{"GET", "/internal/orders/o1/subscription"},
		{"GET", "/internal/orders/a:b/subscription"},
	} {
		body := ""
		if rt[0] == "PUT" {
			body = planBody
		}
		wantError(t, e.do(rt[0], rt[1], body, admin...), http.StatusNotFound, apierror.NotFound)
	}
	wantError(t, e.do("PATCH", httpapi.Prefix+"/plans"+someID, "", admin...), http.StatusMethodNotAllowed, apierror.MethodNotAllowed)
}
