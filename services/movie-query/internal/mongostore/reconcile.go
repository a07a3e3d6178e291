package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"tenflix/services/movie-query/internal/catalog"
)

// stampDoc is the part of any document reconciliation reads.
type stampDoc struct {
	ID      string `bson:"_id"`
	Kind    string `bson:"kind"` // named only
	Version int64  `bson:"version"`
	Deleted bool   `bson:"deleted"`
}

var stampProjection = bson.D{{Key: "_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "version", Value: 1}, {Key: "deleted", Value: 1}}

// Stamps lists the version of every document, tombstones included, by
// catalog.Key(kind, id).
func (s *Store) Stamps(ctx context.Context) (map[string]catalog.Stamp, error) {
	out := map[string]catalog.Stamp{}
	for _, c := range []struct {
		coll *mongo.Collection
		kind string // "" for named: the document says
	}{{s.named, ""}, {s.movies, catalog.KindMovie}, {s.videos, catalog.KindVideo}} {
		cur, err := c.coll.Find(ctx, bson.D{}, options.Find().SetProjection(stampProjection))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", c.coll.Name(), err)
		}
		var docs []stampDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("read %s: %w", c.coll.Name(), err)
		}
		for _, d := range docs {
			kind := c.kind
			if kind == "" {
				kind = d.Kind
			}
			out[catalog.Key(kind, d.ID)] = catalog.Stamp{Version: d.Version, Deleted: d.Deleted}
		}
	}
	return out, nil
}

// collectionOf is the collection holding documents of a kind.
func (s *Store) collectionOf(kind string) (*mongo.Collection, error) {
	switch kind {
	case catalog.KindMovie:
		return s.movies, nil
	case catalog.KindVideo:
		return s.videos, nil
	}
	if _, ok := refsField(kind); ok {
		return s.named, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// Stamp reads one document's version; found is false when there is none.
func (s *Store) Stamp(ctx context.Context, kind, id string) (_ catalog.Stamp, found bool, err error) {
	coll, err := s.collectionOf(kind)
	if err != nil {
		return catalog.Stamp{}, false, err
	}
	filter := bson.D{{Key: "_id", Value: id}}
	if coll == s.named {
		filter = append(filter, bson.E{Key: "kind", Value: kind})
	}
	var d stampDoc
	err = coll.FindOne(ctx, filter, options.FindOne().SetProjection(stampProjection)).Decode(&d)
	if isNotFound(err) {
		return catalog.Stamp{}, false, nil
	}
	if err != nil {
		return catalog.Stamp{}, false, fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	return catalog.Stamp{Version: d.Version, Deleted: d.Deleted}, true, nil
}

// Remove deletes a document that the catalog does not have at all (not even
// as a tombstone), if it still holds version: a write that landed meanwhile
// wins. No tombstone is left, so that the aggregate, should it turn up later
// in the catalog with any version, is projected normally. A removed named
// entry is also dropped from the movies embedding it. removed reports whether
// the document was deleted.
func (s *Store) Remove(ctx context.Context, kind, id string, version int64) (removed bool, err error) {
	coll, err := s.collectionOf(kind)
	if err != nil {
		return false, err
	}
	filter := bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}}
	if coll == s.named {
		filter = append(filter, bson.E{Key: "kind", Value: kind})
	}
	res, err := func() (*mongo.DeleteResult, error) {
		defer s.locks.lock(coll.Name(), id)()
		return coll.DeleteOne(ctx, filter)
	}()
	if err != nil {
		return false, fmt.Errorf("remove %s %s: %w", kind, id, err)
	}
	// Nothing deleted: a write landed meanwhile and the entry stays, with
	// its place in movies.
	if res.DeletedCount != 1 {
		return false, nil
	}
	switch coll {
	case s.videos:
		return true, s.forgetProgress(ctx, "videoId", id)
	case s.movies:
		return true, s.forgetProgress(ctx, "movieId", id)
	}
	field, _ := refsField(kind)
	gone := map[string]catalog.Named{id: {Kind: kind, ID: id, Deleted: true}}
	ids, err := s.movieIDsEmbedding(ctx, field, id)
	if err != nil {
		return false, err
	}
	for _, mid := range ids {
		err := s.updateMovieRefs(ctx, mid, func(_ context.Context, m *catalog.Movie) (bool, error) {
			return catalog.ResolveMovieRefs(m, gone), nil
		})
		if err != nil {
			return false, fmt.Errorf("drop %s %s from movie %s: %w", kind, id, mid, err)
		}
	}
	return res.DeletedCount == 1, nil
}
