// Package mongostore keeps movie-query's read model in MongoDB (or FerretDB,
// which serves the same protocol but lacks arrayFilters, the positional `$`
// operator, $text, conditional $pull and $elemMatch on fields: every query
// here sticks to what both support).
//
// Collections:
//   - named:  {_id, kind, name, version, deleted}
//   - movies: {_id, name, nameLower, ..., releaseYear, actors: [{id, name, v}],
//     ..., version, deleted, rev}
//   - videos: {_id, movieId, title, ..., status, playback, url, version, deleted}
//   - progress: {_id, userId, videoId, movieId, positionSeconds, lengthSeconds,
//     finished, updatedAt}, one per (userId, videoId) (a unique index): what
//     each user has watched. Not catalog state: no version, last write wins.
//
// Every write is guarded by the event's version (an update applies only to a
// document with an older version, so redelivered and out-of-order events never
// regress the model), and deletes are tombstones so that an older update
// arriving later cannot resurrect a document. Movies also carry `rev`, bumped
// by every write, so that the read-modify-write of their embedded refs can
// detect a concurrent writer and start over.
//
// Those guards are atomic on MongoDB, not on FerretDB 1.24: it runs an update
// as a query, then an UPDATE by _id that does not re-check the filter, so two
// concurrent guarded updates of one document can both pass and the older one
// can land last. Every guarded write therefore also holds a per-document lock
// in this process (see keyLocks): with one instance of the service the model
// is safe on FerretDB too; with several, only MongoDB keeps it safe.
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"tenflix/services/movie-query/internal/catalog"
)

// Store is the read model on one database.
type Store struct {
	named  *mongo.Collection
	movies *mongo.Collection
	videos *mongo.Collection
	// progress is written by users, not by events (progress.go).
	progress *mongo.Collection
	locks    *keyLocks
}

// Connect opens a client on uri and checks that the server answers.
func Connect(ctx context.Context, uri string) (*mongo.Client, error) {
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri).SetServerSelectionTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect mongo: %w", err)
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("ping mongo: %w", err)
	}
	return client, nil
}

// New returns a store on db, creating its indexes if they are missing.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{
		named:    db.Collection("named"),
		movies:   db.Collection("movies"),
		videos:   db.Collection("videos"),
		progress: db.Collection("progress"),
		locks:    new(keyLocks),
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

type index struct {
	coll   *mongo.Collection
	name   string
	keys   bson.D
	unique bool
}

// migrate creates the indexes; creating an existing identical index is a no-op.
// One index per createIndexes command: FerretDB 1.24 panics when a single
// command lists two or more indexes that already exist.
func (s *Store) migrate(ctx context.Context) error {
	indexes := []index{
		{s.movies, "list_newest", bson.D{{Key: "deleted", Value: 1}, {Key: "releaseDate", Value: -1}, {Key: "_id", Value: 1}}, false},
		{s.movies, "list_rating", bson.D{{Key: "deleted", Value: 1}, {Key: "rating", Value: -1}, {Key: "_id", Value: 1}}, false},
		{s.movies, "list_name", bson.D{{Key: "deleted", Value: 1}, {Key: "nameLower", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.movies, "release_year", bson.D{{Key: "releaseYear", Value: 1}}, false},
		{s.movies, "actors_id", bson.D{{Key: "actors.id", Value: 1}}, false},
		{s.movies, "creators_id", bson.D{{Key: "creators.id", Value: 1}}, false},
		{s.movies, "categories_id", bson.D{{Key: "categories.id", Value: 1}}, false},
		{s.movies, "tags_id", bson.D{{Key: "tags.id", Value: 1}}, false},
		{s.videos, "movie_videos", bson.D{{Key: "movieId", Value: 1}, {Key: "title", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.progress, "user_video", bson.D{{Key: "userId", Value: 1}, {Key: "videoId", Value: 1}}, true},
		{s.progress, "user_recent", bson.D{{Key: "userId", Value: 1}, {Key: "finished", Value: 1}, {Key: "updatedAt", Value: -1}, {Key: "videoId", Value: 1}}, false},
		{s.progress, "video", bson.D{{Key: "videoId", Value: 1}}, false},
		{s.progress, "movie", bson.D{{Key: "movieId", Value: 1}}, false},
	}
	for _, ix := range indexes {
		opts := options.Index().SetName(ix.name)
		if ix.unique {
			opts.SetUnique(true)
		}
		_, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys, Options: opts})
		if err != nil {
			return fmt.Errorf("create index %s.%s: %w", ix.coll.Name(), ix.name, err)
		}
	}
	return s.migrateVideoStatus(ctx)
}

// migrateVideoStatus rewrites the videos stored before issue 9 (status
// "ready", no playback kind: all were added by URL) in today's words, as
// the projector now writes them (catalog.NormalizeVideo). Their version is
// kept: the video did not change, its spelling did. Idempotent.
func (s *Store) migrateVideoStatus(ctx context.Context) error {
	_, err := s.videos.UpdateMany(ctx,
		bson.D{{Key: "status", Value: "ready"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: catalog.StatusReady}, {Key: "playback", Value: catalog.PlaybackURL}}}})
	if err != nil {
		return fmt.Errorf("migrate video statuses: %w", err)
	}
	return nil
}

// upsertNewer applies update to the document id unless it already holds
// version or a newer one. It reports whether the update was applied.
func (s *Store) upsertNewer(ctx context.Context, coll *mongo.Collection, id string, version int64, update bson.D) (applied bool, err error) {
	defer s.locks.lock(coll.Name(), id)()
	filter := bson.D{{Key: "_id", Value: id}, {Key: "version", Value: bson.D{{Key: "$lt", Value: version}}}}
	opts := options.Update().SetUpsert(true)
	// When the filter misses, the upsert tries to insert id: a duplicate key
	// means the document exists with this version or a newer one, unless
	// another writer (another instance) raced to create it, so try once more
	// before concluding.
	for range 2 {
		_, err = coll.UpdateOne(ctx, filter, update, opts)
		if err == nil {
			return true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return false, fmt.Errorf("upsert %s %s v%d: %w", coll.Name(), id, version, err)
		}
	}
	return false, nil
}

// keyLocks serializes the guarded writes of each document within this
// process (FerretDB does not apply an update's filter atomically). Documents
// share a fixed set of stripes; a caller never holds two at once.
type keyLocks struct {
	stripes [256]sync.Mutex
}

// lock locks the stripe of (collection, id) and returns its unlock.
func (l *keyLocks) lock(collection, id string) (unlock func()) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(collection))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	m := &l.stripes[h.Sum32()%uint32(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

// isNotFound reports whether err is the driver's "no document".
func isNotFound(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }
