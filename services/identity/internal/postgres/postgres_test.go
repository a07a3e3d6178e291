package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/outbox"
	"tenflix/services/identity/internal/token"
	"tenflix/services/identity/migrations"
)

func newUser(t *testing.T, db *dbtest.Database, email string, roles ...string) account.User {
	t.Helper()
	if len(roles) == 0 {
		roles = []string{account.RoleUser}
	}
	u := account.User{ID: uuid.NewString(), Email: email, Name: "Someone", PasswordHash: "$argon2id$x",
		Roles: roles, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	ev, _ := outbox.New(uuid.NewString(), "users", "t", map[string]string{"id": u.ID}, u.CreatedAt)
	if err := db.CreateUser(context.Background(), u, ev); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := dbtest.New(t)
	if err := db.Migrate(context.Background(), migrations.FS); err != nil {
		t.Fatal(err)
	}
}

func TestEmailIsUniqueIgnoringCase(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	u := newUser(t, db, "Ann@Example.com")

	ev, _ := outbox.New(uuid.NewString(), "users", "t", nil, time.Now())
	dup := u
	dup.ID, dup.Email = uuid.NewString(), "ann@EXAMPLE.COM"
	if err := db.CreateUser(ctx, dup, ev); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("CreateUser with the same email in other case: %v, want ErrEmailTaken", err)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("the failed registration left an outbox row: %d rows", n)
	}
	// The index itself, not only the code, refuses the duplicate.
	err := db.TryExec(`INSERT INTO users (id, email, display_name, password_hash) VALUES ($1, 'ANN@example.COM', 'x', 'h')`, uuid.NewString())
	if err == nil || !strings.Contains(err.Error(), "users_email_lower_key") {
		t.Fatalf("direct duplicate insert: %v", err)
	}

	got, err := db.UserByEmail(ctx, "ANN@EXAMPLE.COM")
	if err != nil || got.ID != u.ID || got.Email != "Ann@Example.com" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("UserByEmail: %+v %v", got, err)
	}
	if _, err := db.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	if _, err := db.UserByID(ctx, uuid.NewString()); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestOnlyKnownRolesAreStored(t *testing.T) {
	db := dbtest.New(t)
	for _, roles := range []string{`{user,superuser}`, `{}`, `{user,NULL}`, `{Admin}`} {
		err := db.TryExec(`INSERT INTO users (id, email, display_name, password_hash, roles) VALUES ($1, $2, 'x', 'h', $3)`,
			uuid.NewString(), uuid.NewString()+"@example.com", roles)
		if err == nil || !strings.Contains(err.Error(), "users_roles_known") {
			t.Errorf("roles %s: %v, want the users_roles_known check to refuse", roles, err)
		}
	}
	newUser(t, db, "boss@example.com", account.RoleUser, account.RoleAdmin)
}

