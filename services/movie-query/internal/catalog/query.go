package catalog

import (
	"fmt"
	"math"
	"regexp"
)

// Sort orders of a movie list.
const (
	SortNewest = "newest" // release date, newest first (the default)
	SortRating = "rating" // rating, highest first
	SortName   = "name"   // name, A to Z, ignoring case
)

// Bounds of a movie list query.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	MaxPage         = 1_000_000
	MaxTermLength   = 200
)

// ListQuery selects a page of movies. Empty strings and nil mean "any".
type ListQuery struct {
	Page      int // from 1
	Size      int // 1..MaxPageSize
	Category  string
	Tag       string
	Actor     string
	Year      int // release year, 0 = any
	MinRating *float64
	Sort      string
	Q         string // case-insensitive substring of the name
}

// MoviePage is one page of a movie list; Total counts every match.
type MoviePage struct {
	Items []Movie
	Total int64
}

var yearPattern = regexp.MustCompile(`^[1-9][0-9]{3}$`)

// ValidYear reports whether s is a four-digit year (1000-9999).
func ValidYear(s string) bool { return yearPattern.MatchString(s) }

// NewListQuery is the first page of every movie, newest first.
func NewListQuery() ListQuery {
	return ListQuery{Page: 1, Size: DefaultPageSize, Sort: SortNewest}
}

// Validate checks bounds. Its errors are fit for clients.
func (q ListQuery) Validate() error {
	switch {
	case q.Page < 1 || q.Page > MaxPage:
		return fmt.Errorf("page must be between 1 and %d", MaxPage)
	case q.Size < 1 || q.Size > MaxPageSize:
		return fmt.Errorf("size must be between 1 and %d", MaxPageSize)
	case q.Year != 0 && (q.Year < 1000 || q.Year > 9999):
		return fmt.Errorf("year must be a four-digit year (1000-9999)")
	case q.MinRating != nil && (math.IsNaN(*q.MinRating) || *q.MinRating < 0 || *q.MinRating > 10):
		return fmt.Errorf("minRating must be a number between 0 and 10")
	case q.Sort != SortNewest && q.Sort != SortRating && q.Sort != SortName:
		return fmt.Errorf("sort must be one of %s, %s, %s", SortNewest, SortRating, SortName)
	}
	for _, t := range []struct{ name, value string }{
		{"category", q.Category}, {"tag", q.Tag}, {"actor", q.Actor}, {"q", q.Q},
	} {
		if len(t.value) > MaxTermLength {
			return fmt.Errorf("%s must be at most %d bytes", t.name, MaxTermLength)
		}
	}
	return nil
}
