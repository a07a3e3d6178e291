// Package reconcile checks movie-query's read model against movie-command's
// state and repairs what differs: an event lost on the way (between the outbox
// and the subscriber), or a document changed by hand. Every live aggregate
// must be in the read model at its latest version, every deleted or unknown
// one must not be live there.
//
// Repairs go through the projector, the same version-aware code path as
// events, so a reconciliation racing with events never regresses the model.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"tenflix/platform/subscriber"
	catalogv1 "tenflix/proto/catalog/v1"
	"tenflix/services/movie-query/internal/catalog"
)

// ErrRunning: a reconciliation is already under way (cron and admin overlap).
var ErrRunning = errors.New("a reconciliation is already running")

// Source pages through movie-command's state in key order.
type Source interface {
	SnapshotPage(ctx context.Context, after string) (catalogv1.SnapshotPage, error)
}

// ReadModel is what reconciliation reads and removes in the read model.
type ReadModel interface {
	Stamps(ctx context.Context) (map[string]catalog.Stamp, error)
	Stamp(ctx context.Context, kind, id string) (_ catalog.Stamp, found bool, err error)
	Remove(ctx context.Context, kind, id string, version int64) (removed bool, err error)
}

// Reasons of a change in a Report.
const (
	ReasonMissing = "missing" // live in movie-command, absent from the read model
	ReasonStale   = "stale"   // the read model holds an older version
	ReasonDeleted = "deleted" // deleted in movie-command, live in the read model
	ReasonUnknown = "unknown" // live in the read model, unknown to movie-command
)

// Change is one document reconciliation repaired or removed. From is the read
// model's version before (0 when absent), To movie-command's.
type Change struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
	From   int64  `json:"fromVersion"`
	To     int64  `json:"toVersion,omitempty"`
	Error  string `json:"error,omitempty"` // Failed only
}

// Report says what one reconciliation checked and did.
type Report struct {
	Checked  int      `json:"checked"` // aggregates of movie-command compared
	Repaired []Change `json:"repaired"`
	Removed  []Change `json:"removed"`
	// Failed lists aggregates whose document the projector refuses (it would
	// drop the same event): they need a look, not a retry.
	Failed []Change `json:"failed"`
}

// DefaultSettle is how long a run waits between finding a difference and
// repairing it: a write's event normally arrives within the outbox's 1 s floor
// plus delivery, so what is still different after this long was lost, and the
// report names only that (an event still in flight is not reported as a
// repair; repairing it early would be harmless anyway).
const DefaultSettle = 5 * time.Second

// Reconciler compares and repairs; one run at a time.
type Reconciler struct {
	source  Source
	model   ReadModel
	project subscriber.Handler
	log     *slog.Logger
	settle  time.Duration
	running sync.Mutex
}

// New reconciles model against source, applying repairs with project (the
// projector's Handle), settle after finding them (DefaultSettle in
// production).
func New(source Source, model ReadModel, project subscriber.Handler, log *slog.Logger, settle time.Duration) *Reconciler {
	return &Reconciler{source: source, model: model, project: project, log: log, settle: settle}
}

// Run reconciles once and logs every change. It returns ErrRunning when
// another run is under way, and stops at the first failure to read or write
// either side (the next run starts over; every step is idempotent).
func (r *Reconciler) Run(ctx context.Context) (Report, error) {
	if !r.running.TryLock() {
		return Report{}, ErrRunning
	}
	defer r.running.Unlock()

	// The read model is listed before movie-command's state: a document
	// created in between is then in neither list, rather than looking like
	// one movie-command does not know.
	stamps, err := r.model.Stamps(ctx)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Repaired: []Change{}, Removed: []Change{}, Failed: []Change{}}
	var differ []catalogv1.SnapshotItem
	for after := ""; ; {
		page, err := r.source.SnapshotPage(ctx, after)
		if err != nil {
			return rep, err
		}
		for _, it := range page.Items {
			rep.Checked++
			key := catalog.Key(it.Kind, it.ID)
			stamp, known := stamps[key]
			delete(stamps, key)
			if needsRepair(it, stamp, known) {
				differ = append(differ, it)
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	// What is left is unknown to movie-command; tombstones show nothing.
	maps.DeleteFunc(stamps, func(_ string, s catalog.Stamp) bool { return s.Deleted })

	if len(differ)+len(stamps) > 0 {
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(r.settle):
		}
	}
	for _, it := range differ {
		if err := r.repair(ctx, &rep, it); err != nil {
			return rep, err
		}
	}
	for key, stamp := range stamps {
		kind, id, _ := strings.Cut(key, ":")
		if !slices.Contains(catalogv1.Aggregates, kind) {
			r.log.WarnContext(ctx, "reconcile: document of no known kind left alone", "key", key)
			continue
		}
		removed, err := r.model.Remove(ctx, kind, id, stamp.Version)
		if err != nil {
			return rep, err
		}
		if removed {
			r.record(ctx, "reconcile: removed", &rep.Removed, Change{Kind: kind, ID: id, Reason: ReasonUnknown, From: stamp.Version})
		}
	}
	r.log.InfoContext(ctx, "reconciled", "checked", rep.Checked, "repaired", len(rep.Repaired),
		"removed", len(rep.Removed), "failed", len(rep.Failed))
	return rep, nil
}

// repair re-applies an aggregate the read model lagged behind on, unless its
// event has landed since the listing.
func (r *Reconciler) repair(ctx context.Context, rep *Report, it catalogv1.SnapshotItem) error {
	stamp, known, err := r.model.Stamp(ctx, it.Kind, it.ID)
	if err != nil {
		return err
	}
	if !needsRepair(it, stamp, known) {
		return nil
	}
	c := Change{Kind: it.Kind, ID: it.ID, From: stamp.Version, To: it.Version}
	switch {
	case it.Deleted:
		c.Reason = ReasonDeleted
	case !known:
		c.Reason, c.From = ReasonMissing, 0
	default:
		c.Reason = ReasonStale
	}
	action := catalogv1.ActionCreated
	if it.Deleted {
		action = catalogv1.ActionDeleted
	}
	err = r.project(ctx, subscriber.Event{
		ID:              "reconcile:" + it.Key,
		Type:            catalogv1.EventType(it.Kind, action),
		Source:          "movie-query/reconcile",
		Topic:           catalogv1.Topic,
		DataContentType: "application/json",
		Data:            it.Document,
	})
	switch {
	case errors.Is(err, subscriber.ErrDrop):
		c.Error = err.Error()
		r.log.WarnContext(ctx, "reconcile: document refused", "kind", c.Kind, "id", c.ID, "err", err)
		rep.Failed = append(rep.Failed, c)
		return nil
	case err != nil:
		return fmt.Errorf("repair %s: %w", it.Key, err)
	case it.Deleted:
		r.record(ctx, "reconcile: removed", &rep.Removed, c)
	default:
		r.record(ctx, "reconcile: repaired", &rep.Repaired, c)
	}
	return nil
}

// needsRepair: a live aggregate absent or older in the read model, or a
// deleted one still live there.
func needsRepair(it catalogv1.SnapshotItem, stamp catalog.Stamp, known bool) bool {
	if it.Deleted {
		return known && !stamp.Deleted
	}
	return !known || stamp.Version < it.Version
}

func (r *Reconciler) record(ctx context.Context, msg string, list *[]Change, c Change) {
	r.log.InfoContext(ctx, msg, "kind", c.Kind, "id", c.ID, "reason", c.Reason,
		"from_version", c.From, "to_version", c.To)
	*list = append(*list, c)
}
