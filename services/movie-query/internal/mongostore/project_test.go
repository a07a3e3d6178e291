package mongostore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"tenflix/services/movie-query/internal/catalog"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
)

// movie is a live movie event at version v; edit adjusts it.
func movie(id string, v int64, edit ...func(*catalog.Movie)) catalog.Movie {
	m := catalog.Movie{
		ID: id, Name: "Movie " + id, Type: "movie", Synopsis: "About " + id, MPARating: "PG-13",
		ReleaseDate: "2020-01-01", Rating: 7, Image: "https://img.example/" + id + ".jpg",
		Actors: []catalog.Ref{}, Creators: []catalog.Ref{}, Categories: []catalog.Ref{}, Tags: []catalog.Ref{},
		Version: v,
	}
	for _, e := range edit {
		e(&m)
	}
	return m
}

func withActors(refs ...catalog.Ref) func(*catalog.Movie) {
	return func(m *catalog.Movie) { m.Actors = refs }
}

func withCategories(refs ...catalog.Ref) func(*catalog.Movie) {
	return func(m *catalog.Movie) { m.Categories = refs }
}

func ref(id, name string, v int64) catalog.Ref { return catalog.Ref{ID: id, Name: name, Version: v} }

func apply(tb testing.TB, s *mongostore.Store, events ...any) {
	tb.Helper()
	ctx := context.Background()
	for _, ev := range events {
		var err error
		switch ev := ev.(type) {
		case catalog.Movie:
			err = s.ApplyMovie(ctx, ev)
		case catalog.Named:
			err = s.ApplyNamed(ctx, ev)
		case catalog.Video:
			err = s.ApplyVideo(ctx, ev)
		default:
			tb.Fatalf("apply: unexpected %T", ev)
		}
		if err != nil {
			tb.Fatalf("apply %+v: %v", ev, err)
		}
	}
}

func getMovie(tb testing.TB, s *mongostore.Store, id string) catalog.MovieDetail {
	tb.Helper()
	d, err := s.Movie(context.Background(), id)
	if err != nil {
		tb.Fatalf("Movie(%s): %v", id, err)
	}
	return d
}

func assertGone(tb testing.TB, s *mongostore.Store, id string) {
	tb.Helper()
	_, err := s.Movie(context.Background(), id)
	if !errors.Is(err, catalog.ErrNotFound) {
		tb.Fatalf("Movie(%s) error = %v, want ErrNotFound", id, err)
	}
}

func assertRefs(tb testing.TB, got []catalog.Ref, want ...catalog.Ref) {
	tb.Helper()
	if want == nil {
		want = []catalog.Ref{}
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("refs = %+v, want %+v", got, want)
	}
}

func TestNewIsIdempotent(t *testing.T) {
	client := mongotest.Client(t)
	db := client.Database(mongotest.NewDatabaseName(t, client))
	for i := range 2 {
		if _, err := mongostore.New(context.Background(), db); err != nil {
			t.Fatalf("New #%d: %v", i+1, err)
		}
	}
}

func TestApplyMovieTwiceIsANoOp(t *testing.T) {
	s := mongotest.NewStore(t)
	m := movie("m1", 1, withActors(ref("a1", "Tom", 1)))
	apply(t, s, m, m)

	got := getMovie(t, s, "m1")
	if !reflect.DeepEqual(got.Movie, m) {
		t.Fatalf("movie = %+v\nwant %+v", got.Movie, m)
	}
	page, err := s.ListMovies(context.Background(), catalog.NewListQuery())
	if err != nil || page.Total != 1 || len(page.Items) != 1 {
		t.Fatalf("list = %+v, %v; want one movie", page, err)
	}
}

