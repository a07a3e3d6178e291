package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// broker starts an in-process Kafka (kfake) with the two topics.
func broker(t *testing.T) (addr string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.SeedTopics(2, "catalog", "catalog-deadletter"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// deadLetter produces a message as daprd dead-letters one: the original
// CloudEvent as the value, the delivery's metadata as headers.
func deadLetter(t *testing.T, addr string, partition int32, id, key string) {
	t.Helper()
	value := `{"specversion":"1.0","id":"` + id + `","type":"tenflix.catalog.movie.created.v9","topic":"catalog",` +
		`"pubsubname":"pubsub","data":{"id":"m1"}}`
	rec := &kgo.Record{Topic: "catalog-deadletter", Partition: partition, Key: []byte(key), Value: []byte(value),
		Headers: []kgo.RecordHeader{
			{Key: "__topic", Value: []byte("catalog")}, {Key: "__offset", Value: []byte("7")},
			{Key: "pubsubName", Value: []byte("pubsub")}, {Key: "traceparent", Value: []byte("00-abc-def-01")},
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func runCmd(t *testing.T, addr string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, append(args, "-brokers", addr), &out, &errOut); err != nil {
		t.Fatalf("deadletter %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// replayedRecords reads what reached the catalog topic.
func replayedRecords(t *testing.T, addr string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("catalog"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var got []*kgo.Record
	for ctx.Err() == nil && len(got) <= want {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	return got
}

func TestListShowReplay(t *testing.T) {
	addr := broker(t)
	if out := runCmd(t, addr, "list"); !strings.Contains(out, "no dead-lettered messages") {
		t.Fatalf("list of an empty topic:\n%s", out)
	}
	deadLetter(t, addr, 0, "ev-1", "k1")
	deadLetter(t, addr, 1, "ev-2", "k2")

	out := runCmd(t, addr, "list")
	for _, want := range []string{"0/0", "ev-1", "1/0", "ev-2", "tenflix.catalog.movie.created.v9", "catalog"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "yes") {
		t.Errorf("nothing was replayed yet:\n%s", out)
	}

	for _, ref := range []string{"ev-2", "1/0"} {
		out = runCmd(t, addr, "show", ref)
		if !strings.Contains(out, "id: ev-2") || !strings.Contains(out, `"pubsubname": "pubsub"`) || !strings.Contains(out, "traceparent") {
			t.Errorf("show %s:\n%s", ref, out)
		}
	}

	// One by id.
	runCmd(t, addr, "replay", "ev-1")
	got := replayedRecords(t, addr, 1)
	if len(got) != 1 || string(got[0].Key) != "k1" || !strings.Contains(string(got[0].Value), `"id":"ev-1"`) {
		t.Fatalf("after replay ev-1, catalog holds %d records", len(got))
	}
	headers := map[string]string{}
	for _, h := range got[0].Headers {
		headers[h.Key] = string(h.Value)
	}
	if headers["__topic"] != "" || headers["__offset"] != "" || headers["traceparent"] == "" ||
		headers[headerReplayedFrom] != "catalog-deadletter/0/0" {
		t.Errorf("replayed headers %v: daprd's delivery metadata dropped, the rest kept, origin recorded", headers)
	}

	// All, twice: the second replays nothing.
	if out := runCmd(t, addr, "replay", "-all"); !strings.Contains(out, "2 replayed") {
		t.Errorf("replay -all:\n%s", out)
	}
	if out := runCmd(t, addr, "replay", "--all"); !strings.Contains(out, "0 replayed") {
		t.Errorf("second replay -all:\n%s", out)
	}
	if got := replayedRecords(t, addr, 3); len(got) != 3 {
		t.Errorf("catalog holds %d records, want 3 (one by id, two by -all)", len(got))
	}
	if out := runCmd(t, addr, "list"); strings.Count(out, "yes") != 2 {
		t.Errorf("list after replay -all marks both:\n%s", out)
	}

	// A message dead-lettered later is replayed by the next -all, alone.
	deadLetter(t, addr, 0, "ev-3", "k3")
	if out := runCmd(t, addr, "replay", "-all"); !strings.Contains(out, "1 replayed") || !strings.Contains(out, "ev-3") {
		t.Errorf("replay -all after a new one:\n%s", out)
	}
}

func TestBadCommandLines(t *testing.T) {
	addr := broker(t)
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"show"}, {"replay"}, {"list", "extra"}, {"replay", "-all", "ev-1"}, {"list", "-nope"},
	} {
		if err := run(context.Background(), append(args, "-brokers", addr), io.Discard, io.Discard); err == nil {
			t.Errorf("deadletter %v: err = nil", args)
		}
	}
	if err := run(context.Background(), []string{"show", "nothing-here", "-brokers", addr}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "nothing-here") {
		t.Errorf("show of an unknown id: %v", err)
	}
}
