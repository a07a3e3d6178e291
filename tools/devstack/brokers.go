package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The brokers of the local stack: Kafka (kfake, in-process) and MongoDB
// (FerretDB, a child process).

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
	capRebalanceTimeout(c)
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

// joinRebalanceTimeout caps the rebalance timeout a consumer asks for when it
// joins a group: below Sarama's 30 s network read timeout.
const joinRebalanceTimeout = 20 * time.Second

// capRebalanceTimeout makes a group whose member was killed finish its
// rebalance. kfake resets a group's rebalance deadline (the joiners' largest
// rebalance timeout, Sarama's default 60 s) on every JoinGroup, and waits
// for every member, dead ones too, until that deadline. Sarama gives up on
// its JoinGroup after its 30 s read timeout and joins again, which resets
// the deadline: the rebalance never completes and the group's topics are not
// consumed again (measured after a sidecar's SIGKILL: "Error consuming ...
// i/o timeout" every 30 s, offsets frozen for minutes). Real Kafka keeps the
// deadline of the rebalance it started. With the cap, the rebalance ends (the
// dead member dropped) before the live member's JoinGroup times out.
func capRebalanceTimeout(c *kfake.Cluster) {
	limit := int32(joinRebalanceTimeout / time.Millisecond)
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if j, ok := req.(*kmsg.JoinGroupRequest); ok && j.RebalanceTimeoutMillis > limit {
			j.RebalanceTimeoutMillis = limit
		}
		return nil, nil, false // not handled: kfake goes on with the request as changed
	})
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

// serveMongo is the `devstack mongodb` command: FerretDB in a process of its
// own, so that it can be stopped, frozen or killed on its own (the outage
// tests do) and restarted by devstack's supervision.
func serveMongo(ctx context.Context, addr, dir string) error {
	m, err := startMongo(addr, dir, os.Stderr)
	if err != nil {
		return err
	}
	<-ctx.Done()
	m.Close()
	return nil
}

// startMongoProcess runs `devstack mongodb` as a child (log DATA/logs/mongo.log,
// pid DATA/pids/mongodb.pid) and waits until it accepts connections. It is
// supervised at once: a crash restarts it.
func startMongoProcess(ctx context.Context, addr, data, logDir string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := []string{self, "mongodb", "-addr", addr, "-dir", filepath.Join(data, "mongo")}
	p, err := startProc("mongodb", argv, data, os.Environ(),
		filepath.Join(logDir, "mongo.log"), filepath.Join(data, "pids", "mongodb.pid"))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			p.supervise()
			return p, nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			stopAll([]*proc{p}, stopGrace)
			return nil, fmt.Errorf("mongodb (ferretdb) did not start on %s: %v (see %s)", addr, err, p.logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *mongoServer) Close() {
	m.cancel()
	<-m.done
}
