// Package httpapi is identity's REST API: registration, the OAuth2 token
// endpoint (password and refresh_token grants), logout, the caller's
// account, and the OpenID discovery document with its JWKS.
package httpapi

import (
	"encoding/json"
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/platform/httpserver"
	"tenflix/services/identity/internal/app"
)

// Prefix of the auth API.
const Prefix = "/api/v1/auth"

// Config is what the routes need besides the use cases.
type Config struct {
	Log      *slog.Logger
	AppToken string // APP_API_TOKEN: required from the sidecar on every call
	Issuer   string // OIDC issuer URL, without trailing slash
	JWKS     []byte // public keys, JSON
	// Verifier checks the access tokens of the routes that act for a user
	// (identity's own tokens, verified with its own key set).
	Verifier authn.TokenVerifier
}

// Routes builds the engine with every route of the service.
func Routes(cfg Config, a *app.App) *gin.Engine {
	r := httpserver.NewEngine(httpserver.Options{Log: cfg.Log, AppAPIToken: cfg.AppToken})
	h := &handlers{app: a, jwks: cfg.JWKS, discovery: discovery(cfg.Issuer)}

	r.GET("/.well-known/openid-configuration", h.openIDConfiguration)
	r.GET("/.well-known/jwks.json", h.jwksDocument)

	api := r.Group(Prefix)
	api.POST("/register", h.register)
	api.POST("/token", h.token)
	api.POST("/logout", h.logout)
	api.GET("/me", authn.Authenticate(cfg.Verifier), h.me)
	return r
}

// discovery is the OpenID Provider metadata: only what this provider does.
// There is no authorization endpoint (so no response types) and no ID
// token: access tokens are the product.
func discovery(issuer string) []byte {
	b, _ := json.Marshal(map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/.well-known/jwks.json",
		"token_endpoint":                        issuer + Prefix + "/token",
		"grant_types_supported":                 []string{"password", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "jti", "email", "name", "realm_access"},
	})
	return b
}
