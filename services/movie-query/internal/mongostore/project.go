package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"tenflix/services/movie-query/internal/catalog"
)

// maxRefAttempts bounds the read-modify-write retries of one movie's refs
// under concurrent writers; past it the event is retried later.
const maxRefAttempts = 20

// ApplyNamed records a named entry (a tombstone when n.Deleted) and brings
// every movie embedding it up to date. The movies are updated from the stored
// entry, not from n, so a redelivered event finishes a propagation that was
// interrupted, and a stale one only repeats the newer entry's.
func (s *Store) ApplyNamed(ctx context.Context, n catalog.Named) error {
	field, ok := refsField(n.Kind)
	if !ok {
		return fmt.Errorf("apply named %s: unknown kind %q", n.ID, n.Kind)
	}
	set := bson.D{
		{Key: "kind", Value: n.Kind},
		{Key: "name", Value: n.Name},
		{Key: "version", Value: n.Version},
		{Key: "deleted", Value: n.Deleted},
	}
	if _, err := s.upsertNewer(ctx, s.named, n.ID, n.Version, bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("apply named: %w", err)
	}

	var stored namedDoc
	if err := s.named.FindOne(ctx, bson.D{{Key: "_id", Value: n.ID}}).Decode(&stored); err != nil {
		return fmt.Errorf("read named %s: %w", n.ID, err)
	}
	known := map[string]catalog.Named{n.ID: stored.toNamed()}

	ids, err := s.movieIDsEmbedding(ctx, field, n.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := s.updateMovieRefs(ctx, id, func(_ context.Context, m *catalog.Movie) (bool, error) {
			return catalog.ResolveMovieRefs(m, known), nil
		})
		if err != nil {
			return fmt.Errorf("propagate %s %s: %w", n.Kind, n.ID, err)
		}
	}
	return nil
}

// movieIDsEmbedding lists the live movies with a ref to id in field. The ids
// are read in full before any is updated, so no cursor stays open across writes.
func (s *Store) movieIDsEmbedding(ctx context.Context, field, id string) ([]string, error) {
	filter := bson.D{{Key: field + ".id", Value: id}, {Key: "deleted", Value: false}}
	cur, err := s.movies.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find movies with %s %s: %w", field, id, err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read movies with %s %s: %w", field, id, err)
	}
	ids := make([]string, 0, len(docs))
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	return ids, nil
}

// ApplyMovie records a movie (a tombstone when m.Deleted). Its refs are first
// brought up to date with the named entries already known; after the write
// they are checked again, because a rename may have landed between that read
// and the write, after its own propagation had scanned the movies.
func (s *Store) ApplyMovie(ctx context.Context, m catalog.Movie) error {
	if m.Deleted {
		update := bson.D{
			{Key: "$set", Value: bson.D{{Key: "deleted", Value: true}, {Key: "version", Value: m.Version}}},
			{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}},
		}
		if _, err := s.upsertNewer(ctx, s.movies, m.ID, m.Version, update); err != nil {
			return fmt.Errorf("delete movie: %w", err)
		}
		return s.forgetProgress(ctx, "movieId", m.ID)
	}

	known, err := s.namedFor(ctx, &m)
	if err != nil {
		return err
	}
	catalog.ResolveMovieRefs(&m, known)
	update := bson.D{
		{Key: "$set", Value: movieFields(m)},
		{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}},
	}
	if _, err := s.upsertNewer(ctx, s.movies, m.ID, m.Version, update); err != nil {
		return fmt.Errorf("apply movie: %w", err)
	}
	// Also after a stale event: the check is idempotent, and it completes the
	// work of a delivery that failed right after its write.
	err = s.updateMovieRefs(ctx, m.ID, func(ctx context.Context, m *catalog.Movie) (bool, error) {
		known, err := s.namedFor(ctx, m)
		if err != nil {
			return false, err
		}
		return catalog.ResolveMovieRefs(m, known), nil
	})
	if err != nil {
		return fmt.Errorf("refresh movie %s refs: %w", m.ID, err)
	}
	return nil
}

