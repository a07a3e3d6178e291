package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Payments go to the Midtrans emulator (bin/midtrans-emulator, from
// tools/midtrans-emulator) unless the developer brings a real sandbox key:
//   - MIDTRANS_SERVER_KEY unset: devstack generates the secret
//     midtrans-server-key, starts the emulator with it before the apps, and
//     gives the payment app MIDTRANS_API_URL, the emulator's address;
//   - MIDTRANS_SERVER_KEY set: that key becomes the secret, no emulator runs,
//     and the payment app talks to Midtrans' sandbox.
const (
	midtransEmulatorPort = 8090
	midtransSecret       = "midtrans-server-key"
	midtransApp          = "payment" // the only app that talks to Midtrans
)

var midtransEmulatorAddr = "127.0.0.1:" + strconv.Itoa(midtransEmulatorPort)

// midtransSandboxKey is the developer's real sandbox server key, "" for the emulator.
func midtransSandboxKey() string { return strings.TrimSpace(os.Getenv("MIDTRANS_SERVER_KEY")) }

// secretOverrides are the secrets the environment decides.
func secretOverrides() map[string]string {
	if key := midtransSandboxKey(); key != "" {
		return map[string]string{midtransSecret: key}
	}
	return nil
}

// midtransAppEnv is, per app id, what devstack adds to the app's
// environment: the emulator's URL for the payment app, when it runs.
func midtransAppEnv(emulated bool) map[string][]string {
	if !emulated {
		return nil
	}
	return map[string][]string{midtransApp: {"MIDTRANS_API_URL=http://" + midtransEmulatorAddr}}
}

// emulatorSettings are where the emulator runs and whom it notifies.
type emulatorSettings struct {
	bin             string
	addr            string
	dataDir         string // transactions survive a restart
	logDir, pidDir  string
	secretsFile     string // DATA/secrets.json: the server key
	notificationURL string // the gateway's notification route
}

func newEmulatorSettings(bin, data string, apps []app) emulatorSettings {
	return emulatorSettings{
		bin: bin, addr: midtransEmulatorAddr, dataDir: filepath.Join(data, "midtrans"),
		logDir: filepath.Join(data, "logs"), pidDir: filepath.Join(data, "pids"),
		secretsFile: filepath.Join(data, "secrets.json"), notificationURL: notificationURL(apps),
	}
}

// notificationURL is the gateway's public notification route, as Midtrans'
// dashboard would name it.
func notificationURL(apps []app) string {
	port := 8080
	for _, a := range apps {
		if a.ID == "gateway" && a.AppPort > 0 {
			port = a.AppPort
		}
	}
	return fmt.Sprintf("http://127.0.0.1:%d/api/v1/orders/notificationMidtrans", port)
}

// startMidtransEmulator runs the emulator with the generated server key and
// waits until it answers.
func startMidtransEmulator(ctx context.Context, s emulatorSettings) (*proc, error) {
	secrets, err := readSecrets(s.secretsFile)
	if err != nil {
		return nil, err
	}
	key, _ := secrets[midtransSecret].(string)
	if key == "" {
		return nil, fmt.Errorf("%s: no %s (is it in dapr/secrets.local.json?)", s.secretsFile, midtransSecret)
	}
	env := append(os.Environ(),
		"MIDTRANS_SERVER_KEY="+key,
		"MIDTRANS_EMULATOR_ADDR="+s.addr,
		"MIDTRANS_EMULATOR_DATA="+s.dataDir,
		"MIDTRANS_NOTIFICATION_URL="+s.notificationURL,
	)
	p, err := startProc("midtrans-emulator", []string{s.bin}, filepath.Dir(s.dataDir), env,
		filepath.Join(s.logDir, "midtrans-emulator.log"), filepath.Join(s.pidDir, "midtrans-emulator.pid"))
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, "http://"+s.addr+"/emulator/healthz", 15*time.Second); err != nil {
		stopAll([]*proc{p}, stopGrace)
		return nil, err
	}
	return p, nil
}

// waitHTTP waits until url answers 2xx, or fails once p exits.
func waitHTTP(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if p.exited() {
			return fmt.Errorf("%s exited during startup (%s): see %s", p.name, p.exitDesc(), p.logPath)
		}
		if req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err == nil {
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (see %s)", p.name, ctx.Err(), p.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
