// Package app holds movie-command's use cases, one file per aggregate (named
// entries, movies, videos): validate, resolve references, and commit each
// change with its event in one Dapr state transaction through the routines
// of update.go. It declares what it needs of its adapters: State and Reads.
package app

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"
)

// State is the Dapr state store the catalog is written through
// (statetx.Store with the catalog's constraints, statestore.New): documents
// by key with ETags, and transactions whose upserts are each published as
// their event (the outbox).
type State interface {
	// Get reads key into doc and returns its ETag. A missing key is
	// statetx.ErrNotFound; a tombstone is returned as stored.
	Get(ctx context.Context, key string, doc proto.Message) (etag string, err error)
	// Commit runs the writes in one transaction. A lost race is
	// statetx.ErrConflict, a name taken meanwhile catalog.ErrNameTaken, a
	// video of a movie deleted meanwhile catalog.ErrMovieNotLive.
	Commit(ctx context.Context, writes ...statetx.Write) error
	// Lock takes this instance's locks of keys until unlock: every
	// read-modify-write holds those of the keys it writes (statetx.Store.Lock
	// says why).
	Lock(keys ...string) (unlock func())
}

// Reads are the SQL queries over the stored documents (postgres.DB): what
// the state API cannot answer, such as lists and lookups by name. Tombstones
// are left out.
type Reads interface {
	// ListNamed pages through the entries of a kind by name; q filters by a
	// case-insensitive substring.
	ListNamed(ctx context.Context, kind, q string, p Page) ([]Entry, int, error)
	// ResolveRefs finds entries of a kind by id or by name (ignoring case);
	// those that match nothing are absent from the result.
	ResolveRefs(ctx context.Context, kind string, ids, names []string) ([]Entry, error)
	// CurrentNames maps each key found ("actor:<id>", ...) to its name.
	CurrentNames(ctx context.Context, keys []string) (map[string]string, error)
	// ListDocs pages through the documents of a kind by name (or title), as
	// stored; movieID, when set, keeps only videos of that movie.
	ListDocs(ctx context.Context, kind, movieID string, p Page) ([]json.RawMessage, int, error)
	// VideoKeys lists the keys of a movie's videos.
	VideoKeys(ctx context.Context, movieID string) ([]string, error)
}

// Page is a 1-based page request.
type Page struct {
	Page, Size int
}

// Entry is a live actor, creator, category or tag as Reads find it.
type Entry struct {
	ID      string
	Name    string
	Version int64
}

// App is the catalog's write side.
type App struct {
	state State
	reads Reads
}

// New wires the state store (writes) and SQL (reads).
func New(state State, reads Reads) *App {
	return &App{state: state, reads: reads}
}

var decode = protojson.UnmarshalOptions{DiscardUnknown: true}

func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, catalog.ErrNotFound)
}

func invalid(format string, args ...any) error {
	return &catalog.ValidationError{Msg: fmt.Sprintf(format, args...)}
}
