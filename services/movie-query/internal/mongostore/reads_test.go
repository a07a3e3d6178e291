package mongostore_test

import (
	"context"
	"reflect"
	"testing"

	"tenflix/services/movie-query/internal/catalog"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
)

// seedCatalog stores a small catalog; m7 is deleted and must never show.
func seedCatalog(tb testing.TB, s *mongostore.Store) {
	tb.Helper()
	keanu, brad := ref("a1", "Keanu Reeves", 1), ref("a2", "Brad Pitt", 1)
	scifi, action, comedy := ref("c1", "Sci-Fi", 1), ref("c2", "Action", 1), ref("c3", "Comedy", 1)
	romcom, drama := ref("c4", "Rom.Com", 1), ref("c5", "Drama", 1)
	cyberpunk, revenge := ref("t1", "cyberpunk", 1), ref("t2", "revenge", 1)
	m := func(id, name, date string, rating float64, actors, categories, tags []catalog.Ref) catalog.Movie {
		return movie(id, 1, func(m *catalog.Movie) {
			m.Name, m.ReleaseDate, m.Rating = name, date, rating
			m.Actors, m.Categories, m.Tags = actors, categories, tags
		})
	}
	refs := func(rs ...catalog.Ref) []catalog.Ref { return rs }
	apply(tb, s,
		m("m1", "The Matrix", "1999-03-31", 8.7, refs(keanu), refs(scifi), refs(cyberpunk)),
		m("m2", "John Wick", "2014-10-24", 7.4, refs(keanu), refs(action), refs(revenge)),
		m("m3", "Mr. & Mrs. Smith (2005)", "2005-06-10", 6.5, refs(brad), refs(action, comedy), nil),
		m("m4", "the matrix reloaded", "2003-05-15", 7.2, refs(keanu), refs(scifi), refs(cyberpunk)),
		m("m5", "Amélie", "2001-04-25", 8.3, nil, refs(comedy, romcom), nil),
		m("m6", "Fight Club", "1999-10-15", 8.8, refs(brad), refs(drama), nil),
		m("m7", "Deleted Matrix", "1999-01-01", 9.9, refs(keanu), refs(scifi, action), refs(cyberpunk)),
		movie("m7", 2, func(m *catalog.Movie) { m.Deleted = true }),
		m("m8", "Zed", "2014-10-24", 7.4, nil, nil, nil),
	)
}

