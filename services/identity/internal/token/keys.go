// Package token issues identity's tokens: RS256 access tokens (JWTs, signed
// and published with lestrrat-go/jwx) and opaque refresh tokens.
package token

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// minKeyBits: RSA keys shorter than this are refused.
const minKeyBits = 2048

// ParsePrivateKeyPEM reads an RSA private key in PEM, PKCS#1 ("RSA PRIVATE
// KEY") or PKCS#8 ("PRIVATE KEY").
func ParsePrivateKeyPEM(text string) (*rsa.PrivateKey, error) {
	block, err := onePEMBlock(text)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (want PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want RSA", key)
	}
	if err := rsaKey.Validate(); err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return rsaKey, checkSize(&rsaKey.PublicKey)
}

// ParsePublicKeyPEM reads an RSA public key, or the public half of a private
// key: a retired signing key may be handed over in either form.
func ParsePublicKeyPEM(text string) (*rsa.PublicKey, error) {
	block, err := onePEMBlock(text)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T, want RSA", key)
		}
		return pub, checkSize(pub)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		return pub, checkSize(pub)
	default:
		priv, err := ParsePrivateKeyPEM(text)
		if err != nil {
			return nil, err
		}
		return &priv.PublicKey, nil
	}
}

func onePEMBlock(text string) (*pem.Block, error) {
	// Secret stores and env files sometimes carry "\n" escaped.
	if !strings.Contains(text, "\n") {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("more than one PEM block")
	}
	return block, nil
}

func checkSize(k *rsa.PublicKey) error {
	if k.N.BitLen() < minKeyBits {
		return fmt.Errorf("RSA key has %d bits, want at least %d", k.N.BitLen(), minKeyBits)
	}
	return nil
}

// Keys are the signing key and the public keys tokens may be verified with.
type Keys struct {
	signing jwk.Key
	kid     string
	jwks    []byte
}

// NewKeys makes current the signing key. current's public key and every
// previous key are published in the JWKS (so tokens signed before a key
// rotation keep verifying until they expire); previous keys never sign.
// Key ids are RFC 7638 thumbprints (SHA-256, base64url).
func NewKeys(current *rsa.PrivateKey, previous ...*rsa.PublicKey) (*Keys, error) {
	signing, err := jwk.Import(current)
	if err != nil {
		return nil, fmt.Errorf("import signing key: %w", err)
	}
	if err := describe(signing); err != nil {
		return nil, err
	}
	kid, _ := signing.KeyID()

	set := jwk.NewSet()
	seen := map[string]bool{}
	for _, raw := range append([]*rsa.PublicKey{&current.PublicKey}, previous...) {
		pub, err := jwk.Import(raw)
		if err != nil {
			return nil, fmt.Errorf("import public key: %w", err)
		}
		if err := describe(pub); err != nil {
			return nil, err
		}
		id, _ := pub.KeyID()
		if seen[id] {
			continue // the previous key is the current one: publish it once
		}
		seen[id] = true
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode jwks: %w", err)
	}
	return &Keys{signing: signing, kid: kid, jwks: jwks}, nil
}

// describe sets kid (thumbprint), alg and use on a key.
func describe(k jwk.Key) error {
	if err := jwk.AssignKeyID(k); err != nil {
		return fmt.Errorf("key id: %w", err)
	}
	if err := k.Set(jwk.AlgorithmKey, jwa.RS256()); err != nil {
		return err
	}
	return k.Set(jwk.KeyUsageKey, jwk.ForSignature)
}

// KeyID is the kid of the signing key.
func (k *Keys) KeyID() string { return k.kid }

// JWKS is the JSON Web Key Set of the public keys.
func (k *Keys) JWKS() []byte { return k.jwks }
