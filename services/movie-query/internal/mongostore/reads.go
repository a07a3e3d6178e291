package mongostore

import (
	"context"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"tenflix/services/movie-query/internal/catalog"
)

// ListMovies returns one page of live movies matching q (already validated)
// and how many match in all.
func (s *Store) ListMovies(ctx context.Context, q catalog.ListQuery) (catalog.MoviePage, error) {
	filter := listFilter(q)
	opts := options.Find().
		SetSort(listSort(q.Sort)).
		SetSkip(int64(q.Page-1) * int64(q.Size)).
		SetLimit(int64(q.Size))
	cur, err := s.movies.Find(ctx, filter, opts)
	if err != nil {
		return catalog.MoviePage{}, fmt.Errorf("list movies: %w", err)
	}
	var docs []movieDoc
	if err := cur.All(ctx, &docs); err != nil {
		return catalog.MoviePage{}, fmt.Errorf("read movies: %w", err)
	}
	total, err := s.movies.CountDocuments(ctx, filter)
	if err != nil {
		return catalog.MoviePage{}, fmt.Errorf("count movies: %w", err)
	}
	page := catalog.MoviePage{Items: make([]catalog.Movie, 0, len(docs)), Total: total}
	for _, d := range docs {
		page.Items = append(page.Items, d.toMovie())
	}
	return page, nil
}

func listFilter(q catalog.ListQuery) bson.D {
	filter := bson.D{{Key: "deleted", Value: false}}
	var refs bson.A
	for _, t := range []struct{ kind, term string }{
		{catalog.KindCategory, q.Category}, {catalog.KindTag, q.Tag}, {catalog.KindActor, q.Actor},
	} {
		if t.term == "" {
			continue
		}
		field, _ := refsField(t.kind)
		// By id, or by the exact name ignoring case. ($elemMatch would be
		// tighter but FerretDB does not support it on fields.)
		refs = append(refs, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: field + ".id", Value: t.term}},
			bson.D{{Key: field + ".name", Value: regex("^" + regexp.QuoteMeta(t.term) + "$")}},
		}}})
	}
	if len(refs) > 0 {
		filter = append(filter, bson.E{Key: "$and", Value: refs})
	}
	if q.Year != 0 {
		filter = append(filter, bson.E{Key: "releaseYear", Value: q.Year})
	}
	if q.MinRating != nil {
		filter = append(filter, bson.E{Key: "rating", Value: bson.D{{Key: "$gte", Value: *q.MinRating}}})
	}
	if q.Q != "" {
		// $text is not available on FerretDB; a substring regex is.
		filter = append(filter, bson.E{Key: "name", Value: regex(regexp.QuoteMeta(q.Q))})
	}
	return filter
}

// regex is a case-insensitive $regex condition.
func regex(pattern string) bson.D {
	return bson.D{{Key: "$regex", Value: pattern}, {Key: "$options", Value: "i"}}
}

// listSort orders a list, ties broken by _id so pages are stable.
func listSort(sort string) bson.D {
	switch sort {
	case catalog.SortRating:
		return bson.D{{Key: "rating", Value: -1}, {Key: "_id", Value: 1}}
	case catalog.SortName:
		return bson.D{{Key: "nameLower", Value: 1}, {Key: "_id", Value: 1}}
	default:
		return bson.D{{Key: "releaseDate", Value: -1}, {Key: "_id", Value: 1}}
	}
}

// Movie returns a live movie with its live videos, ordered by title then id.
func (s *Store) Movie(ctx context.Context, id string) (catalog.MovieDetail, error) {
	var doc movieDoc
	err := s.movies.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "deleted", Value: false}}).Decode(&doc)
	if isNotFound(err) {
		return catalog.MovieDetail{}, fmt.Errorf("movie %s: %w", id, catalog.ErrNotFound)
	}
	if err != nil {
		return catalog.MovieDetail{}, fmt.Errorf("read movie %s: %w", id, err)
	}
	cur, err := s.videos.Find(ctx,
		bson.D{{Key: "movieId", Value: id}, {Key: "deleted", Value: false}},
		options.Find().SetSort(bson.D{{Key: "title", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return catalog.MovieDetail{}, fmt.Errorf("find videos of movie %s: %w", id, err)
	}
	var docs []videoDoc
	if err := cur.All(ctx, &docs); err != nil {
		return catalog.MovieDetail{}, fmt.Errorf("read videos of movie %s: %w", id, err)
	}
	detail := catalog.MovieDetail{Movie: doc.toMovie(), Videos: make([]catalog.Video, 0, len(docs))}
	for _, d := range docs {
		detail.Videos = append(detail.Videos, d.toVideo())
	}
	return detail, nil
}