// namedFor loads the named entries a movie refers to, by id.
func (s *Store) namedFor(ctx context.Context, m *catalog.Movie) (map[string]catalog.Named, error) {
	var ids []string
	for _, refs := range [][]catalog.Ref{m.Actors, m.Creators, m.Categories, m.Tags} {
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
	}
	known := make(map[string]catalog.Named, len(ids))
	if len(ids) == 0 {
		return known, nil
	}
	cur, err := s.named.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, fmt.Errorf("find named for movie %s: %w", m.ID, err)
	}
	var docs []namedDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read named for movie %s: %w", m.ID, err)
	}
	for _, d := range docs {
		known[d.ID] = d.toNamed()
	}
	return known, nil
}

// updateMovieRefs is a read-modify-write of a live movie's ref lists: change
// edits the movie and reports whether it changed anything. The write applies
// only if no one wrote the movie since it was read (same rev); otherwise it
// starts over from a fresh read. A missing or deleted movie is left alone.
// (FerretDB has neither arrayFilters nor the positional operator, so refs
// cannot be edited in place by one update.)
func (s *Store) updateMovieRefs(ctx context.Context, id string, change func(context.Context, *catalog.Movie) (bool, error)) error {
	for range maxRefAttempts {
		done, err := s.tryUpdateMovieRefs(ctx, id, change)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("movie %s: refs still changing after %d attempts", id, maxRefAttempts)
}

// tryUpdateMovieRefs is one attempt of updateMovieRefs; done is false when
// the movie was written by someone else meanwhile.
func (s *Store) tryUpdateMovieRefs(ctx context.Context, id string, change func(context.Context, *catalog.Movie) (bool, error)) (done bool, err error) {
	defer s.locks.lock(s.movies.Name(), id)()
	var doc movieDoc
	err = s.movies.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if isNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read movie %s: %w", id, err)
	}
	if doc.Deleted {
		return true, nil
	}
	m := doc.toMovie()
	changed, err := change(ctx, &m)
	if err != nil || !changed {
		return true, err
	}
	res, err := s.movies.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: doc.Rev}},
		bson.D{
			{Key: "$set", Value: bson.D{
				{Key: "actors", Value: fromRefs(m.Actors)},
				{Key: "creators", Value: fromRefs(m.Creators)},
				{Key: "categories", Value: fromRefs(m.Categories)},
				{Key: "tags", Value: fromRefs(m.Tags)},
			}},
			{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}},
		})
	if err != nil {
		return false, fmt.Errorf("write movie %s refs: %w", id, err)
	}
	return res.MatchedCount == 1, nil
}

// ApplyVideo records a video (a tombstone when v.Deleted).
func (s *Store) ApplyVideo(ctx context.Context, v catalog.Video) error {
	set := bson.D{{Key: "deleted", Value: true}, {Key: "version", Value: v.Version}}
	if !v.Deleted {
		set = bson.D{
			{Key: "movieId", Value: v.MovieID},
			{Key: "title", Value: v.Title},
			{Key: "synopsis", Value: v.Synopsis},
			{Key: "lengthSeconds", Value: v.LengthSeconds},
			{Key: "url", Value: v.URL},
			{Key: "status", Value: v.Status},
			{Key: "progress", Value: v.Progress},
			{Key: "failureReason", Value: v.FailureReason},
			{Key: "playback", Value: v.Playback},
			{Key: "posterUrl", Value: v.PosterURL},
			{Key: "version", Value: v.Version},
			{Key: "deleted", Value: false},
		}
	}
	if _, err := s.upsertNewer(ctx, s.videos, v.ID, v.Version, bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("apply video: %w", err)
	}
	// Also after a stale event: the stored video may be the tombstone.
	if v.Deleted {
		if err := s.forgetProgress(ctx, "videoId", v.ID); err != nil {
			return err
		}
	}
	return nil
}
