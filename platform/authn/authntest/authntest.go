// Package authntest is a fake OpenID Connect issuer for tests: discovery, a
// JWKS that can rotate or go down, and token minting done with the standard
// library only (so that tests do not trust the library they check), including
// the forgeries a verifier must refuse.
package authntest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tenflix/platform/authn"
)

// Audience is the audience the fake issuer's tokens carry by default.
const Audience = "tenflix-api"

// Key is a signing key of the issuer.
type Key struct {
	ID  string
	Alg string // RS256 or ES256
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

// Issuer serves /.well-known/openid-configuration and /jwks.
type Issuer struct {
	URL string

	mu        sync.Mutex
	published []*Key
	down      bool
	seq       int

	discoveries atomic.Int32
	jwksFetches atomic.Int32
}

// NewIssuer starts an issuer publishing one RS256 and one ES256 key.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{}
	iss.published = []*Key{iss.newKey(t, "RS256"), iss.newKey(t, "ES256")}
	srv := httptest.NewServer(http.HandlerFunc(iss.serve))
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss
}

func (iss *Issuer) newKey(t testing.TB, alg string) *Key {
	t.Helper()
	iss.seq++
	k := &Key{ID: fmt.Sprintf("key-%d", iss.seq), Alg: alg}
	var err error
	switch alg {
	case "RS256":
		k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("authntest: unsupported alg %s", alg)
	}
	if err != nil {
		t.Fatalf("authntest: generate key: %v", err)
	}
	return k
}

func (iss *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	iss.mu.Lock()
	down, keys := iss.down, append([]*Key(nil), iss.published...)
	iss.mu.Unlock()
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		iss.discoveries.Add(1)
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, map[string]any{"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks"})
	case "/jwks":
		iss.jwksFetches.Add(1)
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, keySetDoc(keys))
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func keySetDoc(keys []*Key) map[string]any {
	set := []map[string]any{}
	for _, k := range keys {
		set = append(set, k.jwk())
	}
	return map[string]any{"keys": set}
}

func (k *Key) jwk() map[string]any {
	if k.rsa != nil {
		return map[string]any{"kty": "RSA", "kid": k.ID, "alg": "RS256", "use": "sig",
			"n": b64(k.rsa.N.Bytes()), "e": b64(big.NewInt(int64(k.rsa.E)).Bytes())}
	}
	return map[string]any{"kty": "EC", "kid": k.ID, "alg": "ES256", "use": "sig", "crv": "P-256",
		"x": b64(k.ec.X.FillBytes(make([]byte, 32))), "y": b64(k.ec.Y.FillBytes(make([]byte, 32)))}
}

// RSAKey is the currently published RS256 key.
func (iss *Issuer) RSAKey() *Key { return iss.find("RS256") }

// ECKey is the currently published ES256 key.
func (iss *Issuer) ECKey() *Key { return iss.find("ES256") }

func (iss *Issuer) find(alg string) *Key {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	for _, k := range iss.published {
		if k.Alg == alg {
			return k
		}
	}
	return nil
}

// Rotate replaces the RS256 key with a new one (new kid) and returns it.
func (iss *Issuer) Rotate(t testing.TB) *Key {
	t.Helper()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	k := iss.newKey(t, "RS256")
	for i, old := range iss.published {
		if old.Alg == "RS256" {
			iss.published[i] = k
		}
	}
	return k
}

// NewUnpublishedKey is a key the issuer does not publish (a forger's).
func (iss *Issuer) NewUnpublishedKey(t testing.TB) *Key {
	t.Helper()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.newKey(t, "RS256")
}

// SetDown makes discovery and JWKS answer 503 (or recover).
func (iss *Issuer) SetDown(down bool) {
	iss.mu.Lock()
	iss.down = down
	iss.mu.Unlock()
}

// Discoveries counts requests for the discovery document.
func (iss *Issuer) Discoveries() int { return int(iss.discoveries.Load()) }

// JWKSFetches counts requests for the key set.
func (iss *Issuer) JWKSFetches() int { return int(iss.jwksFetches.Load()) }

// Claims are valid claims for sub with the given realm roles.
func (iss *Issuer) Claims(sub string, roles ...string) map[string]any {
	now := time.Now()
	if roles == nil {
		roles = []string{}
	}
	return map[string]any{
		"iss": iss.URL, "aud": Audience, "sub": sub, "email": sub + "@example.com", "name": "User " + sub,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"realm_access": map[string]any{"roles": roles},
	}
}

// Token is a valid RS256 token for sub with the given realm roles.
func (iss *Issuer) Token(t testing.TB, sub string, roles ...string) string {
	t.Helper()
	return iss.RSAKey().Token(t, iss.Claims(sub, roles...))
}

// Verifier is a verifier of this issuer's tokens (discovery and all), as a
// service configured with OIDC_ISSUER=iss.URL builds it.
func (iss *Issuer) Verifier(t testing.TB) *authn.Verifier {
	t.Helper()
	v, err := authn.New(t.Context(), authn.Config{Issuer: iss.URL, Audience: Audience})
	if err != nil {
		t.Fatalf("authntest: %v", err)
	}
	return v
}

// KeySet is the JWKS document the issuer publishes now.
func (iss *Issuer) KeySet(t testing.TB) []byte {
	t.Helper()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	b, err := json.Marshal(keySetDoc(iss.published))
	if err != nil {
		t.Fatalf("authntest: encode key set: %v", err)
	}
	return b
}

// Token signs claims with k, naming k's kid and alg in the header.
func (k *Key) Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	return k.TokenWithHeader(t, map[string]any{"alg": k.Alg, "kid": k.ID, "typ": "JWT"}, claims)
}

// TokenWithHeader signs claims with k under an arbitrary header (the
// signature algorithm is k's, whatever the header says).
func (k *Key) TokenWithHeader(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	input := encode(t, header) + "." + encode(t, claims)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if k.rsa != nil {
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.rsa, crypto.SHA256, sum[:])
	} else {
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.ec, sum[:])
		if err == nil {
			sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		}
	}
	if err != nil {
		t.Fatalf("authntest: sign: %v", err)
	}
	return input + "." + b64(sig)
}

// PublicPEM is k's public key in PEM, the usual secret of an HS256 forgery.
func (k *Key) PublicPEM(t testing.TB) []byte {
	t.Helper()
	var pub any
	if k.rsa != nil {
		pub = &k.rsa.PublicKey
	} else {
		pub = &k.ec.PublicKey
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("authntest: marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// HS256Token signs claims with HMAC-SHA256 under secret, naming kid.
func HS256Token(t testing.TB, kid string, secret []byte, claims map[string]any) string {
	t.Helper()
	input := encode(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}) + "." + encode(t, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64(mac.Sum(nil))
}

// NoneToken is an unsigned token (alg "none") naming kid.
func NoneToken(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	return encode(t, map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + encode(t, claims) + "."
}

// Tamper replaces the claims of a signed token, keeping its signature.
func Tamper(t testing.TB, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("authntest: not a compact token: %q", token)
	}
	return parts[0] + "." + encode(t, claims) + "." + parts[2]
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("authntest: encode: %v", err)
	}
	return b64(b)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
