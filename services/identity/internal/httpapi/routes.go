// Package httpapi is identity's REST API: registration, the OAuth2 token
// endpoint (password and refresh_token grants), logout, the caller's
// account, and the OpenID discovery document with its JWKS.
package httpapi

import (
	"encoding/json"
	"log/slog"

	"github.com/gin-gonic/gin"

	"tenflix/platform/authn"
	"tenflix/services/identity/internal/app"
)

// Prefix of the auth API.
const Prefix = "/api/v1/auth"

// Deps is what the routes need.
type Deps struct {
	Log    *slog.Logger
	App    *app.App
	Issuer string // OIDC issuer URL, without trailing slash
	JWKS   []byte // public keys, JSON
	// Verifier checks the access tokens of the routes that act for a user
	// (identity's own tokens, verified with its own key set).
	Verifier authn.TokenVerifier
}

// Routes mounts every route of the service on r (built by
// httpserver.NewEngine, which checks the sidecar's app token).
func Routes(r gin.IRouter, d Deps) {
	h := &handlers{app: d.App, jwks: d.JWKS, discovery: discovery(d.Issuer)}

	r.GET("/.well-known/openid-configuration", h.openIDConfiguration)
	r.GET("/.well-known/jwks.json", h.jwksDocument)

	api := r.Group(Prefix)
	api.POST("/register", h.register)
	api.POST("/token", h.token)
	api.POST("/logout", h.logout)
	api.GET("/me", authn.Authenticate(d.Verifier), h.me)
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
