package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// up runs infra, sidecars and apps until ctx is canceled (SIGINT/SIGTERM).
func up(ctx context.Context, o options, stdout io.Writer) error {
	begin := time.Now()
	apps, err := loadRunFile(filepath.Join(o.root, "dapr", "dapr.yaml"))
	if err != nil {
		return err
	}
	daprd, err := findBinary(o.root, "daprd")
	if err != nil {
		return err
	}
	daprdDir, err := daprdWorkDir(o.data)
	if err != nil {
		return err
	}
	if err := checkCommands(apps); err != nil {
		return err
	}
	// Without a real sandbox key, payments go to the Midtrans emulator.
	emulated := midtransSandboxKey() == ""
	ports := stackPorts(apps)
	var emulatorBin string
	if emulated {
		if emulatorBin, err = findBinary(o.root, "midtrans-emulator"); err != nil {
			return err
		}
		ports = append(ports, portUse{midtransEmulatorPort, "midtrans-emulator"})
	}
	// Unless asked for, media's Cloudinary backend is off (cloudinary.go).
	backend, err := mediaBackendOf(os.Getenv)
	if err != nil {
		return err
	}
	var cloudinaryBin string
	if backend == backendCloudinaryEmulated {
		if cloudinaryBin, err = findBinary(o.root, "cloudinary-emulator"); err != nil {
			return err
		}
		ports = append(ports, portUse{cloudinaryEmulatorPort, "cloudinary-emulator"})
	}
	mailpitBin, err := findBinary(o.root, "mailpit")
	if err != nil {
		return err
	}
	ports = append(ports, mailpitPorts()...)
	stopInfra, err := claimAndStartInfra(ctx, o, ports)
	if err != nil {
		return err
	}
	defer stopInfra()

	tokensFile := filepath.Join(o.data, "tokens.env")
	tokens, err := ensureTokens(tokensFile, appIDs(apps))
	if err != nil {
		return err
	}
	logDir := filepath.Join(o.data, "logs")
	sentry, anchors, err := startSentry(ctx, o.root, o.data, logDir)
	if err != nil {
		return err
	}
	defer stopAll([]*proc{sentry}, stopGrace) // last: sidecars renew their certificates with it
	var emulator *proc
	if emulated {
		if emulator, err = startMidtransEmulator(ctx, newEmulatorSettings(emulatorBin, o.data, apps)); err != nil {
			return err
		}
		defer stopAll([]*proc{emulator}, stopGrace) // after the apps, which call it
	} else {
		slog.Info("MIDTRANS_SERVER_KEY is set: payment talks to Midtrans' sandbox, no emulator")
	}
	var cloudinaryEmulator *proc
	if backend == backendCloudinaryEmulated {
		if cloudinaryEmulator, err = startCloudinaryEmulator(ctx, cloudinaryBin, o.data, cloudinaryEmulatorAddr); err != nil {
			return err
		}
		defer stopAll([]*proc{cloudinaryEmulator}, stopGrace) // after media, which calls it
	}
	slog.Info("media's transcoding backend", "backend", backend.String())
	mailpit, err := startMailpit(ctx, mailpitBin, o.data)
	if err != nil {
		return err
	}
	defer stopAll([]*proc{mailpit}, stopGrace) // after the apps, which send to it
	set := sidecarSettings{
		daprd: daprd, workDir: daprdDir, logDir: logDir, pidDir: filepath.Join(o.data, "pids"),
		sentryAddr: sentryAddr, trustAnchors: anchors, metrics: o.metrics,
	}
	st, err := startStack(apps, set, tokens, appEnvs(o.data, emulated, cloudinaryAppEnv(backend, apps)))
	if err != nil {
		return err
	}
	defer func() {
		slog.Info("stopping apps, then sidecars")
		st.stop()
	}()
	if err := st.waitReady(ctx, o.readyTimeout, stdout); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted during startup: a normal stop
		}
		return err
	}
	// From here on a crash is restarted, not final.
	sentry.supervise()
	if emulator != nil {
		emulator.supervise()
	}
	if cloudinaryEmulator != nil {
		cloudinaryEmulator.supervise()
	}
	mailpit.supervise()
	st.supervise()

	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\nTenflix is up (%d apps, %s)\n\n", len(apps), time.Since(begin).Round(100*time.Millisecond))
	fmt.Fprintln(w, "APP\tAPP PORT\tDAPR HTTP\tLOGS")
	for _, a := range apps {
		fmt.Fprintf(w, "%s\t%d\t%d\t%s, %s\n", a.ID, a.AppPort, a.DaprHTTPPort,
			relTo(o.root, st.procs[a.ID].logPath), relTo(o.root, st.sidecars[a.ID].logPath))
	}
	w.Flush()
	printInfra(stdout, o)
	if emulated {
		fmt.Fprintf(stdout, "midtrans: http://%s (emulator: Snap pages, POST /simulate/{order_id}, GET /emulator/transactions/{order_id}; logs/midtrans-emulator.log)\n", midtransEmulatorAddr)
	} else {
		fmt.Fprintln(stdout, "midtrans: Midtrans' sandbox (MIDTRANS_SERVER_KEY is set)")
	}
	switch backend {
	case backendCloudinaryEmulated:
		fmt.Fprintf(stdout, "media:    Cloudinary emulator at http://%s (GET /emulator/assets; logs/cloudinary-emulator.log)\n", cloudinaryEmulatorAddr)
	case backendCloudinaryReal:
		fmt.Fprintln(stdout, "media:    Cloudinary (CLOUDINARY_URL is set)")
	default:
		fmt.Fprintln(stdout, "media:    local ffmpeg ladder (TENFLIX_MEDIA_BACKEND=cloudinary for the Cloudinary emulator)")
	}
	fmt.Fprintf(stdout, "mailpit:  http://%s (emails; API /api/v1/messages), SMTP %s; logs/mailpit.log\n", mailpitWebAddr, mailpitSMTPAddr)
	if o.metrics {
		fmt.Fprintf(stdout, "metrics:  on (TENFLIX_METRICS=1): daprd 1.14 serves them on every interface, ports %d-%d\n",
			apps[0].MetricsPort, apps[len(apps)-1].MetricsPort)
	}
	if o.then != "" {
		runThen(ctx, o, stdout)
	}
	fmt.Fprintf(stdout, "tokens:   %s\n\nCtrl-C or `make stop` to stop.\ndevstack: ready\n", tokensFile)

	<-ctx.Done()
	slog.Info("shutting down", "signal", context.Cause(ctx))
	return nil
}

