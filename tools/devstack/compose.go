package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// composeEnv is `devstack compose-env`: everything docker-compose.yml refuses
// to start without, generated once and never committed:
//   - ROOT/.env: every app's pair of API tokens (the names of tokens.env) and
//     DAPR_TRUST_ANCHORS, the root certificate of the compose stack's CA;
//   - ROOT/.compose/sentry: that CA (sentry's issuer credentials);
//   - ROOT/.compose/secrets.json: the secret store, from dapr/secrets.compose.json
//     with its "generate:" values (signing key, admin password) filled in.
//
// Existing values are kept, so running it again changes nothing.
func composeEnv(ctx context.Context, o options, stdout io.Writer) error {
	apps, err := loadRunFile(filepath.Join(o.root, "dapr", "dapr.yaml"))
	if err != nil {
		return err
	}
	dir := filepath.Join(o.root, ".compose")
	secrets := filepath.Join(dir, "secrets.json")
	if err := writeSecrets(filepath.Join(o.root, "dapr", "secrets.compose.json"), secrets, "", nil); err != nil {
		return err
	}
	// The daprd and sentry images run as a non-root user, which must read
	// what is mounted from .compose/ (local and git-ignored).
	if err := os.Chmod(secrets, 0o644); err != nil {
		return err
	}
	envFile := filepath.Join(o.root, ".env")
	if _, err := ensureTokens(envFile, appIDs(apps)); err != nil {
		return err
	}
	raw, err := os.ReadFile(envFile)
	if err != nil {
		return err
	}
	if !strings.Contains(string(raw), "DAPR_TRUST_ANCHORS=") {
		// A sentry run on loopback creates the CA in .compose/sentry; the
		// compose sentry then serves with the same credentials.
		logDir := filepath.Join(dir, "logs")
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return err
		}
		if err := checkPortsFree([]portUse{{sentryPort, "sentry"}, {sentryHealthzPort, "sentry healthz"}}); err != nil {
			return err
		}
		p, anchors, err := startSentry(ctx, o.root, dir, logDir)
		if err != nil {
			return err
		}
		stopAll([]*proc{p}, stopGrace)
		for _, f := range []string{"ca.crt", "issuer.crt", "issuer.key"} {
			if err := os.Chmod(filepath.Join(dir, "sentry", f), 0o644); err != nil {
				return err
			}
		}
		if err := os.Chmod(filepath.Join(dir, "sentry"), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(envFile, os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(f, "# Root certificate of .compose/sentry: the sidecars' trust anchors.\nDAPR_TRUST_ANCHORS=%q\n", anchors)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "compose: %s, %s and %s are ready; docker compose up --build\n",
		relTo(o.root, envFile), relTo(o.root, filepath.Join(dir, "secrets.json")), relTo(o.root, filepath.Join(dir, "sentry")))
	return nil
}
