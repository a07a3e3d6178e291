package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-command/internal/app"
	"tenflix/services/movie-command/internal/catalog"
)

type handlers struct {
	app *app.App
}

func namedKinds() map[string]catalog.Kind { return catalog.NamedKinds }

// list is the envelope of every list answer.
type list[T any] struct {
	Items []T `json:"items"`
	Page  int `json:"page"`
	Size  int `json:"size"`
	Total int `json:"total"`
}

// fail maps domain errors to the envelope.
func fail(c *gin.Context, err error) {
	var ve *catalog.ValidationError
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.Is(err, catalog.ErrNotFound):
		err = apierror.New(apierror.NotFound, "%s", err.Error())
	case errors.Is(err, catalog.ErrNameTaken):
		err = apierror.New(apierror.Conflict, "that name is already taken")
	case errors.Is(err, catalog.ErrConflict):
		err = apierror.New(apierror.Conflict, "changed by another request meanwhile; read it again and retry")
	}
	httpserver.Fail(c, err)
}

// pathID returns the :id parameter, answering 404 for ids that cannot exist.
func pathID(c *gin.Context, what string) (string, bool) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		httpserver.Fail(c, apierror.New(apierror.NotFound, "%s %s not found", what, id))
		return "", false
	}
	return id, true
}

func page(c *gin.Context) (app.Page, bool) {
	p := app.Page{Page: 1, Size: 20}
	for _, q := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"page", &p.Page, 1, 1_000_000}, {"size", &p.Size, 1, 100}} {
		s := c.Query(q.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < q.min || n > q.max {
			httpserver.Fail(c, apierror.New(apierror.Invalid, "%s must be an integer from %d to %d", q.name, q.min, q.max))
			return p, false
		}
		*q.dst = n
	}
	return p, true
}

// ---- actors, creators, categories, tags ----

type namedBody struct {
	ID   string `json:"id"` // read-only: ignored, so a GET result can be sent back
	Name string `json:"name"`
}

func (h *handlers) createNamed(kind catalog.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		var body namedBody
		if err := httpserver.BindJSON(c, &body); err != nil {
			httpserver.Fail(c, err)
			return
		}
		n, err := h.app.CreateNamed(c, kind, body.Name)
		if err != nil {
			fail(c, err)
			return
		}
		c.Header("Location", Prefix+"/"+catalog.Plural(kind)+"/"+n.ID)
		c.JSON(http.StatusCreated, n)
	}
}

func (h *handlers) renameNamed(kind catalog.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, string(kind))
		if !ok {
			return
		}
		var body namedBody
		if err := httpserver.BindJSON(c, &body); err != nil {
			httpserver.Fail(c, err)
			return
		}
		n, err := h.app.RenameNamed(c, kind, id, body.Name)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, n)
	}
}

func (h *handlers) deleteNamed(kind catalog.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, string(kind))
		if !ok {
			return
		}
		if err := h.app.DeleteNamed(c, kind, id); err != nil {
			fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

func (h *handlers) getNamed(kind catalog.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, string(kind))
		if !ok {
			return
		}
		n, err := h.app.GetNamed(c, kind, id)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, n)
	}
}

func (h *handlers) listNamed(kind catalog.Kind) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := page(c)
		if !ok {
			return
		}
		items, total, err := h.app.ListNamed(c, kind, c.Query("q"), p)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, list[app.Named]{Items: items, Page: p.Page, Size: p.Size, Total: total})
	}
}

// ---- movies ----

// refBody is a reference to a named entry: {"id": "..."}, {"name": "..."} or
// just "name".
type refBody catalog.Ref

func (r *refBody) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &r.Name)
	}
	var obj struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	r.ID, r.Name = obj.ID, obj.Name
	return nil
}

func refs(in []refBody) []catalog.Ref {
	out := make([]catalog.Ref, len(in))
	for i, r := range in {
		out[i] = catalog.Ref(r)
	}
	return out
}

