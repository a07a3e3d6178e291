package main

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// mailpit is the local SMTP server of notification's emails (bin/mailpit,
// built from tools/mailpit): it keeps every message, for the web UI and its
// HTTP API (tests read it), and delivers nothing. dapr/secrets.local.json's
// smtp-* secrets point at it; it accepts any login (notification logs in
// with smtp-username / smtp-password, as it would against a real server).
const (
	mailpitSMTPPort = 1025
	mailpitWebPort  = 8025
	mailpitSMTPAddr = "127.0.0.1:1025"
	mailpitWebAddr  = "127.0.0.1:8025"
	// mailpitMax messages are kept (its default, 500, is less than one
	// benchmark's fan-out); older ones are deleted.
	mailpitMax = "20000"
)

func mailpitPorts() []portUse {
	return []portUse{{mailpitSMTPPort, "mailpit smtp"}, {mailpitWebPort, "mailpit web"}}
}

// startMailpit runs mailpit with its data in DATA/mailpit and waits until
// it answers.
func startMailpit(ctx context.Context, bin, data string) (*proc, error) {
	dir := filepath.Join(data, "mailpit")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	argv := []string{bin, "--smtp", mailpitSMTPAddr, "--listen", mailpitWebAddr,
		"--database", filepath.Join(dir, "mailpit.db"), "--max", mailpitMax,
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure"}
	p, err := startProc("mailpit", argv, data, os.Environ(),
		filepath.Join(data, "logs", "mailpit.log"), filepath.Join(data, "pids", "mailpit.pid"))
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, "http://"+mailpitWebAddr+"/readyz", 15*time.Second); err != nil {
		stopAll([]*proc{p}, stopGrace)
		return nil, err
	}
	return p, nil
}