func TestApplyMovieOutOfOrderKeepsNewest(t *testing.T) {
	s := mongotest.NewStore(t)
	v1 := movie("m1", 1, func(m *catalog.Movie) { m.Name = "First cut" })
	v2 := movie("m1", 2, func(m *catalog.Movie) { m.Name = "Director's cut" })
	apply(t, s, v2, v1)

	got := getMovie(t, s, "m1")
	if got.Name != "Director's cut" || got.Version != 2 {
		t.Fatalf("movie = %q v%d, want \"Director's cut\" v2", got.Name, got.Version)
	}
}

func TestMovieTombstone(t *testing.T) {
	t.Run("older update does not resurrect", func(t *testing.T) {
		s := mongotest.NewStore(t)
		apply(t, s, movie("m1", 1), movie("m1", 2, func(m *catalog.Movie) { m.Deleted = true }))
		assertGone(t, s, "m1")
		apply(t, s, movie("m1", 1), movie("m1", 2))
		assertGone(t, s, "m1")
		page, err := s.ListMovies(context.Background(), catalog.NewListQuery())
		if err != nil || page.Total != 0 || len(page.Items) != 0 {
			t.Fatalf("list = %+v, %v; want empty", page, err)
		}
	})
	t.Run("delete arriving first", func(t *testing.T) {
		s := mongotest.NewStore(t)
		apply(t, s, movie("m1", 3, func(m *catalog.Movie) { m.Deleted = true }), movie("m1", 2), movie("m1", 1))
		assertGone(t, s, "m1")
	})
}

func TestRenamePropagatesToEveryMovie(t *testing.T) {
	s := mongotest.NewStore(t)
	apply(t, s,
		catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: "Tom", Version: 1},
		movie("m1", 1, withActors(ref("a1", "Tom", 1), ref("a2", "Ann", 1))),
		movie("m2", 1, withActors(ref("a1", "Tom", 1))),
		movie("m3", 1, withActors(ref("a2", "Ann", 1))),
		// The same id as a category is another entry: untouched by the actor's rename.
		movie("m4", 1, withCategories(ref("a1", "Tom", 1))),
		catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: "Thomas", Version: 2},
	)
	assertRefs(t, getMovie(t, s, "m1").Actors, ref("a1", "Thomas", 2), ref("a2", "Ann", 1))
	assertRefs(t, getMovie(t, s, "m2").Actors, ref("a1", "Thomas", 2))
	assertRefs(t, getMovie(t, s, "m3").Actors, ref("a2", "Ann", 1))
	assertRefs(t, getMovie(t, s, "m4").Categories, ref("a1", "Tom", 1))

	t.Run("stale rename does not", func(t *testing.T) {
		apply(t, s,
			catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: "Tom", Version: 1},
			catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: "Thomas", Version: 2},
		)
		assertRefs(t, getMovie(t, s, "m1").Actors, ref("a1", "Thomas", 2), ref("a2", "Ann", 1))
		assertRefs(t, getMovie(t, s, "m2").Actors, ref("a1", "Thomas", 2))
	})
	t.Run("older movie event keeps the newer name", func(t *testing.T) {
		apply(t, s, movie("m2", 2, withActors(ref("a1", "Tom", 1))))
		assertRefs(t, getMovie(t, s, "m2").Actors, ref("a1", "Thomas", 2))
	})
	t.Run("movie carrying a newer name than known keeps it", func(t *testing.T) {
		apply(t, s, movie("m3", 2, withActors(ref("a1", "Tommy", 3))))
		assertRefs(t, getMovie(t, s, "m3").Actors, ref("a1", "Tommy", 3))
		apply(t, s, catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: "Thomas", Version: 2})
		assertRefs(t, getMovie(t, s, "m3").Actors, ref("a1", "Tommy", 3))
	})
}

