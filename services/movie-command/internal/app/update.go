package app

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// document is a stored aggregate (catalogv1.Named, Movie or Video); deleted
// ones stay as tombstones.
type document interface {
	proto.Message
	GetId() string
	GetVersion() int64
	GetDeleted() bool
}

// docPtr is a pointer to a document type T, so that the routines below can
// make the document they read into.
type docPtr[T any] interface {
	*T
	document
}

// errUnchanged, returned by a change, leaves the aggregate as stored: nothing
// is committed and no event is published.
var errUnchanged = errors.New("unchanged")

// get reads the live aggregate kind:id; a missing or deleted one is
// catalog.ErrNotFound.
func get[T any, D docPtr[T]](ctx context.Context, state State, kind, id string) (D, string, error) {
	doc := D(new(T))
	etag, err := state.Get(ctx, statetx.Key(kind, id), doc)
	if errors.Is(err, statetx.ErrNotFound) || (err == nil && doc.GetDeleted()) {
		return nil, "", notFound(kind, id)
	}
	if err != nil {
		return nil, "", err
	}
	return doc, etag, nil
}

// update is every change of a stored aggregate: under the lock of kind:id
// (and those of alsoLock: a new name, a video's movie) it reads the live
// aggregate, lets change mutate it and commits it one version up, with its
// event kind/action, conditional on the version read.
func update[T any, D docPtr[T]](ctx context.Context, a *App, kind, id, action string, alsoLock []string, change func(D) error) (D, error) {
	t := a.begin(ctx, append([]string{statetx.Key(kind, id)}, alsoLock...)...)
	defer t.end()
	doc, err := stage(t, kind, id, action, change)
	if errors.Is(err, errUnchanged) {
		return doc, nil
	}
	if err != nil {
		return nil, err
	}
	if err := t.commit(); err != nil {
		return nil, err
	}
	return doc, nil
}

// create commits doc, a new aggregate of kind, as version 1 with its created
// event, insert-only, under the locks of keys and once prepare (checks ahead
// of the transaction, reference lookups) has passed.
func (a *App) create(ctx context.Context, kind string, doc document, keys []string, prepare func() error) error {
	t := a.begin(ctx, keys...)
	defer t.end()
	if err := prepare(); err != nil {
		return err
	}
	bumpVersion(doc)
	t.writes = append(t.writes, statetx.Write{
		Key: statetx.Key(kind, doc.GetId()), Doc: doc, Create: true,
		EventType: catalogv1.EventType(kind, catalogv1.ActionCreated),
	})
	return t.commit()
}

// A tx is one state transaction in the making: the locks it holds and the
// writes it commits together (a movie's deletion writes its videos too).
type tx struct {
	ctx    context.Context
	app    *App
	writes []statetx.Write
	unlock []func()
}

// begin starts a transaction holding the locks of keys; end it with end.
func (a *App) begin(ctx context.Context, keys ...string) *tx {
	t := &tx{ctx: ctx, app: a}
	t.lock(keys...)
	return t
}

// lock takes the locks of more keys. One call orders its keys; keys locked
// later come after those held, so every use case takes them in the same
// order: a movie's before its videos'.
func (t *tx) lock(keys ...string) { t.unlock = append(t.unlock, t.app.state.Lock(keys...)) }

// end releases the locks.
func (t *tx) end() {
	for i := len(t.unlock) - 1; i >= 0; i-- {
		t.unlock[i]()
	}
}

// stage reads the live aggregate kind:id (its lock held), lets change mutate
// it, bumps its version and adds it to the transaction with its event
// kind/action, conditional on the version read. Writes commit in the order
// staged.
func stage[T any, D docPtr[T]](t *tx, kind, id, action string, change func(D) error) (D, error) {
	doc, etag, err := get[T, D](t.ctx, t.app.state, kind, id)
	if err != nil {
		return nil, err
	}
	if err := change(doc); err != nil {
		return doc, err
	}
	bumpVersion(doc)
	t.writes = append(t.writes, statetx.Write{
		Key: statetx.Key(kind, id), Doc: doc, ETag: etag,
		EventType: catalogv1.EventType(kind, action),
	})
	return doc, nil
}

// commit runs the staged writes in one transaction; a lost race is
// catalog.ErrConflict.
func (t *tx) commit() error {
	err := t.app.state.Commit(t.ctx, t.writes...)
	if errors.Is(err, statetx.ErrConflict) {
		return fmt.Errorf("%w: %w", catalog.ErrConflict, err)
	}
	return err
}

// bumpVersion counts a change in the document's version field, which every
// aggregate has (events.proto): consumers keep the newest version they saw.
func bumpVersion(doc document) {
	m := doc.ProtoReflect()
	m.Set(m.Descriptor().Fields().ByName("version"), protoreflect.ValueOfInt64(doc.GetVersion()+1))
}
