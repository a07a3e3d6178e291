package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Sentry, Dapr's CA (bin/sentry: see tools/daprd/sentry), on loopback: every sidecar gets its workload certificate
// (SPIFFE id spiffe://public/ns/default/<app-id>) from it, and sidecars talk
// to each other only over mTLS with those certificates.
const (
	sentryPort        = 3900
	sentryHealthzPort = 3901
)

var sentryAddr = "127.0.0.1:" + strconv.Itoa(sentryPort)

// startSentry runs sentry with its CA in DATA/sentry (generated on first start,
// kept after) and returns the CA's root certificate: the sidecars' trust anchors.
func startSentry(ctx context.Context, root, data, logDir string) (*proc, string, error) {
	bin, err := findBinary(root, "sentry")
	if err != nil {
		return nil, "", err
	}
	creds := filepath.Join(data, "sentry")
	if err := os.MkdirAll(creds, 0o700); err != nil {
		return nil, "", err
	}
	argv := []string{bin,
		"--issuer-credentials", creds,
		"--trust-domain", "localhost",
		"--port", strconv.Itoa(sentryPort),
		"--listen-address", "127.0.0.1",
		"--healthz-port", strconv.Itoa(sentryHealthzPort),
		"--config", filepath.Join(root, "dapr", "sentry.yaml"),
	}
	p, err := startProc("sentry", argv, data, os.Environ(),
		filepath.Join(logDir, "sentry.log"), filepath.Join(data, "pids", "sentry.pid"))
	if err != nil {
		return nil, "", err
	}
	anchors, err := waitSentry(ctx, p, filepath.Join(creds, "ca.crt"))
	if err != nil {
		stopAll([]*proc{p}, stopGrace)
		return nil, "", err
	}
	return p, anchors, nil
}

// waitSentry waits until sentry is healthy and its root certificate exists.
func waitSentry(ctx context.Context, p *proc, caFile string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", sentryHealthzPort)
	for {
		if p.exited() {
			return "", fmt.Errorf("sentry exited during startup (%s): see %s", p.exitDesc(), p.logPath)
		}
		if ca, err := os.ReadFile(caFile); err == nil && len(ca) > 0 {
			if req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err == nil {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					if resp.StatusCode/100 == 2 {
						return string(ca), nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("sentry not ready: %w (see %s)", ctx.Err(), p.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