func TestRefreshTokenRotation(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	u := newUser(t, db, "ann@example.com")
	_, h1, _ := token.NewRefresh()
	_, h2, _ := token.NewRefresh()
	_, h3, _ := token.NewRefresh()
	family := uuid.NewString()
	if err := db.CreateRefreshToken(ctx, h1, u.ID, family, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := db.RotateRefreshToken(ctx, h1, h2, time.Hour)
	if err != nil || got.ID != u.ID || got.Email != u.Email {
		t.Fatalf("rotate: %+v %v", got, err)
	}
	// h1 again: reuse. The family, h2 included, is revoked.
	if _, err := db.RotateRefreshToken(ctx, h1, h3, time.Hour); !errors.Is(err, account.ErrRefreshReused) {
		t.Fatalf("reuse of a rotated token: %v", err)
	}
	if _, err := db.RotateRefreshToken(ctx, h2, h3, time.Hour); !errors.Is(err, account.ErrRefreshInvalid) {
		t.Fatalf("token of a revoked family: %v", err)
	}
	_, unknown, _ := token.NewRefresh()
	if _, err := db.RotateRefreshToken(ctx, unknown, h3, time.Hour); !errors.Is(err, account.ErrRefreshInvalid) {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestExpiredRefreshTokenIsRefused(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	u := newUser(t, db, "ann@example.com")
	_, h1, _ := token.NewRefresh()
	_, h2, _ := token.NewRefresh()
	if err := db.CreateRefreshToken(ctx, h1, u.ID, uuid.NewString(), time.Hour); err != nil {
		t.Fatal(err)
	}
	db.Exec(t, `UPDATE refresh_tokens SET expires_at = now() - interval '1 second'`)
	if _, err := db.RotateRefreshToken(ctx, h1, h2, time.Hour); !errors.Is(err, account.ErrRefreshExpired) {
		t.Fatalf("expired token: %v", err)
	}
	if err := db.Prune(ctx, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM refresh_tokens`); n != 0 {
		t.Fatalf("prune left %d expired tokens", n)
	}
}

// Two requests presenting the same refresh token at once: one rotates it,
// the other is a reuse. Never two live tokens.
func TestConcurrentRotationHasOneWinner(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	u := newUser(t, db, "ann@example.com")
	_, h1, _ := token.NewRefresh()
	if err := db.CreateRefreshToken(ctx, h1, u.ID, uuid.NewString(), time.Hour); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, next, _ := token.NewRefresh()
			_, errs[i] = db.RotateRefreshToken(ctx, h1, next, time.Hour)
		})
	}
	wg.Wait()
	ok, reused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, account.ErrRefreshReused), errors.Is(err, account.ErrRefreshInvalid):
			reused++
		default:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if ok != 1 || reused != n-1 {
		t.Fatalf("%d rotations succeeded, %d refused; want 1 and %d", ok, reused, n-1)
	}
	if live := db.QueryInt(t, `SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL`); live != 0 {
		t.Fatalf("%d live tokens after a detected reuse, want 0 (family revoked)", live)
	}
}

func TestLogoutRevokesTheFamily(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	u := newUser(t, db, "ann@example.com")
	_, h1, _ := token.NewRefresh()
	_, h2, _ := token.NewRefresh()
	_, h3, _ := token.NewRefresh()
	if err := db.CreateRefreshToken(ctx, h1, u.ID, uuid.NewString(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RotateRefreshToken(ctx, h1, h2, time.Hour); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := db.RevokeRefreshFamily(ctx, h2); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RotateRefreshToken(ctx, h2, h3, time.Hour); !errors.Is(err, account.ErrRefreshInvalid) {
		t.Fatalf("revoked token: %v", err)
	}
	_, unknown, _ := token.NewRefresh()
	if err := db.RevokeRefreshFamily(ctx, unknown); err != nil {
		t.Fatal(err)
	}
}

func TestLoginAttemptsAreCountedPerEmailWithinTheWindow(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	const limit, window = 5, 15 * time.Minute
	for i := range limit {
		if _, retry, err := db.BeginLoginAttempt(ctx, "ann@example.com", limit, window); err != nil || retry != 0 {
			t.Fatalf("attempt %d: retry=%s err=%v", i+1, retry, err)
		}
	}
	_, retry, err := db.BeginLoginAttempt(ctx, "ann@example.com", limit, window)
	if err != nil || retry <= 14*time.Minute || retry > window {
		t.Fatalf("attempt %d: retry=%s err=%v, want about 15m", limit+1, retry, err)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts`); n != limit {
		t.Fatalf("a refused attempt was recorded: %d rows", n)
	}
	if _, retry, _ := db.BeginLoginAttempt(ctx, "bob@example.com", limit, window); retry != 0 {
		t.Fatal("another email is throttled")
	}
	// The window passes.
	db.Exec(t, `UPDATE login_attempts SET attempted_at = attempted_at - interval '16 minutes' WHERE email_key = 'ann@example.com'`)
	if _, retry, _ := db.BeginLoginAttempt(ctx, "ann@example.com", limit, window); retry != 0 {
		t.Fatal("still throttled after the window")
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts WHERE email_key = 'ann@example.com'`); n != 1 {
		t.Fatalf("old attempts not pruned: %d rows", n)
	}
	id, _, _ := db.BeginLoginAttempt(ctx, "ann@example.com", limit, window)
	if err := db.EndLoginAttempt(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := db.ClearLoginAttempts(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts`); n != 1 {
		t.Fatalf("clear: %d rows left, want bob's only", n)
	}
}

// A burst of concurrent guesses gets exactly limit of them through.
func TestConcurrentLoginAttemptsRespectTheLimit(t *testing.T) {
	db := dbtest.New(t)
	const limit, n = 5, 20
	allowed := make(chan bool, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, retry, err := db.BeginLoginAttempt(context.Background(), "ann@example.com", limit, time.Minute)
			if err != nil {
				t.Error(err)
			}
			allowed <- retry == 0
		})
	}
	wg.Wait()
	close(allowed)
	got := 0
	for ok := range allowed {
		if ok {
			got++
		}
	}
	if got != limit {
		t.Fatalf("%d of %d concurrent attempts allowed, want %d", got, n, limit)
	}
}
