package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The Postman collection in docs/ walks the main flows through the gateway;
// newman (tools/postman, installed by make) runs it against this stack.
func TestPostmanCollection(t *testing.T) {
	root := os.Getenv("TENFLIX_ROOT")
	newman := filepath.Join(root, "tools", "postman", "node_modules", ".bin", "newman")
	if _, err := os.Stat(newman); err != nil {
		t.Fatalf("newman is not installed (make e2e installs it): %v", err)
	}
	cmd := exec.Command(newman, "run", filepath.Join(root, "docs", "tenflix.postman_collection.json"),
		"--env-var", "baseUrl="+gateway,
		"--env-var", "adminPassword="+stackSecret(t, "identity-admin-password"),
		"--reporters", "cli", "--color", "off", "--disable-unicode")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("newman: %v\n%s", err, out)
	}
	t.Logf("newman:\n%s", tail(out, 2500))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
