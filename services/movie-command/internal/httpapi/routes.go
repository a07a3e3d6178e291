// Package httpapi is movie-command's REST API (admin catalog writes and reads).
package httpapi

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-command/internal/app"
)

// Prefix of every public path of this service.
const Prefix = "/api/v1/movie-command"

// Routes builds the engine with every route of the service. Every catalog
// route is for admins: the sidecar's app token says the request came through
// Dapr, the bearer token (checked by verifier) says who sent it.
func Routes(log *slog.Logger, appToken string, verifier authn.TokenVerifier, a *app.App) *gin.Engine {
	r := httpserver.NewEngine(httpserver.Options{Log: log, AppAPIToken: appToken})
	h := &handlers{app: a}
	api := r.Group(Prefix, authn.Authenticate(verifier), authn.RequireRole("admin"))

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
	return r
}
