package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// media transcodes with the local ffmpeg ladder unless the developer asks
// for its Cloudinary backend. The secret cloudinary-url (media reads it;
// empty means the local backend) is set at every start from the
// environment, so that a backend chosen once does not stick:
//   - TENFLIX_MEDIA_BACKEND=cloudinary, CLOUDINARY_URL unset: devstack starts
//     the Cloudinary emulator (bin/cloudinary-emulator) on 127.0.0.1:8091
//     with an account of its own (the generated secret
//     cloudinary-emulator-api-secret), and the secret is that account's URL
//     with upload_prefix=http://127.0.0.1:8091; the gateway's watch page may
//     then play from the emulator (WEB_MEDIA_ORIGINS);
//   - CLOUDINARY_URL set (TENFLIX_MEDIA_BACKEND empty or cloudinary): a real
//     account; no emulator. Cloudinary must reach the notification URL:
//     give CLOUDINARY_NOTIFICATION_URL, a public URL of the gateway's route
//     (a tunnel to 127.0.0.1:8080);
//   - otherwise (or TENFLIX_MEDIA_BACKEND=local): the secret is empty.
const (
	cloudinaryEmulatorPort   = 8091
	cloudinarySecret         = "cloudinary-url"
	cloudinaryEmulatorSecret = "cloudinary-emulator-api-secret"
	cloudinaryEmulatorCloud  = "tenflix-local"
	cloudinaryEmulatorKey    = "devstack"
	cloudinaryNotifyPath     = "/api/v1/media/notifications/cloudinary"
)

var cloudinaryEmulatorAddr = "127.0.0.1:" + strconv.Itoa(cloudinaryEmulatorPort)

// mediaBackend is where media transcodes.
type mediaBackend int

const (
	backendLocal              mediaBackend = iota
	backendCloudinaryEmulated              // the emulator
	backendCloudinaryReal                  // the developer's account
)

func (b mediaBackend) String() string {
	return [...]string{"local ffmpeg", "Cloudinary (emulator)", "Cloudinary (CLOUDINARY_URL)"}[b]
}

// mediaBackendOf reads TENFLIX_MEDIA_BACKEND and CLOUDINARY_URL.
func mediaBackendOf(getenv func(string) string) (mediaBackend, error) {
	own := strings.TrimSpace(getenv("CLOUDINARY_URL")) != ""
	switch b := strings.ToLower(strings.TrimSpace(getenv("TENFLIX_MEDIA_BACKEND"))); b {
	case "local", "ffmpeg":
		return backendLocal, nil
	case "", "cloudinary":
		switch {
		case own:
			return backendCloudinaryReal, nil
		case b == "cloudinary":
			return backendCloudinaryEmulated, nil
		}
		return backendLocal, nil
	default:
		return 0, fmt.Errorf("TENFLIX_MEDIA_BACKEND=%s: want local or cloudinary", b)
	}
}

// emulatorCloudinaryURL is the emulator's account as media's adapter and the
// emulator read it.
func emulatorCloudinaryURL(apiSecret string) string {
	return fmt.Sprintf("cloudinary://%s:%s@%s?upload_prefix=%s", cloudinaryEmulatorKey, url.QueryEscape(apiSecret),
		cloudinaryEmulatorCloud, url.QueryEscape("http://"+cloudinaryEmulatorAddr))
}

// setCloudinarySecret writes the secret cloudinary-url for backend into dst
// (after writeSecrets made it from the template, with the emulator's
// generated API secret).
func setCloudinarySecret(src, dst, suffix string, backend mediaBackend) error {
	value := ""
	switch backend {
	case backendCloudinaryReal:
		value = strings.TrimSpace(os.Getenv("CLOUDINARY_URL"))
	case backendCloudinaryEmulated:
		secrets, err := readSecrets(dst)
		if err != nil {
			return err
		}
		key, _ := secrets[cloudinaryEmulatorSecret].(string)
		if key == "" {
			return fmt.Errorf("%s: no %s (is it in dapr/secrets.local.json?)", dst, cloudinaryEmulatorSecret)
		}
		value = emulatorCloudinaryURL(key)
	}
	return writeSecrets(src, dst, suffix, map[string]string{cloudinarySecret: value})
}

// cloudinaryAppEnv is, per app id, what devstack adds for the backend:
// media's notification URL (the gateway's route), and the emulator's origin
// among the watch page's media origins.
func cloudinaryAppEnv(backend mediaBackend, apps []app) map[string][]string {
	if backend == backendLocal {
		return nil
	}
	notify := strings.TrimSpace(os.Getenv("CLOUDINARY_NOTIFICATION_URL"))
	if notify == "" {
		notify = gatewayURL(apps) + cloudinaryNotifyPath
	}
	env := map[string][]string{mediaApp: {"CLOUDINARY_NOTIFICATION_URL=" + notify}}
	if backend == backendCloudinaryEmulated {
		env["gateway"] = []string{"WEB_MEDIA_ORIGINS=https://res.cloudinary.com,http://" + cloudinaryEmulatorAddr}
	}
	return env
}

// gatewayURL is the gateway's local origin.
func gatewayURL(apps []app) string {
	port := 8080
	for _, a := range apps {
		if a.ID == "gateway" && a.AppPort > 0 {
			port = a.AppPort
		}
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// startCloudinaryEmulator runs the emulator on addr with the account media
// was given, keeping its assets in DATA/cloudinary, and waits until it
// answers.
func startCloudinaryEmulator(ctx context.Context, bin, data, addr string) (*proc, error) {
	secrets, err := readSecrets(filepath.Join(data, "secrets.json"))
	if err != nil {
		return nil, err
	}
	account, _ := secrets[cloudinarySecret].(string)
	if account == "" {
		return nil, fmt.Errorf("%s: no %s", filepath.Join(data, "secrets.json"), cloudinarySecret)
	}
	env := append(os.Environ(),
		"CLOUDINARY_URL="+account,
		"CLOUDINARY_EMULATOR_ADDR="+addr,
		"CLOUDINARY_EMULATOR_DATA="+filepath.Join(data, "cloudinary"),
	)
	p, err := startProc("cloudinary-emulator", []string{bin}, data, env,
		filepath.Join(data, "logs", "cloudinary-emulator.log"), filepath.Join(data, "pids", "cloudinary-emulator.pid"))
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, "http://"+addr+"/emulator/healthz", 15*time.Second); err != nil {
		stopAll([]*proc{p}, stopGrace)
		return nil, err
	}
	return p, nil
}
