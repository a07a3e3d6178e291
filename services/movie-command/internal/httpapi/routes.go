// Package httpapi is movie-command's REST API (admin catalog writes and reads).
package httpapi

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/services/movie-command/internal/app"
)

// Prefix of every public path of this service.
const Prefix = "/api/v1/movie-command"

// Deps is what the routes need.
type Deps struct {
	Log      *slog.Logger
	Verifier authn.TokenVerifier // checks the bearer token of every public route
	App      *app.App
	Snapshot Snapshotter // nil: no internal routes
}

// Routes mounts every route of the service on r (built by
// httpserver.NewEngine, which checks the sidecar's app token). Every catalog
// route is for admins: the app token says the request came through Dapr, the
// bearer token says who sent it.
func Routes(r gin.IRouter, d Deps) {
	if d.Snapshot != nil {
		internalRoutes(r, d.Snapshot)
	}
	h := &handlers{app: d.App}
	mediaRoutes(r, h)
	api := r.Group(Prefix, authn.Authenticate(d.Verifier), authn.RequireRole("admin"))

	for plural, kind := range namedKinds() {
		g := api.Group("/" + plural)
		g.POST("", h.createNamed(kind))
		g.GET("", h.listNamed(kind))
		g.GET("/:id", h.getNamed(kind))
		g.PUT("/:id", h.renameNamed(kind))
		g.DELETE("/:id", h.deleteNamed(kind))
	}

	api.POST("/movies", h.createMovie)
	api.GET("/movies", h.listMovies)
	api.GET("/movies/:id", h.getMovie)
	api.PUT("/movies/:id", h.updateMovie)
	api.DELETE("/movies/:id", h.deleteMovie)

	api.POST("/videos", h.createVideo)
	api.GET("/videos", h.listVideos)
	api.GET("/videos/:id", h.getVideo)
	api.PUT("/videos/:id", h.updateVideo)
	api.DELETE("/videos/:id", h.deleteVideo)
}
