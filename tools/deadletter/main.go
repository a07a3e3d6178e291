// Command deadletter lists, shows and replays the messages Dapr dead-lettered
// to Kafka (catalog-deadletter: events movie-query's subscriber answered DROP,
// i.e. undecodable or of an unknown type).
//
//	deadletter list                    every message, oldest first per partition
//	deadletter show <id|partition/offset>
//	deadletter replay <id|partition/offset>
//	deadletter replay -all             every message not replayed by an earlier -all
//
// Flags (after the subcommand): -brokers (default 127.0.0.1:9092), -topic
// (default catalog-deadletter), -group (default tenflix-deadletter-replay).
//
// Replay publishes the message unchanged (the same CloudEvent, the same key) to
// the topic it was dead-lettered from: consumers are idempotent and
// version-aware, so a replay never regresses anything. replay -all records how
// far it got as the committed offsets of a consumer group of its own, so a
// second replay -all replays only what was dead-lettered since; list marks the
// messages below those offsets as replayed.
//
// Replay once the consumer can take the message (a fixed or newer subscriber):
// a message it still refuses is dead-lettered again, as a new message.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const usage = `usage:
  deadletter list [flags]
  deadletter show [flags] <id|partition/offset>
  deadletter replay [flags] <id|partition/offset>
  deadletter replay [flags] -all
flags:
  -brokers string  Kafka brokers, comma-separated (default 127.0.0.1:9092)
  -topic string    dead-letter topic (default catalog-deadletter)
  -group string    consumer group recording replay -all (default tenflix-deadletter-replay)
