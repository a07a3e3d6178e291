package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMediaBackendSwitch(t *testing.T) {
	for _, c := range []struct {
		backend, url string
		want         mediaBackend
	}{
		{"", "", backendLocal},
		{"local", "cloudinary://k:s@c", backendLocal},
		{"cloudinary", "", backendCloudinaryEmulated},
		{" Cloudinary ", "cloudinary://k:s@c", backendCloudinaryReal},
		{"", "cloudinary://k:s@c", backendCloudinaryReal},
	} {
		env := map[string]string{"TENFLIX_MEDIA_BACKEND": c.backend, "CLOUDINARY_URL": c.url}
		if got, err := mediaBackendOf(func(k string) string { return env[k] }); err != nil || got != c.want {
			t.Errorf("%q %q: %v %v, want %v", c.backend, c.url, got, err, c.want)
		}
	}
	if _, err := mediaBackendOf(func(k string) string { return map[string]string{"TENFLIX_MEDIA_BACKEND": "s3"}[k] }); err == nil {
		t.Error("TENFLIX_MEDIA_BACKEND=s3 accepted")
	}

	apps := []app{{ID: "gateway", AppPort: 8081}}
	t.Setenv("CLOUDINARY_NOTIFICATION_URL", "")
	if env := cloudinaryAppEnv(backendLocal, apps); env != nil {
		t.Errorf("local backend env %v", env)
	}
	env := cloudinaryAppEnv(backendCloudinaryEmulated, apps)
	if m := env["media"]; len(m) != 1 || m[0] != "CLOUDINARY_NOTIFICATION_URL=http://127.0.0.1:8081/api/v1/media/notifications/cloudinary" {
		t.Errorf("media env %v", m)
	}
	if g := env["gateway"]; len(g) != 1 || g[0] != "WEB_MEDIA_ORIGINS=https://res.cloudinary.com,http://127.0.0.1:8091" {
		t.Errorf("gateway env %v", g)
	}
	t.Setenv("CLOUDINARY_NOTIFICATION_URL", "https://tunnel.example/api/v1/media/notifications/cloudinary")
	env = cloudinaryAppEnv(backendCloudinaryReal, apps)
	if m := env["media"]; len(m) != 1 || !strings.HasSuffix(m[0], "=https://tunnel.example/api/v1/media/notifications/cloudinary") || env["gateway"] != nil {
		t.Errorf("real account env %v", env)
	}
}

// The secret follows the backend at every start: it does not stick.
func TestCloudinarySecret(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "secrets.local.json")
	dst := filepath.Join(dir, ".data", "secrets.json")
	if err := os.WriteFile(src, []byte(`{"cloudinary-url": "", "cloudinary-emulator-api-secret": "generate:password"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSecrets(src, dst, "", nil); err != nil {
		t.Fatal(err)
	}
	secret := func(k string) string {
		s, err := readSecrets(dst)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := s[k].(string)
		return v
	}
	apiSecret := secret("cloudinary-emulator-api-secret")
	if err := setCloudinarySecret(src, dst, "", backendCloudinaryEmulated); err != nil {
		t.Fatal(err)
	}
	if got := secret("cloudinary-url"); len(apiSecret) < 30 || got != "cloudinary://devstack:"+apiSecret+"@tenflix-local?upload_prefix=http%3A%2F%2F127.0.0.1%3A8091" {
		t.Fatalf("emulated: %q", got)
	}
	t.Setenv("CLOUDINARY_URL", " cloudinary://1:real@mine ")
	if err := setCloudinarySecret(src, dst, "", backendCloudinaryReal); err != nil || secret("cloudinary-url") != "cloudinary://1:real@mine" {
		t.Fatalf("real: %q %v", secret("cloudinary-url"), err)
	}
	if err := setCloudinarySecret(src, dst, "", backendLocal); err != nil || secret("cloudinary-url") != "" {
		t.Fatalf("local: %q %v", secret("cloudinary-url"), err)
	}
}

// The emulator as devstack runs it: built from tools/cloudinary-emulator,
// started with the secret's account, healthy, its log free of the secret.
func TestCloudinaryEmulatorStarts(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain to build the emulator")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cloudinary-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "cloudinary-emulator")
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the emulator: %v\n%s", err, out)
	}
	data := filepath.Join(dir, ".data")
	for _, sub := range []string{"logs", "pids"} {
		if err := os.MkdirAll(filepath.Join(data, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	if _, err := startCloudinaryEmulator(context.Background(), bin, data, addr); err == nil {
		t.Fatal("started without secrets")
	}
	if err := os.WriteFile(filepath.Join(data, "secrets.json"),
		[]byte(`{"cloudinary-url": "`+emulatorCloudinaryURL("generated-secret")+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := startCloudinaryEmulator(context.Background(), bin, data, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stopAll([]*proc{p}, stopGrace)
	resp, err := http.Get("http://" + addr + "/emulator/assets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("assets: %d", resp.StatusCode)
	}
	stopAll([]*proc{p}, stopGrace)
	if _, err := os.Stat(filepath.Join(data, "pids", "cloudinary-emulator.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
	if st, err := os.Stat(filepath.Join(data, "cloudinary")); err != nil || !st.IsDir() {
		t.Errorf("no data in .data/cloudinary: %v", err)
	}
	if log := tail(filepath.Join(data, "logs", "cloudinary-emulator.log"), 50); strings.Contains(log, "generated-secret") || log == "" {
		t.Errorf("log:\n%s", log)
	}
}
