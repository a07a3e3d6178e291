package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
)

// movieCommandGRPC is movie-command's sidecar gRPC API (tools/devstack).
const movieCommandGRPC = "127.0.0.1:3601"

// TestGoSDKStateGap measures why platform/sidecar keeps state transactions on
// Dapr's HTTP API: through go-sdk (gRPC), daprd 1.14.0's
// ExecuteStateTransaction ignores an operation's contentType and
// state.postgresql v1 stores the JSON value base64-encoded (isbinary, a jsonb
// string), while gRPC SaveState honours contentType: application/json and
// stores a jsonb document. movie-command's SQL (indexes, the video/movie
// invariant) reads value->>'name' etc., so it needs the document. If this
// test fails because a daprd stores the transaction's value as jsonb, the
// transaction can move to go-sdk.
func TestGoSDKStateGap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dapr.NewClientWithAddressContext(ctx, movieCommandGRPC)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.WithAuthToken(sidecarToken("movie-command"))

	// The kind gosdk-probe is no catalog aggregate: movie-query's projector
	// drops the transaction's outbox event (to the dead-letter topic), and
	// movie-command's triggers and indexes do not apply to it.
	u := randomHex(6)
	txKey, saveKey := "gosdk-probe:tx-"+u, "gosdk-probe:save-"+u
	t.Cleanup(func() {
		commandSQL(t, fmt.Sprintf("DELETE FROM catalog_state WHERE key IN ('%s', '%s')", txKey, saveKey))
	})
	value := []byte(`{"name":"probe ` + u + `"}`)
	jsonMeta := map[string]string{"contentType": "application/json"}

	err = c.ExecuteStateTransaction(ctx, "catalog-state", nil, []*dapr.StateOperation{{
		Type: dapr.StateOperationTypeUpsert,
		Item: &dapr.SetStateItem{Key: txKey, Value: value, Metadata: jsonMeta},
	}})
	if err != nil {
		t.Fatalf("ExecuteStateTransaction: %v", err)
	}
	if err := c.SaveState(ctx, "catalog-state", saveKey, value, jsonMeta); err != nil {
		t.Fatalf("SaveState: %v", err)
	}

	stored := func(key string) string {
		return commandSQL(t, "SELECT isbinary || ' ' || jsonb_typeof(value) || ' ' || coalesce(value->>'name', value#>>'{}') "+
			"FROM catalog_state WHERE key = '"+key+"'")
	}
	// The transaction: a binary value, the base64 of the JSON as a jsonb string.
	if got, want := stored(txKey), "true string "+base64.StdEncoding.EncodeToString(value); got != want {
		t.Errorf("gRPC ExecuteStateTransaction stored %q, want %q (measured on daprd 1.14.0)", got, want)
	}
	// SaveState with the same metadata: a jsonb document.
	if got, want := stored(saveKey), "false object probe "+u; got != want {
		t.Errorf("gRPC SaveState stored %q, want %q", got, want)
	}

	// The dropped probe event leaves the read model working.
	m := createMovie(t, "After the go-sdk probe "+u)
	eventually(t, propagation, "a movie written after the probe on the query side", visibleAs(t, m.ID, m.Name))
}