`

// Headers daprd adds to a dead-lettered message (the Kafka metadata of the
// original delivery); __topic names the topic it came from.
const (
	headerOriginTopic = "__topic"
	daprHeaderPrefix  = "__"
	// headerReplayedFrom marks a replayed message with where it was replayed from.
	headerReplayedFrom = "deadletter-replayed-from"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "deadletter:", err)
		os.Exit(1)
	}
}

// errUsage is a command line that means nothing; run prints the usage.
var errUsage = errors.New("see usage above")

type options struct {
	brokers, topic, group string
	all                   bool
	args                  []string
}

func parse(cmd string, args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&o.brokers, "brokers", "127.0.0.1:9092", "")
	fs.StringVar(&o.topic, "topic", "catalog-deadletter", "")
	fs.StringVar(&o.group, "group", "tenflix-deadletter-replay", "")
	if cmd == "replay" {
		fs.BoolVar(&o.all, "all", false, "")
	}
	// Flags may come before or after the argument.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	o.args = rest
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd := args[0]
	o, err := parse(cmd, args[1:], stderr)
	if err != nil {
		return err
	}
	want := map[string]int{"list": 0, "show": 1, "replay": 1}
	n, ok := want[cmd]
	if cmd == "replay" && o.all {
		n = 0
	}
	if !ok || len(o.args) != n {
		fmt.Fprint(stderr, usage)
		return errUsage
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	msgs, err := readAll(ctx, cl, adm, o.topic)
	if err != nil {
		return err
	}
	replayed, err := committed(ctx, adm, o.group, o.topic)
	if err != nil {
		return err
	}
	switch {
	case cmd == "list":
		return list(stdout, msgs, replayed)
	case cmd == "show":
		m, err := find(msgs, o.args[0])
		if err != nil {
			return err
		}
		return show(stdout, m, replayed)
	case o.all:
		return replayAll(ctx, stdout, cl, adm, o, msgs, replayed)
	default:
		m, err := find(msgs, o.args[0])
		if err != nil {
			return err
		}
		if err := publish(ctx, cl, o.topic, m); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "replayed %s to %s\n", m.ref(), m.origin())
		return nil
	}
}

// message is one dead-lettered record and what its CloudEvent says.
type message struct {
	rec     *kgo.Record
	id, typ string // CloudEvent id and type; empty when it is not one
	ceTopic string // CloudEvent topic attribute
}

func (m message) ref() string { return fmt.Sprintf("%d/%d", m.rec.Partition, m.rec.Offset) }

// origin is the topic the message was dead-lettered from.
func (m message) origin() string {
	for _, h := range m.rec.Headers {
		if h.Key == headerOriginTopic && len(h.Value) > 0 {
			return string(h.Value)
		}
	}
	return m.ceTopic
}

func (m message) isReplayed(replayed map[int32]int64) bool {
	return m.rec.Offset < replayed[m.rec.Partition]
}

// readAll reads the topic from its start to its end as of now.
func readAll(ctx context.Context, cl *kgo.Client, adm *kadm.Client, topic string) ([]message, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	left := map[int32]int64{} // partition -> end offset still to reach
	ends.Each(func(e kadm.ListedOffset) {
		start, _ := starts.Lookup(topic, e.Partition)
		if e.Offset > start.Offset {
			from[e.Partition] = kgo.NewOffset().At(start.Offset)
			left[e.Partition] = e.Offset
		}
	})
	if len(from) == 0 {
		return nil, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	defer cl.RemoveConsumePartitions(map[string][]int32{topic: slices.Collect(maps.Keys(from))})

	var msgs []message
	for len(left) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", topic, err)
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) { fetchErr = errors.Join(fetchErr, err) })
		if fetchErr != nil {
			return nil, fmt.Errorf("read %s: %w", topic, fetchErr)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			msgs = append(msgs, decode(r))
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	slices.SortFunc(msgs, func(a, b message) int {
		if a.rec.Partition != b.rec.Partition {
			return int(a.rec.Partition - b.rec.Partition)
		}
		return int(a.rec.Offset - b.rec.Offset)
	})
	return msgs, nil
}

func decode(r *kgo.Record) message {
	var ce struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Topic string `json:"topic"`
	}
	_ = json.Unmarshal(r.Value, &ce) // not a CloudEvent: shown and replayed as bytes
	return message{rec: r, id: ce.ID, typ: ce.Type, ceTopic: ce.Topic}
}

// committed is how far replay -all got: the group's offset per partition.
func committed(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	resp, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = resp.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) { // no replay -all yet (kfake says so; Kafka answers none)
		return map[int32]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the offsets of group %s: %w", group, err)
	}
	out := map[int32]int64{}
	for p, o := range resp[topic] {
		out[p] = o.At
	}
	return out, nil
}

// find picks a message by partition/offset or by CloudEvent id.
func find(msgs []message, ref string) (message, error) {
	if p, o, ok := strings.Cut(ref, "/"); ok {
		part, perr := strconv.ParseInt(p, 10, 32)
		off, oerr := strconv.ParseInt(o, 10, 64)
		if perr == nil && oerr == nil {
			for _, m := range msgs {
				if m.rec.Partition == int32(part) && m.rec.Offset == off {
					return m, nil
				}
			}
			return message{}, fmt.Errorf("no dead-lettered message at %s", ref)
		}
	}
	var found []message
	for _, m := range msgs {
		if m.id == ref {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return message{}, fmt.Errorf("no dead-lettered message with id %q (list shows them)", ref)
	case 1:
		return found[0], nil
	}
	refs := make([]string, len(found))
	for i, m := range found {
		refs[i] = m.ref()
	}
	return message{}, fmt.Errorf("id %q was dead-lettered %d times (%s): name one by partition/offset", ref, len(found), strings.Join(refs, ", "))
}

func list(w io.Writer, msgs []message, replayed map[int32]int64) error {
	if len(msgs) == 0 {
		fmt.Fprintln(w, "no dead-lettered messages")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION/OFFSET\tTIME\tID\tTYPE\tFROM\tREPLAYED")
	for _, m := range msgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ref(), m.rec.Timestamp.UTC().Format(time.RFC3339),
			orDash(m.id), orDash(m.typ), orDash(m.origin()), yesNo(m.isReplayed(replayed)))
	}
	return tw.Flush()
}

func show(w io.Writer, m message, replayed map[int32]int64) error {
	fmt.Fprintf(w, "partition/offset: %s\ntime: %s\nid: %s\ntype: %s\nfrom: %s\nreplayed by -all: %s\nkey: %s\nheaders:\n",
		m.ref(), m.rec.Timestamp.UTC().Format(time.RFC3339Nano), orDash(m.id), orDash(m.typ), orDash(m.origin()),
		yesNo(m.isReplayed(replayed)), orDash(string(m.rec.Key)))
	for _, h := range m.rec.Headers {
		fmt.Fprintf(w, "  %s: %s\n", h.Key, h.Value)
	}
	fmt.Fprintln(w, "value:")
	var pretty bytes.Buffer
	if json.Indent(&pretty, m.rec.Value, "  ", "  ") == nil {
		fmt.Fprintf(w, "  %s\n", pretty.Bytes())
	} else {
		fmt.Fprintf(w, "  %q\n", m.rec.Value)
	}
	return nil
}

// noOriginError: a message whose original topic is unknown (no __topic
// header, no CloudEvent topic attribute) cannot be replayed.
type noOriginError struct{ ref string }

func (e *noOriginError) Error() string {
	return e.ref + ": the topic it was dead-lettered from is unknown (no " + headerOriginTopic + " header, no CloudEvent topic)"
}

// publish sends a dead-lettered message back to its topic: same key and
// value, its own headers without daprd's delivery metadata.
func publish(ctx context.Context, cl *kgo.Client, dlq string, m message) error {
	origin := m.origin()
	if origin == "" || origin == dlq {
		return &noOriginError{ref: m.ref()}
	}
	rec := &kgo.Record{Topic: origin, Key: m.rec.Key, Value: m.rec.Value}
	for _, h := range m.rec.Headers {
		if !strings.HasPrefix(h.Key, daprHeaderPrefix) && h.Key != headerReplayedFrom {
			rec.Headers = append(rec.Headers, h)
		}
	}
	rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: headerReplayedFrom, Value: []byte(dlq + "/" + m.ref())})
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("replay %s to %s: %w", m.ref(), origin, err)
	}
	return nil
}

// replayAll replays every message past the group's offsets, committing each
// partition's progress as it goes: an interrupted run resumes where it stopped.
func replayAll(ctx context.Context, w io.Writer, cl *kgo.Client, adm *kadm.Client, o options, msgs []message, replayed map[int32]int64) error {
	count, skipped := 0, 0
	for _, m := range msgs {
		if m.isReplayed(replayed) {
			continue
		}
		// A message with nowhere to go is reported and passed, so that it does
		// not hold back every later one on its partition.
		err := publish(ctx, cl, o.topic, m)
		var nowhere *noOriginError
		switch {
		case errors.As(err, &nowhere):
			fmt.Fprintf(w, "skipped %v\n", err)
			skipped++
		case err != nil:
			return err
		}
		var next kadm.Offsets
		next.Add(kadm.Offset{Topic: o.topic, Partition: m.rec.Partition, At: m.rec.Offset + 1, LeaderEpoch: -1})
		resp, err := adm.CommitOffsets(ctx, o.group, next)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("record the replay of %s in group %s: %w", m.ref(), o.group, err)
		}
		if nowhere != nil {
			continue // counted as skipped; its offset is passed all the same
		}
		fmt.Fprintf(w, "replayed %s (%s) to %s\n", m.ref(), orDash(m.id), m.origin())
		count++
	}
	fmt.Fprintf(w, "%d replayed, %d skipped, %d replayed before\n", count, skipped, len(msgs)-count-skipped)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