func TestDeleteRemovesRefFromMovies(t *testing.T) {
	s := mongotest.NewStore(t)
	drama := ref("c1", "Drama", 1)
	crime := ref("c2", "Crime", 1)
	apply(t, s,
		catalog.Named{Kind: catalog.KindCategory, ID: "c1", Name: "Drama", Version: 1},
		movie("m1", 1, withCategories(drama, crime)),
		movie("m2", 1, withCategories(drama)),
		catalog.Named{Kind: catalog.KindCategory, ID: "c1", Version: 2, Deleted: true},
	)
	assertRefs(t, getMovie(t, s, "m1").Categories, crime)
	assertRefs(t, getMovie(t, s, "m2").Categories)

	// Neither a late rename nor a movie event written before the delete brings it back.
	apply(t, s,
		catalog.Named{Kind: catalog.KindCategory, ID: "c1", Name: "Dramas", Version: 1},
		movie("m2", 2, withCategories(drama)),
		movie("m3", 1, withCategories(drama, crime)),
	)
	assertRefs(t, getMovie(t, s, "m2").Categories)
	assertRefs(t, getMovie(t, s, "m3").Categories, crime)
}

func TestApplyVideo(t *testing.T) {
	s := mongotest.NewStore(t)
	video := func(id string, v int64, title string) catalog.Video {
		return catalog.Video{
			ID: id, MovieID: "m1", Title: title, Synopsis: "s", LengthSeconds: 90,
			URL: "https://cdn.example/" + id + ".mp4", Status: "ready", Version: v,
		}
	}
	titles := func() []string {
		var out []string
		for _, v := range getMovie(t, s, "m1").Videos {
			out = append(out, v.ID+":"+v.Title)
		}
		return out
	}
	apply(t, s, movie("m1", 1),
		video("v1", 1, "Trailer"), video("v1", 1, "Trailer"),
		video("v2", 2, "Episode 2"), video("v2", 1, "Episode 1"),
		video("v3", 1, "Episode 1"),
	)
	if got, want := titles(), []string{"v3:Episode 1", "v2:Episode 2", "v1:Trailer"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("videos = %v, want %v", got, want)
	}

	del := video("v2", 3, "")
	del.Deleted = true
	apply(t, s, del, video("v2", 2, "Episode 2"))
	if got, want := titles(), []string{"v3:Episode 1", "v1:Trailer"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("videos after delete = %v, want %v", got, want)
	}

	got := getMovie(t, s, "m1").Videos[1]
	if want := video("v1", 1, "Trailer"); !reflect.DeepEqual(got, want) {
		t.Fatalf("video = %+v, want %+v", got, want)
	}
}

// Renames and movie updates racing on the same documents: whatever the
// interleaving, every movie ends with the last name and its own last version.
func TestConcurrentRenamesAndMovieUpdates(t *testing.T) {
	s := mongotest.NewStore(t)
	ctx := context.Background()
	const movies, renames, updates = 4, 8, 4
	apply(t, s, catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: "name 1", Version: 1})
	for i := range movies {
		apply(t, s, movie(fmt.Sprintf("m%d", i), 1, withActors(ref("a1", "name 1", 1))))
	}

	var jobs []func() error
	for v := int64(2); v <= renames+1; v++ {
		jobs = append(jobs, func() error {
			return s.ApplyNamed(ctx, catalog.Named{Kind: catalog.KindActor, ID: "a1", Name: fmt.Sprintf("name %d", v), Version: v})
		})
	}
	for i := range movies {
		for v := int64(2); v <= updates+1; v++ {
			jobs = append(jobs, func() error {
				// The command side may publish a movie with the name it knew then.
				return s.ApplyMovie(ctx, movie(fmt.Sprintf("m%d", i), v, withActors(ref("a1", "name 1", 1))))
			})
		}
	}
	rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })

	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for _, job := range jobs {
		wg.Go(func() { errs <- job() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	last := fmt.Sprintf("name %d", renames+1)
	for i := range movies {
		m := getMovie(t, s, fmt.Sprintf("m%d", i))
		if m.Version != updates+1 {
			t.Errorf("%s version = %d, want %d", m.ID, m.Version, updates+1)
		}
		assertRefs(t, m.Actors, ref("a1", last, renames+1))
	}
}
