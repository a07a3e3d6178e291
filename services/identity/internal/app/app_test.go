package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/password"
	"tenflix/services/identity/internal/token"
)

func newApp(t *testing.T, params password.Params) (*App, *dbtest.Database) {
	t.Helper()
	db := dbtest.New(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Users: db.Users, Store: db, Issuer: token.NewIssuer(keys, "http://i", "a", time.Minute),
		PasswordParams: params, RefreshTTL: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return a, db
}

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestEnsureAdminCreatesTheAccountOnce(t *testing.T) {
	a, db := newApp(t, cheap)
	ctx := context.Background()
	created, err := a.EnsureAdmin(ctx, "admin passphrase one")
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	created, err = a.EnsureAdmin(ctx, "admin passphrase two")
	if err != nil || created {
		t.Fatalf("second start: %v %v", created, err)
	}
	if _, err := a.PasswordGrant(ctx, "192.0.2.1", AdminEmail, "admin passphrase one"); err != nil {
		t.Fatalf("the first password must stay: %v", err)
	}
	u, _ := db.UserByEmail(ctx, AdminEmail)
	if !slices.Equal(u.Roles, []string{account.RoleUser, account.RoleAdmin}) {
		t.Fatalf("roles %v", u.Roles)
	}
	if n := len(db.Dapr.Published()); n != 1 {
		t.Fatalf("%d events for one admin account", n)
	}
	// Once it exists, no password is needed (the secret may be gone).
	if _, err := a.EnsureAdmin(ctx, ""); err != nil {
		t.Fatal(err)
	}
}

// Someone who got hold of the admin email as a plain user is not promoted.
func TestEnsureAdminDoesNotPromoteAnExistingUser(t *testing.T) {
	a, db := newApp(t, cheap)
	ctx := context.Background()
	if _, err := a.Register(ctx, Registration{Email: "ADMIN@tenflix.local", Password: "squatter passphrase", Name: "S"}); err != nil {
		t.Fatal(err)
	}
	if created, err := a.EnsureAdmin(ctx, "admin passphrase one"); err != nil || created {
		t.Fatalf("%v %v", created, err)
	}
	u, _ := db.UserByEmail(ctx, AdminEmail)
	if u.IsAdmin() {
		t.Fatal("an existing account was made admin")
	}
}

func TestEnsureAdminNeedsAGoodPasswordToCreate(t *testing.T) {
	a, _ := newApp(t, cheap)
	for _, pw := range []string{"", "admin", "password123"} {
		if _, err := a.EnsureAdmin(context.Background(), pw); err == nil || !strings.Contains(err.Error(), "password") {
			t.Errorf("password %q: %v", pw, err)
		}
	}
}

// Unknown emails are checked against a dummy hash made with the same
// parameters as real ones, so that both cost the same time.
func TestDummyHashCostsLikeARealOne(t *testing.T) {
	a, db := newApp(t, password.Recommended)
	ctx := context.Background()
	if _, err := a.Register(ctx, Registration{Email: "ann@example.com", Password: "correct horse battery", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	u, _ := db.UserByEmail(ctx, "ann@example.com")
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[1:4], "$") }
	if params(a.dummyHash) != params(u.PasswordHash) || params(u.PasswordHash) != "argon2id$v=19$m=19456,t=2,p=1" {
		t.Fatalf("dummy %q vs real %q", params(a.dummyHash), params(u.PasswordHash))
	}
	if ok, err := a.hasher.Verify(ctx, a.dummyHash, "anything"); ok || err != nil {
		t.Fatalf("dummy hash: %v %v", ok, err)
	}
}

// A taken email is refused before any state transaction: a failed one would
// stall daprd's outbox for seconds. The unique index stays the guard of
// races (internal/postgres tests it).
func TestTakenEmailSendsNoTransaction(t *testing.T) {
	a, db := newApp(t, cheap)
	ctx := context.Background()
	if _, err := a.Register(ctx, Registration{Email: "ann@example.com", Password: "correct horse battery", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	before := len(db.Dapr.Tokens())
	_, err := a.Register(ctx, Registration{Email: "ANN@example.com", Password: "correct horse battery", Name: "Ann"})
	if !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("Register with a taken email: %v", err)
	}
	if n := len(db.Dapr.Tokens()) - before; n != 0 {
		t.Fatalf("%d state transactions for a taken email", n)
	}
}