// infraOnly runs Postgres check, Kafka and MongoDB until ctx is canceled: for
// integration tests, and for running the apps with the Dapr CLI instead.
func infraOnly(ctx context.Context, o options, stdout io.Writer) error {
	stopInfra, err := claimAndStartInfra(ctx, o, stackPorts(nil))
	if err != nil {
		return err
	}
	defer stopInfra()

	printInfra(stdout, o)
	fmt.Fprintf(stdout, "\nCtrl-C or `make stop` to stop.\ndevstack: ready\n")
	<-ctx.Done()
	slog.Info("shutting down", "signal", context.Cause(ctx))
	return nil
}

// claimAndStartInfra checks that no devstack runs on o.data and that ports
// are free, writes the pid file, and starts the infrastructure. The returned
// stop closes the infrastructure, then removes the pid file.
func claimAndStartInfra(ctx context.Context, o options, ports []portUse) (stop func(), err error) {
	if err := checkNotRunning(o.data); err != nil {
		return nil, err
	}
	if err := checkPortsFree(ports); err != nil {
		return nil, err
	}
	// Written first so that `devstack stop` also works during startup, and
	// removed last, once everything is down.
	removePID, err := writePID(o.data)
	if err != nil {
		return nil, err
	}
	inf, err := startInfra(ctx, o)
	if err != nil {
		removePID()
		return nil, err
	}
	return func() { inf.Close(); removePID() }, nil
}

func printInfra(out io.Writer, o options) {
	fmt.Fprintf(out, "\nkafka:    127.0.0.1:%d (kfake)\n", kafkaPort)
	fmt.Fprintf(out, "mongodb:  mongodb://127.0.0.1:%d (FerretDB on SQLite)\n", mongoPort)
	fmt.Fprintf(out, "data:     %s\n", o.data)
	fmt.Fprintf(out, "logs:     %s\n", filepath.Join(o.data, "logs"))
}

// findBinary prefers the project's own build (bin/NAME, from make build) over
// one on PATH.
func findBinary(root, name string) (string, error) {
	own := filepath.Join(root, "bin", name)
	if st, err := os.Stat(own); err == nil && !st.IsDir() {
		return own, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in %s nor on PATH: run make build first", name, own)
	}
	return p, nil
}

// daprdWorkDir is where sidecars run. components/secretstore.yaml reads
// `.data/secrets.json` relative to daprd's working directory, so that
// directory must be the data dir's parent, and the data dir must be named
// .data (a test passes -data TMP/.data).
func daprdWorkDir(data string) (string, error) {
	if filepath.Base(data) != ".data" {
		return "", fmt.Errorf("-data %s: the directory must be named .data (sidecars read .data/secrets.json relative to its parent)", data)
	}
	return filepath.Dir(data), nil
}

// checkCommands fails before anything starts when an app is not built.
func checkCommands(apps []app) error {
	for _, a := range apps {
		if st, err := os.Stat(a.Dir); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: appDirPath %s is not a directory", a.ID, a.Dir)
		}
		if _, err := exec.LookPath(a.Command[0]); err != nil {
			return fmt.Errorf("%s: command %s not found (make build?): %w", a.ID, a.Command[0], err)
		}
	}
	return nil
}

func appIDs(apps []app) []string {
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.ID
	}
	return ids
}

func relTo(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return r
	}
	return path
}

// runThen runs the -then program to completion with the stack's environment
// (TENFLIX_DATA); a failure is reported, not fatal: the stack stays up.
func runThen(ctx context.Context, o options, stdout io.Writer) {
	logPath := filepath.Join(o.data, "logs", "then.log")
	logFile, err := openLog(logPath)
	if err != nil {
		slog.Error("-then", "err", err)
		return
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, o.then)
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "TENFLIX_DATA="+o.data)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stdout, "%s failed (%v): see %s\n", filepath.Base(o.then), err, relTo(o.root, logPath))
		return
	}
	fmt.Fprintf(stdout, "%s done in %s (%s)\n", filepath.Base(o.then), time.Since(start).Round(100*time.Millisecond), relTo(o.root, logPath))
}
