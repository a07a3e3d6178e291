// Package projector turns catalog events into writes on the read model.
// It decides what an event means; the store makes applying it idempotent and
// version-aware.
package projector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/subscriber"
	catalogv1 "tenflix/proto/catalog/v1"
	"tenflix/services/movie-query/internal/catalog"
)

// Store applies catalog changes to the read model. Each method must be
// idempotent and ignore a change older than what it already holds.
type Store interface {
	ApplyNamed(ctx context.Context, n catalog.Named) error
	ApplyMovie(ctx context.Context, m catalog.Movie) error
	ApplyVideo(ctx context.Context, v catalog.Video) error
}

// DeliveryTimeout bounds the store work of one event. A hung database (no
// answer rather than an error) then turns into a retry after this long, within
// the sidecar's own delivery timeout (dapr/resiliency: 30 s), instead of
// holding the delivery, and its partition, indefinitely.
const DeliveryTimeout = 20 * time.Second

// Projector applies catalog events to a Store.
type Projector struct {
	store Store
}

// New returns a projector writing to store.
func New(store Store) *Projector { return &Projector{store: store} }

// Handle applies one catalog event. Only events that can never apply (unknown
// type, undecodable or invalid data) wrap subscriber.ErrDrop: they go to the
// dead-letter topic. Store failures and timeouts (database down or hung) are
// returned as they are, so the event is redelivered until it applies.
func (p *Projector) Handle(ctx context.Context, ev subscriber.Event) error {
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	aggregate, action, ok := catalogv1.ParseEventType(ev.Type)
	if !ok {
		return subscriber.Drop("unknown event type %q", ev.Type)
	}
	data, err := ev.Payload()
	if err != nil {
		return subscriber.Drop("event %s: %v", ev.Type, err)
	}
	deleted := action == catalogv1.ActionDeleted

	switch aggregate {
	case catalogv1.AggregateActor, catalogv1.AggregateCreator, catalogv1.AggregateCategory, catalogv1.AggregateTag:
		if !oneOf(action, catalogv1.ActionCreated, catalogv1.ActionRenamed, catalogv1.ActionDeleted) {
			return subscriber.Drop("unknown event type %q", ev.Type)
		}
		var msg catalogv1.Named
		if err := unmarshal(data, &msg); err != nil {
			return subscriber.Drop("event %s: %v", ev.Type, err)
		}
		if msg.GetKind() != "" && msg.GetKind() != aggregate {
			return subscriber.Drop("event %s carries kind %q", ev.Type, msg.GetKind())
		}
		if err := checkIdentity(msg.GetId(), msg.GetVersion()); err != nil {
			return subscriber.Drop("event %s: %v", ev.Type, err)
		}
		return p.store.ApplyNamed(ctx, catalog.Named{
			Kind: aggregate, ID: msg.GetId(), Name: msg.GetName(), Version: msg.GetVersion(),
			Deleted: deleted || msg.GetDeleted(),
		})

	case catalogv1.AggregateMovie:
		if !oneOf(action, catalogv1.ActionCreated, catalogv1.ActionUpdated, catalogv1.ActionDeleted) {
			return subscriber.Drop("unknown event type %q", ev.Type)
		}
		var msg catalogv1.Movie
		if err := unmarshal(data, &msg); err != nil {
			return subscriber.Drop("event %s: %v", ev.Type, err)
		}
		if err := checkIdentity(msg.GetId(), msg.GetVersion()); err != nil {
			return subscriber.Drop("event %s: %v", ev.Type, err)
		}
		return p.store.ApplyMovie(ctx, movieFrom(&msg, deleted))

	case catalogv1.AggregateVideo:
		if !oneOf(action, catalogv1.ActionCreated, catalogv1.ActionUpdated, catalogv1.ActionDeleted) {
			return subscriber.Drop("unknown event type %q", ev.Type)
		}
		var msg catalogv1.Video
		if err := unmarshal(data, &msg); err != nil {
			return subscriber.Drop("event %s: %v", ev.Type, err)
		}
		if err := checkIdentity(msg.GetId(), msg.GetVersion()); err != nil {
			return subscriber.Drop("event %s: %v", ev.Type, err)
		}
		if !deleted && !msg.GetDeleted() && msg.GetMovieId() == "" {
			return subscriber.Drop("event %s: movieId is missing", ev.Type)
		}
		v := catalog.Video{
			ID: msg.GetId(), MovieID: msg.GetMovieId(), Title: msg.GetTitle(), Synopsis: msg.GetSynopsis(),
			LengthSeconds: msg.GetLengthSeconds(), URL: msg.GetUrl(), Status: msg.GetStatus(),
			Progress: msg.GetProgress(), FailureReason: msg.GetFailureReason(),
			Playback: msg.GetPlayback(), PosterURL: msg.GetPosterUrl(),
			Version: msg.GetVersion(), Deleted: deleted || msg.GetDeleted(),
		}
		catalog.NormalizeVideo(&v)
		return p.store.ApplyVideo(ctx, v)
	}
	return subscriber.Drop("unknown event type %q", ev.Type)
}

func movieFrom(msg *catalogv1.Movie, deleted bool) catalog.Movie {
	return catalog.Movie{
		ID:          msg.GetId(),
		Name:        msg.GetName(),
		Type:        msg.GetType(),
		Synopsis:    msg.GetSynopsis(),
		MPARating:   msg.GetMpaRating(),
		ReleaseDate: msg.GetReleaseDate(),
		Rating:      msg.GetRating(),
		Image:       msg.GetImage(),
		Actors:      refsFrom(msg.GetActors()),
		Creators:    refsFrom(msg.GetCreators()),
		Categories:  refsFrom(msg.GetCategories()),
		Tags:        refsFrom(msg.GetTags()),
		Notify:      msg.GetNotify(),
		Version:     msg.GetVersion(),
		Deleted:     deleted || msg.GetDeleted(),
	}
}

// refsFrom skips refs without an id: nothing could ever match or rename them.
func refsFrom(msgs []*catalogv1.Ref) []catalog.Ref {
	refs := make([]catalog.Ref, 0, len(msgs))
	for _, r := range msgs {
		if r.GetId() == "" {
			continue
		}
		refs = append(refs, catalog.Ref{ID: r.GetId(), Name: r.GetName(), Version: r.GetVersion()})
	}
	return refs
}

// unmarshal decodes protojson, which accepts int64 versions as JSON numbers or
// strings, and ignores fields added by newer producers.
func unmarshal(data []byte, m proto.Message) error {
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return fmt.Errorf("undecodable data: %w", err)
	}
	return nil
}

func checkIdentity(id string, version int64) error {
	switch {
	case id == "":
		return errors.New("id is missing")
	case version < 1:
		return fmt.Errorf("version must be positive, got %d", version)
	}
	return nil
}

func oneOf(s string, options ...string) bool { return slices.Contains(options, s) }
