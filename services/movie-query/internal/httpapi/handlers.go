package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-query/internal/catalog"
)

type handlers struct {
	movies Movies
}

func (h handlers) listMovies(c *gin.Context) {
	q, err := parseListQuery(c)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	page, err := h.movies.ListMovies(c, q)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, moviePageDTO{
		Items: moviesDTO(page.Items),
		Page:  q.Page,
		Size:  q.Size,
		Total: page.Total,
	})
}

func (h handlers) getMovie(c *gin.Context) {
	id := c.Param("id")
	d, err := h.movies.Movie(c, id)
	if errors.Is(err, catalog.ErrNotFound) {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "movie %q not found", id))
		return
	}
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, movieDetailFrom(d))
}

// parseListQuery reads and validates the list parameters. An empty parameter
// counts as absent.
func parseListQuery(c *gin.Context) (catalog.ListQuery, error) {
	q := catalog.NewListQuery()
	q.Category = c.Query("category")
	q.Tag = c.Query("tag")
	q.Actor = c.Query("actor")
	q.Q = c.Query("q")
	if s := c.Query("sort"); s != "" {
		q.Sort = s
	}
	if s := c.Query("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, invalid("page must be an integer, got %q", s)
		}
		q.Page = n
	}
	if s := c.Query("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, invalid("size must be an integer, got %q", s)
		}
		q.Size = n
	}
	if s := c.Query("year"); s != "" {
		if !catalog.ValidYear(s) {
			return q, invalid("year must be a four-digit year, got %q", s)
		}
		q.Year, _ = strconv.Atoi(s)
	}
	if s := c.Query("minRating"); s != "" {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
			return q, invalid("minRating must be a number between 0 and 10, got %q", s)
		}
		q.MinRating = &r
	}
	if err := q.Validate(); err != nil {
		return q, invalid("%s", err.Error())
	}
	return q, nil
}

func invalid(format string, args ...any) error {
	return apierror.New(apierror.Invalid, format, args...)
}
