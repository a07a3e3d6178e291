package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
)

// Headers a browser client may send and read. Tokens travel in the
// Authorization header, not cookies, so credentials mode is not needed.
const (
	corsAllowHeaders  = "Authorization, Content-Type, Accept, If-Match, If-None-Match, Idempotency-Key, Range, X-Request-Id"
	corsExposeHeaders = "X-Request-Id, Location, ETag, Retry-After, Content-Range, WWW-Authenticate"
)

type cors struct {
	any     bool
	origins map[string]bool
}

func newCORS(origins []string) cors {
	co := cors{origins: map[string]bool{}}
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		switch o {
		case "":
		case "*":
			co.any = true
		default:
			co.origins[o] = true
		}
	}
	return co
}

func (co cors) allowed(origin string) bool {
	return origin != "" && (co.any || co.origins[origin])
}

// headers lets allowed origins read every answer, errors included.
func (co cors) headers(c *gin.Context) {
	c.Writer.Header().Add("Vary", "Origin")
	if origin := c.GetHeader("Origin"); co.allowed(origin) {
		c.Header("Access-Control-Allow-Origin", origin)
		c.Header("Access-Control-Expose-Headers", corsExposeHeaders)
	}
	c.Next()
}

// preflight answers OPTIONS on a known path: 204 with what the path allows,
// 403 envelope for an origin that is not allowed.
func (co cors) preflight(methods []string) gin.HandlerFunc {
	allow := strings.Join(append(methods, http.MethodOptions), ", ")
	return func(c *gin.Context) {
		c.Header("Allow", allow)
		origin := c.GetHeader("Origin")
		if origin == "" || c.GetHeader("Access-Control-Request-Method") == "" {
			c.Status(http.StatusNoContent) // a plain OPTIONS, not a preflight
			return
		}
		if !co.allowed(origin) {
			httpserver.Fail(c, apierror.New(apierror.Forbidden, "origin %s is not allowed", origin))
			return
		}
		c.Header("Access-Control-Allow-Methods", strings.Join(methods, ", "))
		c.Header("Access-Control-Allow-Headers", corsAllowHeaders)
		c.Header("Access-Control-Max-Age", "600")
		c.Status(http.StatusNoContent)
	}
}
