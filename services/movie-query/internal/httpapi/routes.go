// Package httpapi is movie-query's HTTP surface: the public movie queries and
// the catalog event subscription its Dapr sidecar delivers to.
package httpapi

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/subscriber"
	"tenflix/services/movie-query/internal/catalog"
)

// Movies answers the movie queries.
type Movies interface {
	ListMovies(ctx context.Context, q catalog.ListQuery) (catalog.MoviePage, error)
	Movie(ctx context.Context, id string) (catalog.MovieDetail, error)
}

// Routes mounts every route of the service on r (built by httpserver.NewEngine).
// Browsing needs an account: any valid bearer token, checked by verifier.
func Routes(r *gin.Engine, log *slog.Logger, verifier authn.TokenVerifier, movies Movies, events subscriber.Handler) {
	// Declared by components/subscription-movie-query-catalog.yaml. Only the
	// sidecar delivers here, with no user behind it: the app token is the check.
	r.POST("/events/catalog", subscriber.Handle(log, events))

	h := handlers{movies: movies}
	api := r.Group("/api/v1/movie-query", authn.Authenticate(verifier))
	api.GET("/movies", h.listMovies)
	api.GET("/movies/:id", h.getMovie)
}
