package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kfake"
)

// The infra ports are fixed: components/pubsub.yaml and dapr/dapr.yaml name them.
const (
	kafkaPort = 9092
	mongoPort = 27017
)

var infraPorts = []int{kafkaPort, mongoPort}

// kafkaPartitions is the partition count of every topic but Dapr's internal
// outbox topics.
const kafkaPartitions = 8

// outboxPartitions is the partition count of Dapr's internal outbox topics
// (see partitionsOf).
const outboxPartitions = 32

// defaultPostgresURL is checked when no secret names a database, so that
// `devstack infra` still guarantees a server for the integration tests.
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// infra is what the apps need besides their sidecars: Kafka and MongoDB run in
// this process; PostgreSQL is the machine's own server, only checked.
type infra struct {
	kafka *kfake.Cluster
	mongo *mongoServer
	logs  []*os.File
}

func startInfra(ctx context.Context, o options) (_ *infra, err error) {
	logDir := filepath.Join(o.data, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}

	secrets := filepath.Join(o.data, "secrets.json")
	if err := writeSecrets(filepath.Join(o.root, "dapr", "secrets.local.json"), secrets, o.dbSuffix); err != nil {
		return nil, err
	}
	urls, err := postgresURLs(secrets)
	if err != nil {
		return nil, err
	}
	if err := ensurePostgres(ctx, urls); err != nil {
		return nil, err
	}

	topics, err := deriveTopics(o.root)
	if err != nil {
		return nil, fmt.Errorf("derive kafka topics: %w", err)
	}
	kafkaLog, err := openLog(filepath.Join(logDir, "kafka.log"))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cluster, err := startKafka(kafkaPort, filepath.Join(o.data, "kafka"), topics, kafkaLog)
	if err != nil {
		return nil, err
	}
	slog.Info("kafka (kfake) listening", "addr", cluster.ListenAddrs()[0], "topics", len(topics), "took", time.Since(start).Round(time.Millisecond))
	defer func() {
		if err != nil {
			cluster.Close()
		}
	}()

	mongoLog, err := openLog(filepath.Join(logDir, "mongo.log"))
	if err != nil {
		return nil, err
	}
	start = time.Now()
	mongo, err := startMongo(fmt.Sprintf("127.0.0.1:%d", mongoPort), filepath.Join(o.data, "mongo"), mongoLog)
	if err != nil {
		return nil, err
	}
	slog.Info("mongodb (ferretdb) listening", "uri", mongo.URI(), "took", time.Since(start).Round(time.Millisecond))

	return &infra{kafka: cluster, mongo: mongo, logs: []*os.File{kafkaLog, mongoLog}}, nil
}

// Close stops MongoDB and Kafka. Closing kfake cleanly matters: it writes its
// topic list and end offsets only then (dapr-notes.md).
func (i *infra) Close() {
	i.mongo.Close()
	i.kafka.Close()
	for _, f := range i.logs {
		f.Close()
	}
	slog.Info("kafka and mongodb stopped")
}

// startKafka starts kfake on 127.0.0.1:port (0: any free port) persisting to dir.
// partitionsOf gives Dapr's internal outbox topics more partitions: daprd
// 1.14 handles each internal message with a 1 s sleep, one message at a time
// per partition, so partitions bound how many writes per second leave the
// outbox (and how long a burst queues).
func partitionsOf(topic string) int32 {
	if strings.HasSuffix(topic, "outbox") {
		return outboxPartitions
	}
	return kafkaPartitions
}

func startKafka(port int, dir string, topics []string, logw io.Writer) (*kfake.Cluster, error) {
	c, err := kfake.NewCluster(
		kfake.Ports(port),
		kfake.DataDir(dir),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(kafkaPartitions),
		kfake.WithLogger(kfake.BasicLogger(logw, kfake.LogLevelWarn)),
	)
	if err != nil {
		return nil, fmt.Errorf("start kafka (kfake) on port %d: %w", port, err)
	}
	// Declared topics are created here rather than auto-created: kfake does
	// not persist auto-created topics until a clean Close, and CreateTopic
	// persists at once. Topics already on disk keep their partitions.
	for _, t := range topics {
		if c.TopicInfo(t) != nil {
			continue
		}
		if err := c.CreateTopic(t, partitionsOf(t), nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("create kafka topic %s: %w", t, err)
		}
	}
	return c, nil
}

// mongoServer is an embedded FerretDB on SQLite.
type mongoServer struct {
	db     *ferretdb.FerretDB
	cancel context.CancelFunc
	done   chan struct{}
}

