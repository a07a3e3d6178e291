package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	mongooptions "go.mongodb.org/mongo-driver/mongo/options"
)

// Records produced before a clean Close must be readable after a restart, and
// a topic added to the components after the first start must be created and
// persisted too (kfake ignores SeedTopics for an existing DataDir).
func TestKafkaSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()

	c, err := startKafka(0, dir, []string{"catalog"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cl := kafkaClient(t, c.ListenAddrs()[0])
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "catalog", Key: []byte("k"), Value: []byte("movie-1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	c.Close()

	c, err = startKafka(0, dir, []string{"catalog", "added-later"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if info := c.TopicInfo("added-later"); info == nil {
		t.Error("topic added-later not created on restart")
	}
	cl = kafkaClient(t, c.ListenAddrs()[0],
		kgo.ConsumeTopics("catalog"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	cl.Close()
	if len(got) != 1 || got[0] != "movie-1" {
		t.Errorf("after restart read %v, want [movie-1]", got)
	}
	// A copy of the running broker's files is what a crash (kill -9) leaves:
	// the topic created at restart must already be on disk.
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = startKafka(0, crashed, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.TopicInfo("added-later") == nil {
		t.Error("topic added-later not persisted")
	}
	if p := c.PartitionInfos("added-later"); len(p) != kafkaPartitions {
		t.Errorf("added-later has %d partitions, want %d", len(p), kafkaPartitions)
	}
}

func kafkaClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestMongoAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	var logs strings.Builder
	m, err := startMongo("127.0.0.1:0", filepath.Join(dir, "mongo"), &logs)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	client, err := mongo.Connect(ctx, mongooptions.Client().ApplyURI(m.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	if err := client.Ping(ctx, nil); err != nil {
		t.Fatalf("ping %s: %v", m.URI(), err)
	}
	coll := client.Database("devstack_test").Collection("movies")
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "m1", "title": "Alien"}); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Title string }
	if err := coll.FindOne(ctx, bson.M{"_id": "m1"}).Decode(&doc); err != nil || doc.Title != "Alien" {
		t.Fatalf("find: %v %+v", err, doc)
	}
}

func TestWriteSecrets(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "secrets.local.json")
	dst := filepath.Join(dir, ".data", "secrets.json")
	template := `{
  "movie-command-db": "postgres://postgres@127.0.0.1:5432/movie_command?sslmode=disable",
  "nested": {"db": "postgresql://u:p@127.0.0.1:5432/other", "key": "plain"}
}`
	if err := os.WriteFile(src, []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSecrets(src, dst, "_e2e1", nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if want := "postgres://postgres@127.0.0.1:5432/movie_command_e2e1?sslmode=disable"; got["movie-command-db"] != want {
		t.Errorf("movie-command-db = %v, want %s", got["movie-command-db"], want)
	}
	nested := got["nested"].(map[string]any)
	if nested["db"] != "postgresql://u:p@127.0.0.1:5432/other_e2e1" || nested["key"] != "plain" {
		t.Errorf("nested = %v", nested)
	}
	urls, err := postgresURLs(dst)
	if err != nil || len(urls) != 2 {
		t.Errorf("postgresURLs = %v, %v", urls, err)
	}

	// The developer's values are kept; keys new in the template are added.
	got["movie-command-db"] = "postgres://me@127.0.0.1:5432/mine"
	edited, _ := json.Marshal(got)
	if err := os.WriteFile(dst, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	template = `{"movie-command-db": "postgres://x@127.0.0.1:5432/y", "kafka-brokers": "127.0.0.1:9092",
  "billing-db": "postgres://postgres@127.0.0.1:5432/billing"}`
	if err := os.WriteFile(src, []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSecrets(src, dst, "_e2e2", nil); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(dst)
	got = map[string]any{}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"movie-command-db": "postgres://me@127.0.0.1:5432/mine",
		"kafka-brokers":    "127.0.0.1:9092",
		"billing-db":       "postgres://postgres@127.0.0.1:5432/billing_e2e2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %s", k, got[k], v)
		}
	}
	if _, ok := got["nested"]; !ok {
		t.Error("key only in the developer's file was dropped")
	}
}

func TestEnsureTokens(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.env")
	first, err := ensureTokens(file, []string{"gateway", "movie-command"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for id, tok := range first {
		for _, v := range []string{tok.dapr, tok.app} {
			if len(v) < 32 || seen[v] {
				t.Errorf("%s: weak or shared token %q", id, v)
			}
			seen[v] = true
		}
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// A later run keeps the tokens and adds the new app's.
	second, err := ensureTokens(file, []string{"gateway", "movie-command", "identity"})
	if err != nil || second["gateway"] != first["gateway"] || second["movie-command"] != first["movie-command"] {
		t.Errorf("tokens changed on second run: %v", err)
	}
	if second["identity"].dapr == "" {
		t.Error("no tokens for the new app")
	}
	raw, _ := os.ReadFile(file)
	if !strings.Contains(string(raw), "MOVIE_COMMAND_DAPR_API_TOKEN="+first["movie-command"].dapr+"\n") {
		t.Errorf("tokens.env:\n%s", raw)
	}
}

func TestCheckPortsFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	err = checkPortsFree([]portUse{{port, "x daprHTTPPort"}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d (x daprHTTPPort)", port)) {
		t.Errorf("err = %v", err)
	}
}

// Needs the machine's PostgreSQL; skipped when none answers.
func TestEnsurePostgres_CreatesDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	probe, err := pgx.Connect(ctx, defaultPostgresURL+"&connect_timeout=2")
	if err != nil {
		t.Skipf("no postgres at 127.0.0.1:5432: %v", err)
	}
	t.Cleanup(func() { probe.Close(context.Background()) }) // after the DROP below (cleanups run last first)

	name := fmt.Sprintf("devstack_test_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_, _ = probe.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
	})
	url := "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
	for range 2 { // the second run finds it
		if err := ensurePostgres(ctx, []string{url}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("database not created: %v", err)
	}
	conn.Close(ctx)
}

func TestGeneratedSecrets(t *testing.T) {
	pw, err := generated("generate:password")
	if err != nil || len(pw) < 30 {
		t.Fatalf("password %q %v", pw, err)
	}
	other, _ := generated("generate:password")
	if other == pw {
		t.Fatal("two generated passwords are equal")
	}
	key, err := generated("generate:rsa-key")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(key))
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("not a PEM private key: %q", key)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
	if v, _ := generated("plain value"); v != "plain value" {
		t.Fatalf("plain value changed to %q", v)
	}
}
