// Package authn is how every Tenflix service knows who calls it: it verifies
// the bearer tokens of the configured OpenID Connect issuer (identity locally,
// Keycloak by configuration) and, as gin middleware, admits a route's callers
// by token and role. Nobody's identity is taken from a header other than a
// verified token, so a request that reaches a service without passing the
// gateway gains nothing.
//
// The discovery document and the key set are fetched lazily, on first use,
// because locally the issuer is the gateway itself and is not reachable while
// the gateway starts. The key set is cached, refreshed periodically and,
// rate-limited, when a token names a key id the cache does not know (key
// rotation). The issuer itself verifies with its own key set (Config.KeySet):
// no network at all.
package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

var (
	// ErrInvalid: the token is malformed, badly signed, or not meant for us.
	ErrInvalid = errors.New("invalid token")
	// ErrExpired: the token was valid once.
	ErrExpired = errors.New("token expired")
	// ErrUnavailable: the issuer's keys cannot be fetched; not the client's fault.
	ErrUnavailable = errors.New("token keys unavailable")
)

// maxTokenBytes bounds what we parse; real access tokens are a few KiB.
const maxTokenBytes = 16 << 10

// retryGapAfterFailure is how soon a failed discovery or key fetch may be retried.
const retryGapAfterFailure = time.Second

// Config says which tokens are accepted.
type Config struct {
	Issuer   string // exact "iss"; also where discovery starts
	Audience string // must be in "aud"
	// JWKSURL skips discovery when set.
	JWKSURL string
	// KeySet, a JWKS document, is the only key set when set: nothing is
	// fetched (the issuer verifying its own tokens).
	KeySet []byte
	// RefreshInterval is the periodic key set refresh (default 15 min).
	RefreshInterval time.Duration
	// MinRefreshGap bounds refreshes caused by unknown key ids (default
	// 10 s; negative: no bound, for tests).
	MinRefreshGap time.Duration
	// Skew is the clock skew tolerated on exp, nbf and iat (default 30 s).
	Skew time.Duration
	// HTTPClient fetches discovery and keys (default: 5 s timeout).
	HTTPClient *http.Client
	// Log receives failures of the periodic background refresh.
	Log *slog.Logger
}

// Claims is the verified identity of a caller.
type Claims struct {
	Subject string // the user id
	Email   string
	Name    string
	Roles   []string // Keycloak shape: realm_access.roles
}

// HasRole reports whether the caller holds role.
func (c Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Verifier checks tokens against the issuer's published keys.
type Verifier struct {
	cfg   Config
	cache *jwk.Cache
	// static is Config.KeySet, parsed; nil when keys are fetched.
	static jwk.Set

	// res is the cached key set resource, set once its URL is known.
	res atomic.Pointer[httprc.ResourceBase[jwk.Set]]

	// mu serialises discovery and on-demand refreshes, so that a burst of
	// tokens with a new key id causes one fetch, not one per request.
	mu          sync.Mutex
	lastAttempt time.Time
	lastFailed  bool
	lastErr     error

	// fetchErrs receives failures of the cache's background fetches.
	fetchErrs chan error
}

// New prepares a verifier; it does no network I/O. Background refreshes stop
// when ctx is done.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("authn: issuer and audience are required")
	}
	if cfg.KeySet != nil {
		if cfg.JWKSURL != "" {
			return nil, errors.New("authn: a key set and a key set URL are exclusive")
		}
		set, err := jwk.Parse(cfg.KeySet)
		if err != nil {
			return nil, fmt.Errorf("authn: key set: %w", err)
		}
		if set.Len() == 0 {
			return nil, errors.New("authn: key set has no keys")
		}
		return &Verifier{cfg: withDefaults(cfg), static: set}, nil
	}
	cfg = withDefaults(cfg)
	v := &Verifier{cfg: cfg, fetchErrs: make(chan error, 1)}
	sink := errsink.NewFunc(func(ctx context.Context, err error) {
		cfg.Log.WarnContext(ctx, "key set refresh failed", "err", err)
		select {
		case v.fetchErrs <- err:
		default:
		}
	})
	cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithErrorSink(sink)))
	if err != nil {
		return nil, fmt.Errorf("authn: start key cache: %w", err)
	}
	v.cache = cache
	return v, nil
}

func withDefaults(cfg Config) Config {
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 15 * time.Minute
	}
	if cfg.MinRefreshGap < 0 {
		cfg.MinRefreshGap = 0
	} else if cfg.MinRefreshGap == 0 {
		cfg.MinRefreshGap = 10 * time.Second
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Verify parses and validates a compact JWS token: signature by a published
// RS256/ES256 key, issuer, audience, exp (required), nbf and iat.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	if len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return Claims{}, fmt.Errorf("%w: not a compact JWT", ErrInvalid)
	}
	kp := &keyProvider{v: v}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeyProvider(kp),
		jwt.WithContext(ctx),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithAcceptableSkew(v.cfg.Skew),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	switch {
	case kp.unavailable != nil:
		return Claims{}, fmt.Errorf("%w: %w", ErrUnavailable, kp.unavailable)
	case errors.Is(err, jwt.TokenExpiredError()):
		return Claims{}, ErrExpired
	case err != nil:
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return claimsOf(tok)
}

func claimsOf(tok jwt.Token) (Claims, error) {
	var c Claims
	c.Subject, _ = tok.Subject()
	if c.Subject == "" || !plainText(c.Subject) {
		return Claims{}, fmt.Errorf("%w: unusable subject", ErrInvalid)
	}
	// Optional claims of an unexpected shape are left out, not fatal.
	var email, name string
	if tok.Get("email", &email) == nil && plainText(email) {
		c.Email = email
	}
	if tok.Get("name", &name) == nil && plainText(name) {
		c.Name = name
	}
	var realm map[string]any
	if tok.Get("realm_access", &realm) == nil {
		roles, _ := realm["roles"].([]any)
		for _, r := range roles {
			if s, ok := r.(string); ok && s != "" && plainText(s) {
				c.Roles = append(c.Roles, s)
			}
		}
	}
	return c, nil
}