// startMongo listens on addr ("127.0.0.1:0" picks a free port) and stores in dir.
func startMongo(addr, dir string, logw io.Writer) (*mongoServer, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(logw, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("start mongodb (ferretdb) on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &mongoServer{db: db, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		_ = db.Run(ctx) // returns only when ctx is canceled
	}()
	return m, nil
}

func (m *mongoServer) URI() string { return m.db.MongoDBURI() }

func (m *mongoServer) Close() {
	m.cancel()
	<-m.done
}

// generated replaces a template placeholder with a fresh secret, so that no
// usable secret is ever committed: "generate:password" (24 random bytes,
// base64url) and "generate:rsa-key" (an RSA 2048 private key, PKCS#8 PEM).
// Other values are returned as they are.
func generated(s string) (string, error) {
	switch s {
	case "generate:password":
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(b), nil
	case "generate:rsa-key":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
	default:
		return s, nil
	}
}

// writeSecrets creates dst from the template src, and later adds the
// template's new top-level keys to it; values already in dst are the
// developer's and are kept. In every value it writes, a postgres URL gets
// suffix appended to its database name, so that a test run can have databases
// of its own.
func writeSecrets(src, dst, suffix string) error {
	template, err := readSecrets(src)
	if err != nil {
		return fmt.Errorf("secrets template: %w", err)
	}
	current := map[string]any{}
	_, statErr := os.Stat(dst)
	exists := statErr == nil
	if exists {
		if current, err = readSecrets(dst); err != nil {
			return err
		}
	}
	var added []string
	for k, v := range template {
		if _, ok := current[k]; ok {
			continue
		}
		v, err := mapStrings(v, func(s string) (string, error) {
			if isPostgresURL(s) && suffix != "" {
				return withDBSuffix(s, suffix)
			}
			return generated(s)
		})
		if err != nil {
			return fmt.Errorf("%s: %s: %w", src, k, err)
		}
		current[k] = v
		added = append(added, k)
	}
	if len(added) == 0 {
		return nil
	}
	slices.Sort(added)
	out, err := json.MarshalIndent(current, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if exists {
		slog.Info("added new secrets from the template", "file", dst, "keys", added, "db_suffix", suffix)
	} else {
		slog.Info("wrote secrets", "file", dst, "from", src, "db_suffix", suffix)
	}
	return os.WriteFile(dst, append(out, '\n'), 0o600)
}

func readSecrets(file string) (map[string]any, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var secrets map[string]any
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	return secrets, nil
}

// postgresURLs returns every postgres URL among the values of a secrets file.
func postgresURLs(file string) ([]string, error) {
	secrets, err := readSecrets(file)
	if err != nil {
		return nil, err
	}
	var urls []string
	_, _ = mapStrings(secrets, func(s string) (string, error) {
		if isPostgresURL(s) {
			urls = append(urls, s)
		}
		return s, nil
	})
	slices.Sort(urls)
	return slices.Compact(urls), nil
}

// mapStrings applies fn to every string value of decoded JSON; secrets may be
// nested (the secret store's nestedSeparator).
func mapStrings(v any, fn func(string) (string, error)) (any, error) {
	switch v := v.(type) {
	case string:
		return fn(v)
	case map[string]any:
		for k, x := range v {
			y, err := mapStrings(x, fn)
			if err != nil {
				return nil, err
			}
			v[k] = y
		}
	case []any:
		for i, x := range v {
			y, err := mapStrings(x, fn)
			if err != nil {
				return nil, err
			}
			v[i] = y
		}
	}
	return v, nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func withDBSuffix(raw, suffix string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse postgres URL: %w", err) // no raw: it may hold a password
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", fmt.Errorf("postgres URL for %s has no database name", u.Host)
	}
	u.Path = "/" + db + suffix
	return u.String(), nil
}

// ensurePostgres makes sure the server of every URL answers and every database
// exists. A local cluster that is down is started once (machines here have no
// systemd to do it).
func ensurePostgres(ctx context.Context, urls []string) error {
	if len(urls) == 0 {
		urls = []string{defaultPostgresURL}
	}
	startTried := false
	for _, raw := range urls {
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			return fmt.Errorf("parse postgres URL: %w", err)
		}
		db := cfg.Database
		admin := cfg.Copy()
		admin.Database = "postgres"
		admin.ConnectTimeout = 3 * time.Second
		where := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)

		conn, err := pgx.ConnectConfig(ctx, admin)
		if err != nil && !startTried && isLocalHost(cfg.Host) {
			startTried = true
			slog.Warn("postgres not answering, starting the local cluster", "addr", where, "err", err)
			if startErr := startLocalPostgres(ctx); startErr != nil {
				slog.Warn("could not start postgres", "err", startErr)
			}
			conn, err = connectRetry(ctx, admin, 30*time.Second)
		}
		if err != nil {
			return fmt.Errorf("postgres at %s: %w", where, err)
		}
		err = createDatabase(ctx, conn, db)
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("postgres at %s: %w", where, err)
		}
	}
	return nil
}

func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil || exists {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a parallel run won
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	slog.Info("created database", "database", name)
	return nil
}

func connectRetry(ctx context.Context, cfg *pgx.ConnConfig, timeout time.Duration) (*pgx.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil || time.Now().After(deadline) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startLocalPostgres starts the Debian cluster (the newest version installed).
func startLocalPostgres(ctx context.Context) error {
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("no cluster in /etc/postgresql: install postgresql")
	}
	version := entries[len(entries)-1].Name()
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s main start: %w: %s", version, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func isLocalHost(h string) bool {
	return h == "127.0.0.1" || h == "localhost" || h == "::1" || strings.HasPrefix(h, "/")
}

// ensureTokens returns the app<->sidecar API tokens, generating them on first
// use. They stay the same across runs so that a developer can script curl.
func ensureTokens(file string) (daprToken, appToken string, err error) {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		content := fmt.Sprintf("DAPR_API_TOKEN=%s\nAPP_API_TOKEN=%s\n", randomHex(), randomHex())
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			return "", "", err
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	for line := range strings.Lines(string(raw)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "DAPR_API_TOKEN":
			daprToken = v
		case "APP_API_TOKEN":
			appToken = v
		}
	}
	if daprToken == "" || appToken == "" {
		return "", "", fmt.Errorf("%s: DAPR_API_TOKEN or APP_API_TOKEN missing (delete the file to regenerate)", file)
	}
	return daprToken, appToken, nil
}

func randomHex() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}
