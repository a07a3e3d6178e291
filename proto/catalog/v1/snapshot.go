package catalogv1

import "encoding/json"

// SnapshotPath is movie-command's internal, read-only view of its state, for
// movie-query's reconciliation. It is reached through Dapr service invocation
// only (the gateway does not route /internal/*). Query parameters: after (the
// last key of the previous page, empty for the first) and limit.
const SnapshotPath = "/internal/catalog/snapshot"

// SnapshotMaxLimit is the largest page SnapshotPath serves.
const SnapshotMaxLimit = 1000

// SnapshotPage is one page of every aggregate, live or deleted, in key order.
type SnapshotPage struct {
	Items []SnapshotItem `json:"items"`
	// Next is the after of the next page; empty on the last page.
	Next string `json:"next"`
}

// SnapshotItem is one aggregate as movie-command holds it. Document is the
// same JSON its events carry as data (Named, Movie or Video).
type SnapshotItem struct {
	Key      string          `json:"key"` // "<kind>:<id>"
	Kind     string          `json:"kind"`
	ID       string          `json:"id"`
	Version  int64           `json:"version"`
	Deleted  bool            `json:"deleted"`
	Document json.RawMessage `json:"document"`
}

// Aggregates lists every aggregate kind, in no particular order.
var Aggregates = []string{AggregateActor, AggregateCreator, AggregateCategory, AggregateTag, AggregateMovie, AggregateVideo}
