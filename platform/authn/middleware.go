package authn

import (
	"context"
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
)

// TokenVerifier checks a bearer token and returns who holds it; *Verifier
// is the one every service uses.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (Claims, error)
}

type callerKey struct{}

// Authenticate admits requests that carry a valid bearer token and puts the
// caller in the request's context (CallerFrom). It reads the Authorization
// header only: identity headers such as X-User-Id mean nothing to it.
// Missing or bad tokens get 401; tokens that cannot be checked because the
// issuer's keys are unreachable get 503, since that is not the client's fault.
func Authenticate(v TokenVerifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := BearerToken(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="tenflix"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "a bearer token is required"))
			return
		}
		claims, err := v.Verify(c.Request.Context(), raw)
		switch {
		case errors.Is(err, ErrUnavailable):
			httpserver.LoggerFrom(c).WarnContext(c, "cannot verify token", "err", err)
			c.Header("Retry-After", "5")
			httpserver.Fail(c, apierror.New(apierror.Unavailable, "tokens cannot be verified right now; retry later"))
			return
		case errors.Is(err, ErrExpired):
			c.Header("WWW-Authenticate", `Bearer realm="tenflix", error="invalid_token", error_description="token expired"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "token expired"))
			return
		case err != nil:
			httpserver.LoggerFrom(c).InfoContext(c, "token rejected", "err", err)
			c.Header("WWW-Authenticate", `Bearer realm="tenflix", error="invalid_token"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "invalid token"))
			return
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), callerKey{}, claims))
		c.Next()
	}
}

// RequireRole admits callers that hold role; it follows Authenticate. A
// request without an authenticated caller gets 401, so that forgetting
// Authenticate fails closed.
func RequireRole(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		caller, ok := CallerFrom(c)
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="tenflix"`)
			httpserver.Fail(c, apierror.New(apierror.Unauthorized, "a bearer token is required"))
			return
		}
		if !caller.HasRole(role) {
			c.Header("WWW-Authenticate", `Bearer realm="tenflix", error="insufficient_scope"`)
			httpserver.Fail(c, apierror.New(apierror.Forbidden, "the %s role is required", role))
			return
		}
		c.Next()
	}
}

// CallerFrom returns the caller Authenticate admitted; ctx is the request's
// context or the gin context itself.
func CallerFrom(ctx context.Context) (Claims, bool) {
	if c, ok := ctx.(*gin.Context); ok {
		ctx = c.Request.Context()
	}
	claims, ok := ctx.Value(callerKey{}).(Claims)
	return claims, ok
}

// BearerToken extracts the token of an "Authorization: Bearer <token>" header.
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}
