package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// The infra ports are fixed: components/pubsub.yaml and dapr/dapr.yaml name them
// (sentry's are in sentry.go); no app of the run file may take one.
const (
	kafkaPort = 9092
	mongoPort = 27017
)

var infraPorts = []int{kafkaPort, mongoPort, sentryPort, sentryHealthzPort, midtransEmulatorPort, cloudinaryEmulatorPort}

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
	mongo *proc
	logs  []*os.File
}

func startInfra(ctx context.Context, o options) (_ *infra, err error) {
	logDir := filepath.Join(o.data, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}

	secrets := filepath.Join(o.data, "secrets.json")
	template := filepath.Join(o.root, "dapr", "secrets.local.json")
	if err := writeSecrets(template, secrets, o.dbSuffix, secretOverrides()); err != nil {
		return nil, err
	}
	backend, err := mediaBackendOf(os.Getenv)
	if err != nil {
		return nil, err
	}
	if err := setCloudinarySecret(template, secrets, o.dbSuffix, backend); err != nil {
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

	start = time.Now()
	mongo, err := startMongoProcess(ctx, fmt.Sprintf("127.0.0.1:%d", mongoPort), o.data, logDir)
	if err != nil {
		return nil, err
	}
	slog.Info("mongodb (ferretdb) listening", "addr", fmt.Sprintf("127.0.0.1:%d", mongoPort), "pid", mongo.pid(), "took", time.Since(start).Round(time.Millisecond))

	return &infra{kafka: cluster, mongo: mongo, logs: []*os.File{kafkaLog}}, nil
}

// Close stops MongoDB and Kafka. Closing kfake cleanly matters: it writes its
// topic list and end offsets only then (dapr-notes.md).
func (i *infra) Close() {
	stopAll([]*proc{i.mongo}, stopGrace)
	i.kafka.Close()
	for _, f := range i.logs {
		f.Close()
	}
	slog.Info("kafka and mongodb stopped")
}

func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}