// plainText bounds what a claim may hold, since claims end up in logs and
// answers: valid UTF-8, no control characters, at most 512 bytes.
func plainText(s string) bool {
	if len(s) > 512 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// keyProvider hands jws the one key the token's header names, and only for
// an accepted algorithm matching the key's type: never "none", never HMAC
// (which would let anyone holding the public key sign).
type keyProvider struct {
	v           *Verifier
	unavailable error
}

func (p *keyProvider) FetchKeys(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok || (alg != jwa.RS256() && alg != jwa.ES256()) {
		return fmt.Errorf("algorithm %q not accepted", alg.String())
	}
	kid, _ := h.KeyID()
	if kid == "" {
		return errors.New("token has no key id")
	}
	set, err := p.v.keySet(ctx, kid)
	if err != nil {
		p.unavailable = err
		return err
	}
	key, ok := set.LookupKeyID(kid)
	if !ok {
		return fmt.Errorf("unknown key id %q", kid)
	}
	if err := keyFits(key, alg); err != nil {
		return err
	}
	sink.Key(alg, key)
	return nil
}

func keyFits(key jwk.Key, alg jwa.SignatureAlgorithm) error {
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return fmt.Errorf("key is for %s, token uses %s", ka, alg)
	}
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return fmt.Errorf("key usage is %q", use)
	}
	switch alg {
	case jwa.RS256():
		if key.KeyType() != jwa.RSA() {
			return fmt.Errorf("RS256 needs an RSA key, got %s", key.KeyType())
		}
	case jwa.ES256():
		ec, ok := key.(jwk.ECDSAPublicKey)
		if !ok {
			return fmt.Errorf("ES256 needs an EC public key, got %s", key.KeyType())
		}
		if crv, ok := ec.Crv(); !ok || crv != jwa.P256() {
			return errors.New("ES256 needs a P-256 key")
		}
	}
	return nil
}

// keySet returns a key set that holds kid when the issuer publishes it. It
// fetches (discovery, then keys) when nothing is cached yet or kid is
// unknown, at most once per MinRefreshGap (once per second after a failure).
func (v *Verifier) keySet(ctx context.Context, kid string) (jwk.Set, error) {
	if v.static != nil {
		return v.static, nil
	}
	if set := v.cached(); set != nil {
		if _, ok := set.LookupKeyID(kid); ok {
			return set, nil
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	set := v.cached() // another request may have refreshed while we waited
	if set != nil {
		if _, ok := set.LookupKeyID(kid); ok {
			return set, nil
		}
	}
	gap := v.cfg.MinRefreshGap
	if v.lastFailed {
		gap = min(gap, retryGapAfterFailure)
	}
	if !v.lastAttempt.IsZero() && time.Since(v.lastAttempt) < gap {
		if set != nil {
			return set, nil // kid stays unknown: the token is rejected
		}
		if v.lastErr != nil {
			return nil, v.lastErr
		}
		return nil, errors.New("key set not fetched yet")
	}
	v.lastAttempt = time.Now()
	fresh, err := v.refresh(ctx)
	v.lastFailed, v.lastErr = err != nil, err
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

func (v *Verifier) cached() jwk.Set {
	if r := v.res.Load(); r != nil {
		return r.Resource() // nil until the first successful fetch
	}
	return nil
}

// refresh fetches the keys now; on first use it discovers the key set URL
// and registers it in the cache, whose first fetch it waits for. Called with
// mu held.
func (v *Verifier) refresh(ctx context.Context) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if r := v.res.Load(); r != nil {
		set, err := v.cache.Refresh(ctx, r.URL())
		if err != nil {
			return nil, fmt.Errorf("fetch key set: %w", err)
		}
		return set, nil
	}
	u := v.cfg.JWKSURL
	if u == "" {
		var err error
		if u, err = v.discover(ctx); err != nil {
			return nil, err
		}
	}
	for len(v.fetchErrs) > 0 { // stale reports of an earlier attempt
		<-v.fetchErrs
	}
	err := v.cache.Register(ctx, u,
		jwk.WithWaitReady(false),
		jwk.WithHTTPClient(v.cfg.HTTPClient),
		jwk.WithConstantInterval(v.cfg.RefreshInterval),
		jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, fmt.Errorf("register key set %s: %w", u, err)
	}
	r, err := v.cache.LookupResource(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("look up key set %s: %w", u, err)
	}
	v.res.Store(r)
	// Registering starts the first fetch in the background: wait for it to
	// succeed or to fail (reported through the cache's error sink).
	ready := make(chan error, 1)
	go func() { ready <- r.Ready(ctx) }()
	select {
	case err = <-ready:
	case err = <-v.fetchErrs:
	}
	if err != nil {
		return nil, fmt.Errorf("fetch key set %s: %w", u, err)
	}
	return r.Resource(), nil
}

// discover reads jwks_uri from the issuer's discovery document, which must
// name the configured issuer exactly (OpenID Connect Discovery 1.0, 4.3).
func (v *Verifier) discover(ctx context.Context) (string, error) {
	u := strings.TrimSuffix(v.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery %s: status %d", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery %s: decode: %w", u, err)
	}
	if doc.Issuer != v.cfg.Issuer {
		return "", fmt.Errorf("discovery %s: issuer %q, want %q", u, doc.Issuer, v.cfg.Issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("discovery %s: no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}
