package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/pgdb"
	identityv1 "tenflix/proto/identity/v1"
	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/dbtest"
	"tenflix/services/identity/internal/postgres"
	"tenflix/services/identity/internal/token"
	"tenflix/services/identity/migrations"
)

// migratedUpTo applies the migrations up to last (a database of the version
// that had them), as Migrate records them.
func migratedUpTo(t *testing.T, pool *pgxpool.Pool, last string) {
	t.Helper()
	old := fstest.MapFS{}
	names, _ := fs.Glob(migrations.FS, "*.sql")
	for _, name := range names {
		if name <= last {
			b, _ := fs.ReadFile(migrations.FS, name)
			old[name] = &fstest.MapFile{Data: b}
		}
	}
	if err := pgdb.Migrate(context.Background(), pool, old, "identity_migrations", 7103); err != nil {
		t.Fatal(err)
	}
}

// Accounts of the SQL users table become state documents at the first start
// of this version, after daprd made its table: same ids, hashes and roles,
// refresh tokens still good, nothing published, the old tables gone.
func TestMigrationMovesAccountsIntoDaprState(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.NewEmpty(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}

	// The previous version's database, with two accounts, a session and its
	// outbox: one event published, one still waiting.
	migratedUpTo(t, pool, "002_login_attempts_per_client.sql")
	ann, admin := uuid.NewString(), uuid.NewString()
	created := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	exec(`INSERT INTO users (id, email, display_name, password_hash, roles, created_at) VALUES
		($1, 'Ann.Lee@Example.com', 'Ann Lee', '$argon2id$ann', '{user}', $3),
		($2, 'admin@tenflix.local', 'Administrator', '$argon2id$admin', '{user,admin}', $3)`, ann, admin, created)
	_, h1, _ := token.NewRefresh()
	exec(`INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')`,
		h1, ann, uuid.NewString())
	exec(`INSERT INTO outbox (event_id, topic, event_type, data, published_at) VALUES ($1, 'users', 't', '{}', now())`, uuid.NewString())
	exec(`INSERT INTO outbox (event_id, topic, event_type, data) VALUES ($1, 'users', 't', '{}')`, uuid.NewString())

	dapr := dbtest.StartDaprd(t, dsn) // daprd's first start makes its table
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// An event never published would be lost: the start is refused, and
	// nothing has changed.
	err = db.Migrate(ctx, migrations.FS)
	if err == nil || !strings.Contains(err.Error(), "1 event(s) of the old outbox table were never published") {
		t.Fatalf("Migrate with a pending event = %v, want a refusal", err)
	}
	if n := count(`SELECT count(*) FROM users`); n != 2 || count(`SELECT count(*) FROM identity_state`) != 0 {
		t.Fatal("the refused migration changed something")
	}
	exec(`UPDATE outbox SET published_at = now()`)
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}

	got, err := db.UserByEmail(ctx, "ann.lee@example.com")
	if err != nil || got.ID != ann || got.Email != "Ann.Lee@Example.com" || got.Name != "Ann Lee" ||
		got.PasswordHash != "$argon2id$ann" || !slices.Equal(got.Roles, []string{"user"}) || !got.CreatedAt.Equal(created) {
		t.Fatalf("Ann after the move: %+v %v", got, err)
	}
	if got, err := db.UserByID(ctx, admin); err != nil || !got.IsAdmin() {
		t.Fatalf("admin after the move: %+v %v", got, err)
	}
	_, h2, _ := token.NewRefresh()
	if u, err := db.RotateRefreshToken(ctx, h1, h2, time.Hour); err != nil || u.ID != ann {
		t.Fatalf("Ann's session after the move: %+v %v", u, err)
	}
	if n := len(dapr.Published()); n != 0 {
		t.Fatalf("%d events published for moved accounts", n)
	}
	for _, table := range []string{"users", "outbox"} {
		if count(`SELECT count(*) FROM pg_tables WHERE tablename = $1`, table) != 0 {
			t.Errorf("table %s still there", table)
		}
	}

	// A moved document is exactly what the code writes: it decodes strictly
	// as an Account and has the same fields as a new one.
	var raw string
	if err := pool.QueryRow(ctx, `SELECT value::text FROM identity_state WHERE key = 'user:' || $1`, ann).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var doc identityv1.Account
	if err := protojson.Unmarshal([]byte(raw), &doc); err != nil || doc.GetPasswordHash() != "$argon2id$ann" {
		t.Fatalf("moved document %s: %v", raw, err)
	}
	bob := account.User{ID: uuid.NewString(), Email: "bob@example.com", Name: "Bob", PasswordHash: "$argon2id$bob",
		Roles: []string{account.RoleUser}, CreatedAt: time.Now().UTC()}
	if err := dapr.Users().Create(ctx, bob); err != nil {
		t.Fatal(err)
	}
	keys := `SELECT string_agg(k, ',' ORDER BY k) FROM identity_state, jsonb_object_keys(value) k WHERE key = 'user:' || $1`
	var movedKeys, newKeys string
	_ = pool.QueryRow(ctx, keys, ann).Scan(&movedKeys)
	_ = pool.QueryRow(ctx, keys, bob.ID).Scan(&newKeys)
	if movedKeys != newKeys {
		t.Fatalf("moved document has fields %s, a new one %s", movedKeys, newKeys)
	}
	// The moved emails are taken.
	dup := bob
	dup.ID, dup.Email = uuid.NewString(), "ANN.LEE@example.com"
	if err := dapr.Users().Create(ctx, dup); !errors.Is(err, account.ErrEmailTaken) {
		t.Fatalf("registering a moved email: %v", err)
	}
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
}
