// Package httpapi is movie-query's HTTP surface: the public movie queries,
// watching (playback URLs, progress, continue-watching) and the catalog event
// subscription its Dapr sidecar delivers to.
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

// Deps is what the routes need.
type Deps struct {
	Log        *slog.Logger
	Verifier   authn.TokenVerifier // checks the bearer token of every public route
	Movies     Movies
	Events     subscriber.Handler // applies one catalog event to the read model
	Reconciler Reconciler         // nil: no reconciliation routes
	Watching   Watching           // nil: no watching routes
}

// Routes mounts every route of the service on r (built by httpserver.NewEngine).
// Browsing needs an account: any valid bearer token.
func Routes(r gin.IRouter, d Deps) {
	// Declared by components/subscription-movie-query-catalog.yaml. Only the
	// sidecar delivers here, with no user behind it: the app token is the check.
	r.POST("/events/catalog", subscriber.Handle(d.Log, d.Events))

	h := handlers{movies: d.Movies}
	api := r.Group("/api/v1/movie-query", authn.Authenticate(d.Verifier))
	api.GET("/movies", h.listMovies)
	api.GET("/movies/:id", h.getMovie)
	if d.Watching != nil {
		watchRoutes(api, d.Watching)
	}
	if d.Reconciler != nil {
		ReconcileRoutes(r, d.Reconciler, authn.Authenticate(d.Verifier), authn.RequireRole("admin"))
	}
}
