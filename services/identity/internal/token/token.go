package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Claims are what an access token says about its user.
type Claims struct {
	Subject string // user id
	Email   string
	Name    string
	Roles   []string
}

// Issuer signs access tokens.
type Issuer struct {
	keys     *Keys
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer signs with keys, for issuer and audience, valid for ttl.
func NewIssuer(keys *Keys, issuer, audience string, ttl time.Duration) *Issuer {
	return &Issuer{keys: keys, issuer: issuer, audience: audience, ttl: ttl, now: time.Now}
}

// TTL is the lifetime of an access token.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue returns a signed access token. Roles are in Keycloak's shape
// (realm_access.roles) so that consumers written against Keycloak read them.
func (i *Issuer) Issue(c Claims) (string, error) {
	now := i.now().Truncate(time.Second)
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	tok, err := jwt.NewBuilder().
		Issuer(i.issuer).
		Subject(c.Subject).
		Audience([]string{i.audience}).
		IssuedAt(now).
		Expiration(now.Add(i.ttl)).
		JwtID(uuid.NewString()).
		Claim("email", c.Email).
		Claim("name", c.Name).
		Claim("realm_access", map[string]any{"roles": roles}).
		Build()
	if err != nil {
		return "", fmt.Errorf("build access token: %w", err)
	}
	tok.Options().Enable(jwt.FlattenAudience) // "aud":"tenflix-api", as Keycloak writes one audience
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), i.keys.signing))
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return string(signed), nil
}

// refreshBytes is the entropy of a refresh token (256 bits).
const refreshBytes = 32

// NewRefresh returns a fresh opaque refresh token and the hash to store.
// Only the hash is kept: a leaked table does not hand out sessions.
func NewRefresh() (plain string, hash []byte, err error) {
	b := make([]byte, refreshBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("refresh token: %w", err)
	}
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, HashRefresh(plain), nil
}

// HashRefresh is the stored form of a refresh token (SHA-256: the token is
// random, so no salt or slow hash is needed).
func HashRefresh(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}
