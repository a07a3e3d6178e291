package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/gateway/web"
)

// playerLib is the one file of web/ that is built, not committed.
const playerLib = "lib/hls.min.js"

// webFile is one embedded file, ready to serve.
type webFile struct {
	body        []byte
	contentType string
	etag        string
}

// webPolicy is the page's Content-Security-Policy: only its own files run;
// hls.js feeds the video element through Media Source Extensions (blob:
// media URLs) and transmuxes in a worker it builds from a blob. mediaOrigins
// (a CDN such as Cloudinary's, whose signed HLS URLs the watch endpoint may
// answer) may be fetched by the player and played.
func webPolicy(mediaOrigins []string) (string, error) {
	extra := ""
	for _, o := range mediaOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(o, " ;,'") {
			return "", fmt.Errorf("web media origin %q: want scheme://host[:port]", o)
		}
		extra += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:" + extra +
		"; media-src 'self' blob:" + extra + "; connect-src 'self'" + extra +
		"; worker-src blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'", nil
}

// mountWeb serves the watch page at / and its files at /web/*: public, no
// token (the page signs in by the API), each answer revalidated by its ETag.
func mountWeb(r gin.IRouter, mediaOrigins []string) error {
	files := map[string]webFile{}
	err := fs.WalkDir(web.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) == ".md" {
			return err
		}
		b, err := fs.ReadFile(web.Files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		files[name] = webFile{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return fmt.Errorf("web files: %w", err)
	}
	policy, err := webPolicy(mediaOrigins)
	if err != nil {
		return err
	}
	serve := func(c *gin.Context, name string) {
		f, ok := files[name]
		if !ok {
			if name == playerLib {
				httpserver.Fail(c, apierror.New(apierror.NotFound, "%s is not in this build: run `make build` (it copies hls.js from tools/web)", name))
				return
			}
			httpserver.Fail(c, apierror.New(apierror.NotFound, "no file /web/%s", name))
			return
		}
		h := c.Writer.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		http.ServeContent(c.Writer, c.Request, name, time.Time{}, bytes.NewReader(f.body))
	}
	index := func(c *gin.Context) { serve(c, "index.html") }
	file := func(c *gin.Context) { serve(c, strings.TrimPrefix(c.Param("file"), "/")) }
	r.GET("/", index)
	r.HEAD("/", index)
	r.GET("/web/*file", file)
	r.HEAD("/web/*file", file)
	return nil
}