type movieBody struct {
	ID          string          `json:"id"`     // read-only, ignored
	Videos      json.RawMessage `json:"videos"` // read-only, ignored: use /videos
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Synopsis    string          `json:"synopsis"`
	MPARating   string          `json:"mpaRating"`
	ReleaseDate string          `json:"releaseDate"`
	Rating      *float64        `json:"rating"`
	Image       string          `json:"image"`
	Actors      []refBody       `json:"actors"`
	Creators    []refBody       `json:"creators"`
	Categories  []refBody       `json:"categories"`
	Tags        []refBody       `json:"tags"`
	Notify      bool            `json:"notify"`
}

func (b movieBody) input() catalog.MovieInput {
	return catalog.MovieInput{Name: b.Name, Type: b.Type, Synopsis: b.Synopsis, MPARating: b.MPARating,
		ReleaseDate: b.ReleaseDate, Rating: b.Rating, Image: b.Image, Actors: refs(b.Actors),
		Creators: refs(b.Creators), Categories: refs(b.Categories), Tags: refs(b.Tags), Notify: b.Notify}
}

func (h *handlers) createMovie(c *gin.Context) {
	var body movieBody
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	m, err := h.app.CreateMovie(c, body.input())
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", Prefix+"/movies/"+m.ID)
	c.JSON(http.StatusCreated, m)
}

func (h *handlers) updateMovie(c *gin.Context) {
	id, ok := pathID(c, "movie")
	if !ok {
		return
	}
	var body movieBody
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	m, err := h.app.UpdateMovie(c, id, body.input())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (h *handlers) deleteMovie(c *gin.Context) {
	id, ok := pathID(c, "movie")
	if !ok {
		return
	}
	if err := h.app.DeleteMovie(c, id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) getMovie(c *gin.Context) {
	id, ok := pathID(c, "movie")
	if !ok {
		return
	}
	m, err := h.app.GetMovie(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

func (h *handlers) listMovies(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	items, total, err := h.app.ListMovies(c, p)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list[app.Movie]{Items: items, Page: p.Page, Size: p.Size, Total: total})
}

// ---- videos ----

type videoBody struct {
	ID            string `json:"id"`     // read-only, ignored
	Status        string `json:"status"` // read-only, ignored
	MovieID       string `json:"movieId"`
	Title         string `json:"title"`
	Synopsis      string `json:"synopsis"`
	LengthSeconds int64  `json:"lengthSeconds"`
	URL           string `json:"url"`
}

func (b videoBody) input() catalog.VideoInput {
	return catalog.VideoInput{MovieID: b.MovieID, Title: b.Title, Synopsis: b.Synopsis,
		LengthSeconds: b.LengthSeconds, URL: b.URL}
}

func (h *handlers) createVideo(c *gin.Context) {
	var body videoBody
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	v, err := h.app.CreateVideo(c, body.input())
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", Prefix+"/videos/"+v.ID)
	c.JSON(http.StatusCreated, v)
}

func (h *handlers) updateVideo(c *gin.Context) {
	id, ok := pathID(c, "video")
	if !ok {
		return
	}
	var body videoBody
	if err := httpserver.BindJSON(c, &body); err != nil {
		httpserver.Fail(c, err)
		return
	}
	v, err := h.app.UpdateVideo(c, id, body.input())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (h *handlers) deleteVideo(c *gin.Context) {
	id, ok := pathID(c, "video")
	if !ok {
		return
	}
	if err := h.app.DeleteVideo(c, id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) getVideo(c *gin.Context) {
	id, ok := pathID(c, "video")
	if !ok {
		return
	}
	v, err := h.app.GetVideo(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (h *handlers) listVideos(c *gin.Context) {
	p, ok := page(c)
	if !ok {
		return
	}
	movieID := c.Query("movieId")
	items, total, err := h.app.ListVideos(c, movieID, p)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list[app.Video]{Items: items, Page: p.Page, Size: p.Size, Total: total})
}
