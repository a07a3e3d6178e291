package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// An internal outbox message whose marker never comes (its transaction
// failed after daprd published it, or it is redelivered after a crash and
// its marker is gone) is dropped after daprd's ~11 s lookup, and the
// partition moves on. Upstream daprd 1.14.0 looks forever, at thousands of
// queries a second, and the partition is stuck for good: our daprd is built
// with that loop's Stop set (tools/daprd/patch-outbox.sh).
func TestOutboxDropsAMessageWhoseMarkerNeverCame(t *testing.T) {
	const topic, group = "defaultorderordersoutbox", "order" // order's internal outbox topic, its sidecar's group
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:9092"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// As daprd's PublishInternal writes it, for a marker that does not exist.
	orphan, _ := json.Marshal(map[string]any{
		"id": "outbox-" + randomHex(16), "source": "order", "specversion": "1.0", "pubsubname": "pubsub",
		"type": "tenflix.order.e2e-orphan.v1", "datacontenttype": "application/json", "data": map[string]string{},
	})
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: orphan})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	offset := res[0].Record.Offset
	adm := kadm.NewClient(cl)
	took := eventually(t, 45*time.Second, "the orphan's offset committed by order's sidecar", func() bool {
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return false
		}
		o, ok := offs.Lookup(topic, 0)
		return ok && o.At > offset
	})
	t.Logf("orphan at %s/0@%d dropped after %s", topic, offset, took.Round(time.Second))
}
