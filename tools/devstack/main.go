// Command devstack runs Tenflix's local stack without Docker and without the
// Dapr CLI: PostgreSQL (the machine's own), Kafka (in-process kfake), MongoDB
// (in-process FerretDB), and one daprd plus one app process per entry of
// dapr/dapr.yaml.
//
//	devstack up     [-root DIR] [-data DIR] [-db-suffix S] [-ready-timeout D]
//	devstack infra  [-root DIR] [-data DIR] [-db-suffix S]
//	devstack stop   [-data DIR]
//	devstack topics [-root DIR]
//	devstack compose-env [-root DIR]
//	devstack databases [-root DIR] [-all]
//	devstack mongodb -addr HOST:PORT -dir DIR
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

const usage = `usage: devstack <command> [flags]

commands:
  up      start infra, every sidecar and every app of dapr/dapr.yaml; runs until SIGINT/SIGTERM
  infra   start only infra (Postgres check, Kafka on :9092, MongoDB on :27017); runs until signal
  stop    stop a running "up" or "infra" (SIGTERM to the pid in DATA/devstack.pid)
  topics  print the Kafka topics derived from components/*.yaml
  databases    the services' PostgreSQL databases (-all: with every suffixed test copy on the server)
  compose-env  generate what docker-compose.yml needs (.env with per-app tokens and trust anchors, .compose/)
  mongodb serve FerretDB (the local MongoDB) on -addr from -dir; up and infra run it as a child

run "devstack <command> -h" for its flags`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second Ctrl-C kills devstack at once (its
	// children still get SIGTERM from the kernel: see childProcAttr).
	go func() {
		<-ctx.Done()
		stop()
	}()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))

	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the flag package printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stdout, usage)
		return errors.New("missing command")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("devstack "+cmd, flag.ContinueOnError)

	var o options
	switch cmd {
	case "up", "infra":
		fs.StringVar(&o.root, "root", "", "repository root (default: the directory above cwd that holds dapr/dapr.yaml)")
		fs.StringVar(&o.data, "data", "", "data directory (default: ROOT/.data); for up its base name must be .data")
		fs.StringVar(&o.dbSuffix, "db-suffix", "", "appended to every database name when DATA/secrets.json is first written")
		if cmd == "up" {
			fs.DurationVar(&o.readyTimeout, "ready-timeout", 180*time.Second, "how long to wait for every sidecar to be healthy")
			fs.StringVar(&o.then, "then", "", "a program to run once the stack is ready (e.g. the demo-data seeder); its output goes to DATA/logs/then.log")
			fs.BoolVar(&o.metrics, "metrics", os.Getenv("TENFLIX_METRICS") == "1", "serve every sidecar's Prometheus metrics (daprd 1.14 listens on every interface for them); default from TENFLIX_METRICS=1")
		}
	case "stop":
		fs.StringVar(&o.data, "data", "", "data directory (default: ROOT/.data)")
	case "mongodb":
		fs.StringVar(&o.mongoAddr, "addr", fmt.Sprintf("127.0.0.1:%d", mongoPort), "listen address")
		fs.StringVar(&o.mongoDir, "dir", "", "data directory (SQLite files)")
	case "databases":
		fs.BoolVar(&o.allDatabases, "all", false, "also list the suffixed copies (tests, e2e) that exist on the local server")
		fallthrough
	case "topics", "compose-env":
		fs.StringVar(&o.root, "root", "", "repository root (default: the directory above cwd that holds dapr/dapr.yaml)")
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stdout, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := o.resolve(cmd); err != nil {
		return err
	}

	switch cmd {
	case "up":
		return up(ctx, o, stdout)
	case "infra":
		return infraOnly(ctx, o, stdout)
	case "stop":
		return stopRunning(o.data, stdout)
	case "mongodb":
		return serveMongo(ctx, o.mongoAddr, o.mongoDir)
	case "compose-env":
		return composeEnv(ctx, o, stdout)
	case "databases":
		return databases(ctx, o, o.allDatabases, stdout)
	default: // topics
		topics, err := deriveTopics(o.root)
		if err != nil {
			return err
		}
		for _, t := range topics {
			fmt.Fprintln(stdout, t)
		}
		return nil
	}
}

// options holds the flags of every command, resolved to absolute paths.
type options struct {
	root         string
	data         string
	dbSuffix     string
	readyTimeout time.Duration
	then         string
	metrics      bool
	mongoAddr    string
	mongoDir     string
	allDatabases bool
}

func (o *options) resolve(cmd string) error {
	if cmd == "mongodb" {
		if o.mongoDir == "" {
			return errors.New("mongodb: -dir is required")
		}
		return nil
	}
	// stop only needs a data dir; it may be given without a repository around.
	if o.root == "" && !(cmd == "stop" && o.data != "") {
		root, err := findRoot()
		if err != nil {
			return err
		}
		o.root = root
	}
	if o.root != "" {
		abs, err := filepath.Abs(o.root)
		if err != nil {
			return err
		}
		o.root = abs
	}
	if o.data == "" {
		o.data = filepath.Join(o.root, ".data")
	}
	abs, err := filepath.Abs(o.data)
	if err != nil {
		return err
	}
	o.data = abs
	return nil
}

// findRoot walks up from the working directory to the first directory holding
// dapr/dapr.yaml, so devstack works from anywhere inside the repository.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "dapr", "dapr.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no dapr/dapr.yaml above the working directory: pass -root")
		}
		dir = parent
	}
}
