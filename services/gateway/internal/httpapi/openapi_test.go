package httpapi_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"tenflix/services/gateway/internal/httpapi"
)

// openAPIFile is the lead's document of the public API (repository docs/).
const openAPIFile = "../../../../docs/openapi.yaml"

type operation struct {
	Security  *[]map[string][]string `yaml:"security"`
	Responses map[string]any         `yaml:"responses"`
}

// TestOpenAPIDocumentsEveryRoute: the document and the route table list the
// same endpoints, and agree on which need a token.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatalf("read the OpenAPI document: %v", err)
	}
	var doc struct {
		Security []map[string][]string                 `yaml:"security"`
		Paths    map[string]map[string]yaml.RawMessage `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse %s: %v", openAPIFile, err)
	}
	documented := map[string]operation{}
	for path, item := range doc.Paths {
		for method, body := range item {
			if !slices.Contains([]string{"get", "put", "post", "delete", "patch", "head", "options"}, method) {
				continue // path-level parameters and the like
			}
			var op operation
			if err := yaml.Unmarshal(body, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}

	param := regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	served := map[string]bool{}
	for _, rt := range httpapi.Routes() {
		key := rt.Method + " " + param.ReplaceAllString(rt.Path, "{$1}")
		served[key] = true
		op, ok := documented[key]
		if !ok {
			t.Errorf("%s is served but not documented", key)
			continue
		}
		security := doc.Security
		if op.Security != nil {
			security = *op.Security
		}
		if public := len(security) == 0; public != (rt.Access == httpapi.Public) {
			t.Errorf("%s: the document says public=%v, the route table says %s", key, public, rt.Access)
		}
		if rt.Access != httpapi.Public && op.Responses["401"] == nil {
			t.Errorf("%s: 401 not documented", key)
		}
		if rt.Access == httpapi.Admin && op.Responses["403"] == nil {
			t.Errorf("%s: 403 not documented for an admin route", key)
		}
		if rt.RateLimited && op.Responses["429"] == nil {
			t.Errorf("%s: 429 not documented for a rate-limited route", key)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("%s is documented but the gateway does not serve it", key)
		}
	}
}
