package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

var (
	keyOnce sync.Once
	keyA    *rsa.PrivateKey
	keyB    *rsa.PrivateKey
)

// testKeys are two 2048-bit keys, generated once per test binary.
func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		keyA, _ = rsa.GenerateKey(rand.Reader, 2048)
		keyB, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	return keyA, keyB
}

func pemOf(t testing.TB, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParsePrivateKeyPEM(t *testing.T) {
	k, _ := testKeys(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pkcs1 := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))

	for name, text := range map[string]string{
		"pkcs1":           pkcs1,
		"pkcs8":           pemOf(t, "PRIVATE KEY", pkcs8),
		"escaped newline": strings.ReplaceAll(pkcs1, "\n", `\n`),
	} {
		got, err := ParsePrivateKeyPEM(text)
		if err != nil || !got.Equal(k) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, text := range map[string]string{
		"empty":      "",
		"not pem":    "hello",
		"ec key":     pemOf(t, "PRIVATE KEY", ecDER),
		"small key":  pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)),
		"public key": pemOf(t, "PUBLIC KEY", pub),
		"two blocks": pkcs1 + pkcs1,
		"garbage":    pemOf(t, "PRIVATE KEY", []byte("nope")),
	} {
		if _, err := ParsePrivateKeyPEM(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParsePublicKeyPEMAcceptsEveryForm(t *testing.T) {
	k, _ := testKeys(t)
	pkix, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	for name, text := range map[string]string{
		"pkix":          pemOf(t, "PUBLIC KEY", pkix),
		"pkcs1":         pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey)),
		"pkcs8 private": pemOf(t, "PRIVATE KEY", pkcs8),
		"pkcs1 private": pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)),
	} {
		got, err := ParsePublicKeyPEM(text)
		if err != nil || !got.Equal(&k.PublicKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// thumbprint computes RFC 7638's JWK thumbprint of an RSA key by hand:
// SHA-256 of {"e":...,"kty":"RSA","n":...}, base64url.
func thumbprint(k *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding
	e := b64.EncodeToString(bigEndian(k.E))
	n := b64.EncodeToString(k.N.Bytes())
	sum := sha256.Sum256(fmt.Appendf(nil, `{"e":"%s","kty":"RSA","n":"%s"}`, e, n))
	return b64.EncodeToString(sum[:])
}

func bigEndian(e int) []byte {
	var b []byte
	for ; e > 0; e >>= 8 {
		b = append([]byte{byte(e)}, b...)
	}
	return b
}

func TestKeysPublishCurrentAndPreviousPublicKeys(t *testing.T) {
	cur, prev := testKeys(t)
	keys, err := NewKeys(cur, &prev.PublicKey, &cur.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if keys.KeyID() != thumbprint(&cur.PublicKey) {
		t.Fatalf("kid %s is not the RFC 7638 thumbprint %s", keys.KeyID(), thumbprint(&cur.PublicKey))
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(keys.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 2 {
		t.Fatalf("want current and previous key once each, got %s", keys.JWKS())
	}
	want := map[string]bool{thumbprint(&cur.PublicKey): true, thumbprint(&prev.PublicKey): true}
	for _, k := range doc.Keys {
		if !want[k["kid"].(string)] || k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" {
			t.Errorf("unexpected key %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS leaks private member %q", private)
			}
		}
	}
}

func TestIssueAccessToken(t *testing.T) {
	cur, prev := testKeys(t)
	keys, err := NewKeys(cur, &prev.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	iss := NewIssuer(keys, "http://127.0.0.1:8080", "tenflix-api", 15*time.Minute)
	signed, err := iss.Issue(Claims{Subject: "u-1", Email: "ann@example.com", Name: "Ann", Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(keys.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(signed), jwt.WithKeySet(set),
		jwt.WithIssuer("http://127.0.0.1:8080"), jwt.WithAudience("tenflix-api"))
	if err != nil {
		t.Fatalf("token does not verify with the JWKS: %v", err)
	}
	sub, _ := tok.Subject()
	exp, _ := tok.Expiration()
	iat, _ := tok.IssuedAt()
	jti, _ := tok.JwtID()
	if sub != "u-1" || exp.Sub(iat) != 15*time.Minute || jti == "" {
		t.Fatalf("claims: sub=%s exp-iat=%s jti=%q", sub, exp.Sub(iat), jti)
	}
	msg, _ := jws.Parse([]byte(signed))
	h := msg.Signatures()[0].ProtectedHeaders()
	if kid, _ := h.KeyID(); kid != keys.KeyID() {
		t.Fatalf("header kid %q, want %q", kid, keys.KeyID())
	}
	// The payload as other languages see it: flat aud, Keycloak's roles.
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(signed, ".")[1])
	var raw map[string]any
	_ = json.Unmarshal(payload, &raw)
	ra, _ := raw["realm_access"].(map[string]any)
	if raw["aud"] != "tenflix-api" || raw["email"] != "ann@example.com" || raw["name"] != "Ann" ||
		fmt.Sprint(ra["roles"]) != "[user]" {
		t.Fatalf("payload %s", payload)
	}
}

func TestTokenSignedWithThePreviousKeyStillVerifies(t *testing.T) {
	cur, prev := testKeys(t)
	old, _ := NewKeys(prev)
	signed, err := NewIssuer(old, "http://i", "a", time.Minute).Issue(Claims{Subject: "s"})
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := NewKeys(cur, &prev.PublicKey)
	set, _ := jwk.Parse(rotated.JWKS())
	if _, err := jwt.Parse([]byte(signed), jwt.WithKeySet(set)); err != nil {
		t.Fatalf("token of the previous key rejected after rotation: %v", err)
	}
	withoutPrev, _ := NewKeys(cur)
	set, _ = jwk.Parse(withoutPrev.JWKS())
	if _, err := jwt.Parse([]byte(signed), jwt.WithKeySet(set)); err == nil {
		t.Fatal("token verified without its key in the JWKS")
	}
}

func TestRefreshTokens(t *testing.T) {
	a, ha, err := NewRefresh()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := NewRefresh()
	if a == b || len(a) != 43 || len(ha) != 32 || string(HashRefresh(a)) != string(ha) {
		t.Fatalf("refresh tokens: %q %q %x", a, b, ha)
	}
}