func TestListMovies(t *testing.T) {
	s := mongotest.NewStore(t)
	seedCatalog(t, s)
	rating := func(r float64) *float64 { return &r }

	tests := []struct {
		name      string
		edit      func(*catalog.ListQuery)
		wantIDs   []string
		wantTotal int64
	}{
		{"newest by default, ties by id", func(*catalog.ListQuery) {},
			[]string{"m2", "m8", "m3", "m4", "m5", "m6", "m1"}, 7},
		{"sort rating", func(q *catalog.ListQuery) { q.Sort = catalog.SortRating },
			[]string{"m6", "m1", "m5", "m2", "m8", "m4", "m3"}, 7},
		{"sort name ignoring case", func(q *catalog.ListQuery) { q.Sort = catalog.SortName },
			[]string{"m5", "m6", "m2", "m3", "m1", "m4", "m8"}, 7},

		{"category by id", func(q *catalog.ListQuery) { q.Category = "c1" }, []string{"m4", "m1"}, 2},
		{"category by name", func(q *catalog.ListQuery) { q.Category = "Sci-Fi" }, []string{"m4", "m1"}, 2},
		{"category by name ignoring case", func(q *catalog.ListQuery) { q.Category = "SCI-fi" }, []string{"m4", "m1"}, 2},
		{"category name must be whole", func(q *catalog.ListQuery) { q.Category = "Sci" }, nil, 0},
		{"category name with metacharacters", func(q *catalog.ListQuery) { q.Category = "rom.com" }, []string{"m5"}, 1},
		{"category metacharacters are literal", func(q *catalog.ListQuery) { q.Category = "RomXCom" }, nil, 0},
		{"category pattern is literal", func(q *catalog.ListQuery) { q.Category = ".*" }, nil, 0},
		{"tag by id", func(q *catalog.ListQuery) { q.Tag = "t2" }, []string{"m2"}, 1},
		{"tag by name", func(q *catalog.ListQuery) { q.Tag = "Cyberpunk" }, []string{"m4", "m1"}, 2},
		{"actor by id", func(q *catalog.ListQuery) { q.Actor = "a1" }, []string{"m2", "m4", "m1"}, 3},
		{"actor by name", func(q *catalog.ListQuery) { q.Actor = "keanu reeves" }, []string{"m2", "m4", "m1"}, 3},
		{"actor partial name", func(q *catalog.ListQuery) { q.Actor = "Keanu" }, nil, 0},
		{"category and actor", func(q *catalog.ListQuery) { q.Category = "action"; q.Actor = "a2" }, []string{"m3"}, 1},
		{"year", func(q *catalog.ListQuery) { q.Year = 1999 }, []string{"m6", "m1"}, 2},
		{"minRating", func(q *catalog.ListQuery) { q.MinRating = rating(8.5) }, []string{"m6", "m1"}, 2},
		{"minRating is inclusive", func(q *catalog.ListQuery) { q.MinRating = rating(8.3); q.Sort = catalog.SortRating },
			[]string{"m6", "m1", "m5"}, 3},
		{"minRating 0", func(q *catalog.ListQuery) { q.MinRating = rating(0) },
			[]string{"m2", "m8", "m3", "m4", "m5", "m6", "m1"}, 7},

		{"q substring ignoring case", func(q *catalog.ListQuery) { q.Q = "MATRIX" }, []string{"m4", "m1"}, 2},
		{"q with parentheses", func(q *catalog.ListQuery) { q.Q = "(2005)" }, []string{"m3"}, 1},
		{"q dot is literal", func(q *catalog.ListQuery) { q.Q = "." }, []string{"m3"}, 1},
		{"q pattern is literal", func(q *catalog.ListQuery) { q.Q = "Ma.*x" }, nil, 0},
		{"q with regex syntax", func(q *catalog.ListQuery) { q.Q = `mr. & [mrs` }, nil, 0},
		{"q unicode", func(q *catalog.ListQuery) { q.Q = "é" }, []string{"m5"}, 1},

		{"first page", func(q *catalog.ListQuery) { q.Size = 3 }, []string{"m2", "m8", "m3"}, 7},
		{"last page", func(q *catalog.ListQuery) { q.Size = 3; q.Page = 3 }, []string{"m1"}, 7},
		{"past the end", func(q *catalog.ListQuery) { q.Size = 3; q.Page = 4 }, nil, 7},
		{"filtered page", func(q *catalog.ListQuery) { q.Actor = "a1"; q.Size = 2; q.Page = 2 }, []string{"m1"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := catalog.NewListQuery()
			tt.edit(&q)
			if err := q.Validate(); err != nil {
				t.Fatalf("invalid test query: %v", err)
			}
			page, err := s.ListMovies(context.Background(), q)
			if err != nil {
				t.Fatalf("ListMovies: %v", err)
			}
			ids := []string{}
			for _, m := range page.Items {
				ids = append(ids, m.ID)
			}
			if tt.wantIDs == nil {
				tt.wantIDs = []string{}
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) || page.Total != tt.wantTotal {
				t.Fatalf("got %v total %d, want %v total %d", ids, page.Total, tt.wantIDs, tt.wantTotal)
			}
		})
	}
}

func TestMovieDetail(t *testing.T) {
	s := mongotest.NewStore(t)
	seedCatalog(t, s)
	apply(t, s,
		catalog.Video{ID: "v2", MovieID: "m1", Title: "Bullet time", LengthSeconds: 60, URL: "u2", Status: "ready", Version: 1},
		catalog.Video{ID: "v1", MovieID: "m1", Title: "Bullet time", LengthSeconds: 61, URL: "u1", Status: "ready", Version: 1},
		catalog.Video{ID: "v0", MovieID: "m1", Title: "After", LengthSeconds: 1, URL: "u0", Status: "ready", Version: 1},
		catalog.Video{ID: "v9", MovieID: "m2", Title: "Other movie", Version: 1},
	)

	d := getMovie(t, s, "m1")
	if d.Name != "The Matrix" || d.ReleaseDate != "1999-03-31" || d.Rating != 8.7 {
		t.Fatalf("movie = %+v", d.Movie)
	}
	var ids []string
	for _, v := range d.Videos {
		ids = append(ids, v.ID)
	}
	if want := []string{"v0", "v1", "v2"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("videos = %v, want %v", ids, want)
	}
	if v := getMovie(t, s, "m8").Videos; v == nil || len(v) != 0 {
		t.Fatalf("videos of a movie without any = %#v, want empty", v)
	}
	assertGone(t, s, "m7")
	assertGone(t, s, "nope")
}
