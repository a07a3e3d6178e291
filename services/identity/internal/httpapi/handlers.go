package httpapi

import (
	"encoding/json"
	"errors"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"tenflix/platform/apierror"
	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/app"
	"tenflix/services/identity/internal/password"
)

type handlers struct {
	app       *app.App
	jwks      []byte
	discovery []byte
}

// fail maps use-case errors to the envelope. The token endpoint uses the
// envelope too (not RFC 6749's {"error":"invalid_grant"}): one error shape
// for every Tenflix API.
func fail(c *gin.Context, err error) {
	var ve *account.ValidationError
	var te *account.ThrottledError
	switch {
	case errors.As(err, &ve):
		err = apierror.New(apierror.Invalid, "%s", ve.Msg)
	case errors.As(err, &te):
		secs := int(math.Ceil(te.RetryAfter.Seconds()))
		c.Header("Retry-After", strconv.Itoa(secs))
		err = apierror.New(apierror.RateLimited, "too many failed sign-in attempts for this account from this client; try again in %d seconds", secs)
	case errors.Is(err, password.ErrBusy):
		// Hashing is bounded (memory); a slot frees up within milliseconds.
		c.Header("Retry-After", "1")
		err = apierror.New(apierror.Unavailable, "too busy checking passwords; try again in a second")
	case errors.Is(err, account.ErrEmailTaken):
		err = apierror.New(apierror.Conflict, "an account with this email already exists")
	case errors.Is(err, account.ErrBadCredentials):
		err = apierror.New(apierror.Unauthorized, "invalid email or password")
	case errors.Is(err, account.ErrRefreshInvalid):
		err = apierror.New(apierror.Unauthorized, "refresh token is invalid or revoked; sign in again")
	case errors.Is(err, account.ErrRefreshExpired):
		err = apierror.New(apierror.Unauthorized, "refresh token expired; sign in again")
	case errors.Is(err, account.ErrRefreshReused):
		err = apierror.New(apierror.Unauthorized, "refresh token was already used; the session is revoked, sign in again")
	case errors.Is(err, account.ErrNotFound):
		err = apierror.New(apierror.NotFound, "account not found")
	}
	httpserver.Fail(c, err)
}

// ---- discovery ----

func (h *handlers) openIDConfiguration(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "application/json", h.discovery)
}

func (h *handlers) jwksDocument(c *gin.Context) {
	// Short enough that verifiers see a rotated key soon after a restart.
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", h.jwks)
}

// ---- register ----

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	// Roles is only read to refuse it: nobody chooses their roles.
	Roles json.RawMessage `json:"roles"`
}

type userResponse struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func toUser(u account.User) userResponse {
	return userResponse{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles}
}

func (h *handlers) register(c *gin.Context) {
	var req registerRequest
	if err := httpserver.BindJSON(c, &req); err != nil {
		httpserver.Fail(c, err)
		return
	}
	if req.Roles != nil {
		httpserver.Fail(c, apierror.New(apierror.Invalid, "roles cannot be chosen: new accounts get the user role"))
		return
	}
	u, err := h.app.Register(c, app.Registration{Email: req.Email, Password: req.Password, Name: req.Name})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, toUser(u))
}

// ---- token (OAuth2, RFC 6749 section 5.1 answer) ----

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (h *handlers) token(c *gin.Context) {
	form, err := formParams(c)
	if err != nil {
		httpserver.Fail(c, err)
		return
	}
	// Tokens must not be cached (RFC 6749 5.1), nor their errors.
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	var tokens app.Tokens
	switch grant := form.Get("grant_type"); grant {
	case "password":
		tokens, err = h.app.PasswordGrant(c, clientKey(c), form.Get("username"), form.Get("password"))
	case "refresh_token":
		tokens, err = h.app.RefreshGrant(c, form.Get("refresh_token"))
	case "":
		err = apierror.New(apierror.Invalid, "grant_type is required (password or refresh_token)")
	default:
		err = apierror.New(apierror.Invalid, "unsupported grant_type %q (supported: password, refresh_token)", truncate(grant, 40))
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tokenResponse{
		AccessToken: tokens.AccessToken, TokenType: "Bearer",
		ExpiresIn: int64(tokens.ExpiresIn.Seconds()), RefreshToken: tokens.RefreshToken,
	})
}

// formParams reads an application/x-www-form-urlencoded body. Parameters in
// the query string are ignored (credentials do not belong in URLs), and a
// parameter given twice is refused (RFC 6749 section 3.2).
func formParams(c *gin.Context) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, apierror.New(apierror.UnsupportedMedia, "content type must be application/x-www-form-urlencoded")
	}
	if err := c.Request.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, apierror.New(apierror.TooLarge, "request body larger than %d bytes", maxErr.Limit)
		}
		return nil, apierror.New(apierror.Invalid, "malformed form body")
	}
	for k, v := range c.Request.PostForm {
		if len(v) > 1 {
			return nil, apierror.New(apierror.Invalid, "parameter %q given more than once", truncate(k, 40))
		}
	}
	return c.Request.PostForm, nil
}

// ---- logout ----

type logoutRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// logout takes the refresh token as a form (like the token endpoint) or as
// JSON, and answers 204 whether or not the token was known.
func (h *handlers) logout(c *gin.Context) {
	var refresh string
	switch mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt {
	case "application/json":
		var req logoutRequest
		if err := httpserver.BindJSON(c, &req); err != nil {
			httpserver.Fail(c, err)
			return
		}
		refresh = req.RefreshToken
	case "application/x-www-form-urlencoded":
		form, err := formParams(c)
		if err != nil {
			httpserver.Fail(c, err)
			return
		}
		refresh = form.Get("refresh_token")
	default:
		httpserver.Fail(c, apierror.New(apierror.UnsupportedMedia,
			"content type must be application/x-www-form-urlencoded or application/json"))
		return
	}
	if err := h.app.Logout(c, refresh); err != nil && !errors.Is(err, account.ErrRefreshInvalid) {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// ---- me ----

// me answers the caller's account. Who the caller is comes only from the
// verified access token's subject; email, name and roles are read from the
// database (the token may be older than a change).
func (h *handlers) me(c *gin.Context) {
	caller, _ := authn.CallerFrom(c)
	id := caller.Subject
	if _, err := uuid.Parse(id); err != nil {
		httpserver.Fail(c, apierror.New(apierror.Unauthorized, "the token's subject is not a user id"))
		return
	}
	u, err := h.app.Me(c, id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toUser(u))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
