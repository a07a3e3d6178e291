package catalog_test

import (
	"reflect"
	"testing"

	"tenflix/services/movie-query/internal/catalog"
)

func TestResolveRefs(t *testing.T) {
	known := map[string]catalog.Named{
		"a1": {Kind: catalog.KindActor, ID: "a1", Name: "Thomas", Version: 3},
		"a2": {Kind: catalog.KindActor, ID: "a2", Name: "Gone", Version: 2, Deleted: true},
		"c1": {Kind: catalog.KindCategory, ID: "c1", Name: "Drama", Version: 9},
	}
	tests := []struct {
		name        string
		refs        []catalog.Ref
		want        []catalog.Ref
		wantChanged bool
	}{
		{"nil gives empty", nil, []catalog.Ref{}, false},
		{"older ref renamed",
			[]catalog.Ref{{ID: "a1", Name: "Tom", Version: 1}},
			[]catalog.Ref{{ID: "a1", Name: "Thomas", Version: 3}}, true},
		{"same version kept",
			[]catalog.Ref{{ID: "a1", Name: "Thomas", Version: 3}},
			[]catalog.Ref{{ID: "a1", Name: "Thomas", Version: 3}}, false},
		{"newer ref never regressed",
			[]catalog.Ref{{ID: "a1", Name: "Tommy", Version: 4}},
			[]catalog.Ref{{ID: "a1", Name: "Tommy", Version: 4}}, false},
		{"deleted entry dropped",
			[]catalog.Ref{{ID: "a2", Name: "Ann", Version: 1}, {ID: "x", Name: "X", Version: 1}},
			[]catalog.Ref{{ID: "x", Name: "X", Version: 1}}, true},
		{"entry of another kind ignored",
			[]catalog.Ref{{ID: "c1", Name: "Old", Version: 1}},
			[]catalog.Ref{{ID: "c1", Name: "Old", Version: 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := catalog.ResolveRefs(tt.refs, catalog.KindActor, known)
			if !reflect.DeepEqual(got, tt.want) || changed != tt.wantChanged {
				t.Fatalf("ResolveRefs = %+v, %v; want %+v, %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestReleaseYear(t *testing.T) {
	for date, want := range map[string]int{"2019-05-30": 2019, "": 0, "2019": 0, "2019-13-01": 0} {
		if got := catalog.ReleaseYear(date); got != want {
			t.Errorf("ReleaseYear(%q) = %d, want %d", date, got, want)
		}
	}
}

func TestListQueryValidate(t *testing.T) {
	rating := func(r float64) *float64 { return &r }
	long := string(make([]byte, catalog.MaxTermLength+1))
	tests := []struct {
		name    string
		edit    func(*catalog.ListQuery)
		wantErr bool
	}{
		{"defaults", func(*catalog.ListQuery) {}, false},
		{"page 0", func(q *catalog.ListQuery) { q.Page = 0 }, true},
		{"page too big", func(q *catalog.ListQuery) { q.Page = catalog.MaxPage + 1 }, true},
		{"size 0", func(q *catalog.ListQuery) { q.Size = 0 }, true},
		{"size 100", func(q *catalog.ListQuery) { q.Size = 100 }, false},
		{"size 101", func(q *catalog.ListQuery) { q.Size = 101 }, true},
		{"year", func(q *catalog.ListQuery) { q.Year = 1999 }, false},
		{"year 3 digits", func(q *catalog.ListQuery) { q.Year = 999 }, true},
		{"minRating 0", func(q *catalog.ListQuery) { q.MinRating = rating(0) }, false},
		{"minRating 10", func(q *catalog.ListQuery) { q.MinRating = rating(10) }, false},
		{"minRating negative", func(q *catalog.ListQuery) { q.MinRating = rating(-0.1) }, true},
		{"minRating 10.1", func(q *catalog.ListQuery) { q.MinRating = rating(10.1) }, true},
		{"sort rating", func(q *catalog.ListQuery) { q.Sort = catalog.SortRating }, false},
		{"sort unknown", func(q *catalog.ListQuery) { q.Sort = "oldest" }, true},
		{"term too long", func(q *catalog.ListQuery) { q.Q = long }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := catalog.NewListQuery()
			tt.edit(&q)
			if err := q.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}
