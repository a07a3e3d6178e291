package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/postgres"
	"tenflix/services/identity/internal/token"
	"tenflix/services/identity/migrations"
)

// newUser creates an account the way production does: a state transaction
// through the sidecar (its stand-in), on the real table.
func newUser(t *testing.T, db *dbtest.Database, email string, roles ...string) account.User {
	t.Helper()
	if len(roles) == 0 {
		roles = []string{account.RoleUser}
	}
	u := account.User{ID: uuid.NewString(), Email: email, Name: "Someone", PasswordHash: "$argon2id$x",
		Roles: roles, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := db.Users.Create(context.Background(), u); err != nil {
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

func TestMigrateNeedsDaprdsTable(t *testing.T) {
	db, err := postgres.Open(context.Background(), dbtest.NewEmpty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Migrate(context.Background(), migrations.FS)
	if err == nil || !strings.Contains(err.Error(), "identity_state missing") {
		t.Fatalf("Migrate without daprd's table = %v, want it named", err)
	}
}

// daprInsert writes a document as daprd's first-write upsert does.
const daprInsert = `INSERT INTO identity_state (key, value, isbinary) VALUES ($1, $2, false)`

func doc(id, email, roles string) string {
	return fmt.Sprintf(`{"id":%q,"email":%q,"name":"x","passwordHash":"h","roles":%s,"createdAt":"2026-01-02T03:04:05Z"}`, id, email, roles)
}

func TestEmailIsUniqueIgnoringCase(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	u := newUser(t, db, "Ann@Example.com")

	dup := u
	dup.ID, dup.Email = uuid.NewString(), "ann@EXAMPLE.COM"
	if err := db.Users.Create(ctx, dup); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("Create with the same email in other case: %v, want ErrEmailTaken", err)
	}
	if n := len(db.Dapr.Published()); n != 1 {
		t.Fatalf("%d events published, want only the first registration's", n)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM identity_state`); n != 1 {
		t.Fatalf("%d rows in the state table, want the one account (no marker left)", n)
	}
	// The index itself, not only the code, refuses the duplicate.
	id := uuid.NewString()
	err := db.TryExec(daprInsert, "user:"+id, doc(id, "ANN@example.COM", `["user"]`))
	if err == nil || !strings.Contains(err.Error(), "identity_users_unique_email") {
		t.Fatalf("direct duplicate insert: %v", err)
	}
	// Other rows of the table (daprd's outbox markers) are not accounts.
	db.Exec(t, daprInsert, "outbox-"+uuid.NewString(), `"0"`)
	db.Exec(t, daprInsert, "outbox-"+uuid.NewString(), `"0"`)

	got, err := db.UserByEmail(ctx, "ANN@EXAMPLE.COM")
	if err != nil || got.ID != u.ID || got.Email != "Ann@Example.com" || got.Name != u.Name ||
		got.PasswordHash != u.PasswordHash || !got.CreatedAt.Equal(u.CreatedAt) || strings.Join(got.Roles, ",") != "user" {
		t.Fatalf("UserByEmail: %+v %v", got, err)
	}
	if got, err := db.UserByID(ctx, u.ID); err != nil || got.Email != u.Email {
		t.Fatalf("UserByID: %+v %v", got, err)
	}
	if _, err := db.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	if _, err := db.UserByID(ctx, uuid.NewString()); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

// Under the same unique email, concurrent registrations have one winner,
// and only the winner's event is published.
func TestConcurrentRegistrationsOfOneEmail(t *testing.T) {
	db := dbtest.New(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Users.Create(context.Background(), account.User{ID: uuid.NewString(),
				Email: []string{"ann@example.com", "Ann@Example.com", "ANN@EXAMPLE.COM"}[i%3], Name: "Ann", PasswordHash: "h",
				Roles: []string{account.RoleUser}, CreatedAt: time.Now().UTC()})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, account.ErrEmailTaken):
			t.Fatalf("unexpected: %v", err)
		}
	}
	if won != 1 || len(db.Dapr.Published()) != 1 {
		t.Fatalf("%d registrations won, %d events published; want 1 and 1", won, len(db.Dapr.Published()))
	}
}

func TestOnlyValidAccountDocumentsAreStored(t *testing.T) {
	db := dbtest.New(t)
	id := uuid.NewString()
	for name, value := range map[string]string{
		"unknown role":       doc(id, "a@example.com", `["user","superuser"]`),
		"no role":            doc(id, "a@example.com", `[]`),
		"null role":          doc(id, "a@example.com", `["user",null]`),
		"role case":          doc(id, "a@example.com", `["Admin"]`),
		"roles not an array": doc(id, "a@example.com", `"user"`),
		"no roles":           fmt.Sprintf(`{"id":%q,"email":"a@example.com","name":"x","passwordHash":"h"}`, id),
		"no email":           fmt.Sprintf(`{"id":%q,"name":"x","passwordHash":"h","roles":["user"]}`, id),
		"untrimmed email":    doc(id, " a@example.com", `["user"]`),
		"no hash":            fmt.Sprintf(`{"id":%q,"email":"a@example.com","name":"x","passwordHash":"","roles":["user"]}`, id),
		"id not the key's":   doc(uuid.NewString(), "a@example.com", `["user"]`),
	} {
		err := db.TryExec(daprInsert, "user:"+id, value)
		if err == nil || !strings.Contains(err.Error(), "identity_user_document_valid") {
			t.Errorf("%s: %v, want the identity_user_document_valid check to refuse", name, err)
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

var policy = account.DefaultLoginPolicy

// begin is one attempt; it returns the wait asked of the client (0: admitted).
func begin(t testing.TB, db *dbtest.Database, email, client string) time.Duration {
	t.Helper()
	_, retry, err := db.BeginLoginAttempt(context.Background(), email, client, policy)
	if err != nil {
		t.Fatal(err)
	}
	return retry
}

func TestLoginAttemptsAreCountedPerClientAndEmailWithinTheWindow(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	const a, b = "198.51.100.1", "198.51.100.2"
	for i := range policy.ClientLimit {
		if retry := begin(t, db, "ann@example.com", a); retry != 0 {
			t.Fatalf("attempt %d: retry=%s", i+1, retry)
		}
	}
	if retry := begin(t, db, "ann@example.com", a); retry <= 14*time.Minute || retry > policy.Window {
		t.Fatalf("attempt %d: retry=%s, want about 15m", policy.ClientLimit+1, retry)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts`); n != policy.ClientLimit {
		t.Fatalf("a refused attempt was recorded: %d rows", n)
	}
	// Another client for the same email, and the same client for another
	// email, are not throttled.
	if retry := begin(t, db, "ann@example.com", b); retry != 0 {
		t.Fatalf("another client is throttled: %s", retry)
	}
	if retry := begin(t, db, "bob@example.com", a); retry != 0 {
		t.Fatalf("another email is throttled: %s", retry)
	}
	// The window passes.
	db.Exec(t, `UPDATE login_attempts SET attempted_at = attempted_at - interval '16 minutes' WHERE email_key = 'ann@example.com'`)
	if retry := begin(t, db, "ann@example.com", a); retry != 0 {
		t.Fatal("still throttled after the window")
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts WHERE email_key = 'ann@example.com'`); n != 1 {
		t.Fatalf("old attempts not pruned: %d rows", n)
	}
	id, _, _ := db.BeginLoginAttempt(ctx, "ann@example.com", b, policy)
	if err := db.EndLoginAttempt(ctx, id); err != nil {
		t.Fatal(err)
	}
	begin(t, db, "ann@example.com", b)
	// A success forgets that client's attempts only.
	if err := db.ClearLoginAttempts(ctx, "ann@example.com", a); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts WHERE email_key = 'ann@example.com' AND client_key = $1`, b); n != 1 {
		t.Fatalf("clear: %d rows of the other client left, want 1", n)
	}
	if n := db.QueryInt(t, `SELECT count(*) FROM login_attempts`); n != 2 {
		t.Fatalf("clear: %d rows left, want the other client's and bob's", n)
	}
}

// Failures spread over many clients slow down the clients that failed,
// never a fresh one.
func TestAccountWideFailuresSlowDownOnlyClientsThatFailed(t *testing.T) {
	db := dbtest.New(t)
	client := func(i int) string { return fmt.Sprintf("203.0.113.%d", i) }
	for i := range policy.SlowAfter - 1 { // below the slow-down: nobody waits
		if retry := begin(t, db, "ann@example.com", client(i)); retry != 0 {
			t.Fatalf("client %d: %s", i, retry)
		}
	}
	if retry := begin(t, db, "ann@example.com", client(0)); retry != 0 {
		t.Fatalf("second attempt of a client below the slow-down: %s", retry)
	}
	// Now 10 failures: a client that failed must wait Spacing(10) = 1 s
	// after its latest attempt.
	if retry := begin(t, db, "ann@example.com", client(0)); retry != time.Second {
		t.Fatalf("client with failures on a hot account: retry=%s, want 1s", retry)
	}
	db.Exec(t, `UPDATE login_attempts SET attempted_at = attempted_at - interval '2 seconds'`)
	if retry := begin(t, db, "ann@example.com", client(0)); retry != 0 {
		t.Fatalf("after the spacing: %s", retry)
	}
	// Many more failures: the spacing grows, but only up to MaxSpacing, so
	// that the owner, one typo into an attack, waits seconds, not the window.
	for i := range 500 {
		db.Exec(t, `INSERT INTO login_attempts (email_key, client_key) VALUES ('ann@example.com', $1)`, client(100+i))
	}
	if retry := begin(t, db, "ann@example.com", client(1)); retry < 20*time.Second || retry > policy.MaxSpacing {
		t.Fatalf("client with a failure on a very hot account: retry=%s, want up to %s", retry, policy.MaxSpacing)
	}
	// A fresh client is always admitted, and so are other accounts.
	if retry := begin(t, db, "ann@example.com", "192.0.2.99"); retry != 0 {
		t.Fatalf("fresh client refused: %s", retry)
	}
	if retry := begin(t, db, "bob@example.com", client(1)); retry != 0 {
		t.Fatalf("another account slowed down: %s", retry)
	}
}

// A burst of concurrent guesses from one client gets exactly ClientLimit of
// them through; a burst spread over clients gets one per fresh client.
func TestConcurrentLoginAttemptsRespectTheLimit(t *testing.T) {
	db := dbtest.New(t)
	const n = 20
	count := func(client func(i int) string) int {
		allowed := make(chan bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, retry, err := db.BeginLoginAttempt(context.Background(), "ann@example.com", client(i), policy)
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
		return got
	}
	if got := count(func(int) string { return "198.51.100.1" }); got != policy.ClientLimit {
		t.Fatalf("%d of %d concurrent attempts from one client allowed, want %d", got, n, policy.ClientLimit)
	}
	if got := count(func(i int) string { return fmt.Sprintf("203.0.113.%d", i) }); got != n {
		t.Fatalf("%d of %d concurrent attempts from fresh clients allowed, want all", got, n)
	}
}

func TestClientKeyIsChecked(t *testing.T) {
	db := dbtest.New(t)
	for _, client := range []string{"", strings.Repeat("x", 65)} {
		if _, _, err := db.BeginLoginAttempt(context.Background(), "ann@example.com", client, policy); err == nil {
			t.Errorf("client key %q stored", client)
		}
	}
}
