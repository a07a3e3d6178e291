package authn_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"tenflix/platform/authn"
	"tenflix/platform/authn/authntest"
)

func newVerifier(t testing.TB, iss *authntest.Issuer, minGap time.Duration) *authn.Verifier {
	t.Helper()
	v, err := authn.New(t.Context(), authn.Config{Issuer: iss.URL, Audience: authntest.Audience, MinRefreshGap: minGap})
	if err != nil {
		t.Fatalf("authn.New: %v", err)
	}
	return v
}

func TestVerifyAcceptsRS256AndES256(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := newVerifier(t, iss, time.Hour)
	for _, k := range []*authntest.Key{iss.RSAKey(), iss.ECKey()} {
		t.Run(k.Alg, func(t *testing.T) {
			got, err := v.Verify(t.Context(), k.Token(t, iss.Claims("u-1", "user", "admin")))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != "u-1" || got.Email != "u-1@example.com" || got.Name != "User u-1" ||
				!slices.Equal(got.Roles, []string{"user", "admin"}) {
				t.Fatalf("claims = %+v", got)
			}
			if !got.HasRole("admin") || got.HasRole("root") {
				t.Fatalf("HasRole wrong for %v", got.Roles)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := newVerifier(t, iss, time.Hour)
	key := iss.RSAKey()
	with := func(k string, val any) map[string]any {
		c := iss.Claims("u-1", "admin")
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	valid := key.Token(t, iss.Claims("u-1", "user"))
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"garbage", "not-a-token", authn.ErrInvalid},
		{"expired", key.Token(t, with("exp", time.Now().Add(-time.Minute).Unix())), authn.ErrExpired},
		{"expired beyond skew only", key.Token(t, with("exp", time.Now().Add(-40*time.Second).Unix())), authn.ErrExpired},
		{"not yet valid", key.Token(t, with("nbf", time.Now().Add(5*time.Minute).Unix())), authn.ErrInvalid},
		{"no exp", key.Token(t, with("exp", nil)), authn.ErrInvalid},
		{"no sub", key.Token(t, with("sub", nil)), authn.ErrInvalid},
		{"wrong issuer", key.Token(t, with("iss", "http://evil.example")), authn.ErrInvalid},
		{"wrong audience", key.Token(t, with("aud", "other-api")), authn.ErrInvalid},
		{"alg none", authntest.NoneToken(t, key.ID, iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"HS256 with the public key as secret", authntest.HS256Token(t, key.ID, key.PublicPEM(t), iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"tampered claims", authntest.Tamper(t, valid, iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"signed by an unpublished key", iss.NewUnpublishedKey(t).Token(t, iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"unpublished key under a published kid", iss.NewUnpublishedKey(t).TokenWithHeader(t,
			map[string]any{"alg": "RS256", "kid": key.ID}, iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"RS256 header on the EC key id", key.TokenWithHeader(t,
			map[string]any{"alg": "RS256", "kid": iss.ECKey().ID}, iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"RS512 not accepted", key.TokenWithHeader(t,
			map[string]any{"alg": "RS512", "kid": key.ID}, iss.Claims("u-1", "admin")), authn.ErrInvalid},
		{"no kid", key.TokenWithHeader(t, map[string]any{"alg": "RS256"}, iss.Claims("u-1", "admin")), authn.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

func TestVerifyToleratesSkew(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := newVerifier(t, iss, time.Hour)
	c := iss.Claims("u-1")
	c["exp"] = time.Now().Add(-10 * time.Second).Unix()
	c["nbf"] = time.Now().Add(10 * time.Second).Unix()
	if _, err := v.Verify(t.Context(), iss.RSAKey().Token(t, c)); err != nil {
		t.Fatalf("Verify within 30 s skew: %v", err)
	}
}

func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	iss := authntest.NewIssuer(t)
	iss.SetDown(true)
	v := newVerifier(t, iss, time.Hour)
	if n := iss.Discoveries(); n != 0 {
		t.Fatalf("New fetched discovery %d times; it must wait for the first token", n)
	}
	tok := iss.RSAKey().Token(t, iss.Claims("u-1"))
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("Verify with the issuer down = %v, want ErrUnavailable", err)
	}
	// A second token right away does not hammer the issuer.
	_, _ = v.Verify(t.Context(), tok)
	if n := iss.Discoveries(); n != 1 {
		t.Fatalf("discoveries = %d, want 1 within the retry gap", n)
	}
	iss.SetDown(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(t.Context(), tok)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Verify after the issuer recovered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDiscoveryMustNameTheIssuer(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v, err := authn.New(t.Context(), authn.Config{Issuer: iss.URL + "/realms/other", Audience: authntest.Audience})
	if err != nil {
		t.Fatal(err)
	}
	c := iss.Claims("u-1")
	c["iss"] = iss.URL + "/realms/other"
	if _, err := v.Verify(t.Context(), iss.RSAKey().Token(t, c)); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("Verify = %v, want ErrUnavailable (discovery names another issuer)", err)
	}
}

func TestExplicitJWKSURLSkipsDiscovery(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v, err := authn.New(t.Context(), authn.Config{Issuer: iss.URL, Audience: authntest.Audience, JWKSURL: iss.URL + "/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), iss.RSAKey().Token(t, iss.Claims("u-1"))); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := iss.Discoveries(); n != 0 {
		t.Fatalf("discoveries = %d, want 0", n)
	}
}

func TestKeyRotationRefreshesTheKeySet(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := newVerifier(t, iss, -1) // no gap: every unknown kid may refresh
	old := iss.RSAKey()
	if _, err := v.Verify(t.Context(), old.Token(t, iss.Claims("u-1"))); err != nil {
		t.Fatalf("Verify with the first key: %v", err)
	}
	// Known kid: served from the cache.
	before := iss.JWKSFetches()
	for range 5 {
		if _, err := v.Verify(t.Context(), old.Token(t, iss.Claims("u-1"))); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.JWKSFetches(); n != before {
		t.Fatalf("JWKS fetched %d more times for a known kid", n-before)
	}
	fresh := iss.Rotate(t)
	if _, err := v.Verify(t.Context(), fresh.Token(t, iss.Claims("u-1"))); err != nil {
		t.Fatalf("Verify with the rotated key: %v", err)
	}
	if n := iss.JWKSFetches(); n <= before {
		t.Fatalf("JWKS not refetched on an unknown kid")
	}
	if _, err := v.Verify(t.Context(), old.Token(t, iss.Claims("u-1"))); !errors.Is(err, authn.ErrInvalid) {
		t.Fatalf("Verify with the retired key = %v, want ErrInvalid", err)
	}
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := newVerifier(t, iss, time.Hour)
	if _, err := v.Verify(t.Context(), iss.RSAKey().Token(t, iss.Claims("u-1"))); err != nil {
		t.Fatal(err)
	}
	before := iss.JWKSFetches()
	forger := iss.NewUnpublishedKey(t)
	for range 20 {
		if _, err := v.Verify(t.Context(), forger.Token(t, iss.Claims("u-1", "admin"))); !errors.Is(err, authn.ErrInvalid) {
			t.Fatalf("Verify with an unknown kid = %v, want ErrInvalid", err)
		}
	}
	if n := iss.JWKSFetches() - before; n != 0 {
		t.Fatalf("unknown kids caused %d JWKS fetches within the gap, want 0", n)
	}
}

func TestUnusableOptionalClaimsAreLeftOut(t *testing.T) {
	iss := authntest.NewIssuer(t)
	v := newVerifier(t, iss, time.Hour)
	c := iss.Claims("u-1", "user", "bad\nrole")
	c["name"] = "Ann\x00"
	c["email"] = 42
	got, err := v.Verify(t.Context(), iss.RSAKey().Token(t, c))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Name != "" || got.Email != "" || !slices.Equal(got.Roles, []string{"user"}) {
		t.Fatalf("claims = %+v, want name, email and the bad role left out", got)
	}
	c = iss.Claims("u-1\r\nX-Injected: 1")
	if _, err := v.Verify(t.Context(), iss.RSAKey().Token(t, c)); !errors.Is(err, authn.ErrInvalid) {
		t.Fatalf("Verify with a control character in sub = %v, want ErrInvalid", err)
	}
}

func TestKeySetVerifiesWithoutNetwork(t *testing.T) {
	iss := authntest.NewIssuer(t)
	keySet := iss.KeySet(t)
	iss.SetDown(true) // nothing may be fetched
	v, err := authn.New(t.Context(), authn.Config{Issuer: iss.URL, Audience: authntest.Audience, KeySet: keySet})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*authntest.Key{iss.RSAKey(), iss.ECKey()} {
		if _, err := v.Verify(t.Context(), k.Token(t, iss.Claims("u-1"))); err != nil {
			t.Fatalf("Verify %s: %v", k.Alg, err)
		}
	}
	// Keys outside the set are refused, and asking never reaches the network.
	rotated := iss.Rotate(t)
	for _, tok := range []string{
		rotated.Token(t, iss.Claims("u-1")),
		iss.NewUnpublishedKey(t).Token(t, iss.Claims("u-1", "admin")),
		authntest.HS256Token(t, iss.ECKey().ID, iss.ECKey().PublicPEM(t), iss.Claims("u-1", "admin")),
	} {
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, authn.ErrInvalid) {
			t.Fatalf("Verify = %v, want ErrInvalid", err)
		}
	}
	if n := iss.Discoveries() + iss.JWKSFetches(); n != 0 {
		t.Fatalf("%d requests to the issuer, want none", n)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	iss := authntest.NewIssuer(t)
	for name, cfg := range map[string]authn.Config{
		"no issuer":         {Audience: authntest.Audience},
		"no audience":       {Issuer: iss.URL},
		"key set not JSON":  {Issuer: iss.URL, Audience: authntest.Audience, KeySet: []byte("keys")},
		"empty key set":     {Issuer: iss.URL, Audience: authntest.Audience, KeySet: []byte(`{"keys":[]}`)},
		"key set and a URL": {Issuer: iss.URL, Audience: authntest.Audience, KeySet: iss.KeySet(t), JWKSURL: iss.URL + "/jwks"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := authn.New(t.Context(), cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
