// Package postgres is identity's SQL side: it reads accounts from Dapr's
// state table identity_state (written only by Dapr state transactions,
// internal/statestore), keeps refresh tokens and sign-in attempts in tables
// of its own, and applies the migrations. Driver errors are translated here:
// no rows become account.ErrNotFound.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb"

	"tenflix/services/identity/internal/account"
)

// StateTable is the table of state store component identity-state
// (its tableName): daprd creates it, the migrations add identity's indexes.
const StateTable = "identity_state"

// migrateLock serialises migrations of concurrently starting instances.
const migrateLock = 7103

// DB is identity's database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects and checks the connection.
func Open(ctx context.Context, dsn string) (*DB, error) {
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// Close releases the pool.
func (db *DB) Close() { db.pool.Close() }

// Migrate applies the embedded migrations not applied yet. They index and
// fill daprd's state table, so it must exist: daprd creates it when it loads
// the component, which the caller waits for (sidecar.Client.WaitReady).
func (db *DB) Migrate(ctx context.Context, migrations fs.FS) error {
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, StateTable).Scan(&exists); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if !exists {
		return fmt.Errorf("migrate: table %s missing: daprd creates it when it loads state store component identity-state "+
			"(is the component loaded by identity's sidecar, on this database?)", StateTable)
	}
	return pgdb.Migrate(ctx, db.pool, migrations, "identity_migrations", migrateLock)
}

// micros passes a duration to SQL as "$n * interval '1 microsecond'".
func micros(d time.Duration) int64 { return d.Microseconds() }

// ---- accounts (read only: Dapr state documents) ----

// userColumns reads an Account document (proto/identity/v1/account.proto,
// protojson names); isUser keeps the filter of the unique email index
// (migrations/003), so that the index serves UserByEmail.
const (
	userColumns = `value->>'id', value->>'email', value->>'name', value->>'passwordHash',
		ARRAY(SELECT jsonb_array_elements_text(value->'roles')), (value->>'createdAt')::timestamptz`
	isUser = `split_part(key, ':', 1) = 'user'`
)

func scanUser(row pgx.Row) (account.User, error) {
	var u account.User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Roles, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.User{}, account.ErrNotFound
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// UserByEmail finds an account by email, ignoring case.
func (db *DB) UserByEmail(ctx context.Context, email string) (account.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM identity_state
		WHERE `+isUser+` AND lower(value->>'email') = lower($1)`, email))
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		return u, fmt.Errorf("user by email: %w", err)
	}
	return u, err
}

// UserByID finds an account by id.
func (db *DB) UserByID(ctx context.Context, id string) (account.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM identity_state WHERE key = 'user:' || $1`, id))
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		return u, fmt.Errorf("user by id: %w", err)
	}
	return u, err
}

// ---- sign-in attempts ----

// BeginLoginAttempt admits a sign-in attempt by clientKey for emailKey
// unless p refuses it (account.LoginPolicy); then it returns how long until
// the client may try again (retryAfter > 0, nothing recorded):
//   - the client has p.ClientLimit attempts recorded for the email within
//     the window: until the oldest of them leaves it;
//   - the client has at least one, and the email has p.SlowAfter or more
//     from all clients: until p.Spacing of them after the client's latest.
//
// A client with none is always admitted. An admitted attempt is recorded
// before the password is checked, so concurrent guesses count too; the
// caller removes it on success (ClearLoginAttempts) or when it did not get
// to check (EndLoginAttempt). A per-email advisory lock makes
// check-and-record atomic: a burst gets exactly the allowed guesses through.
func (db *DB) BeginLoginAttempt(ctx context.Context, emailKey, clientKey string, p account.LoginPolicy) (id int64, retryAfter time.Duration, err error) {
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrateLock, emailKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM login_attempts
			WHERE email_key = $1 AND attempted_at <= now() - $2 * interval '1 microsecond'`, emailKey, micros(p.Window)); err != nil {
			return err
		}
		// What is left is within the window (now() is fixed in a transaction).
		var accountN, clientN int
		var sinceLatest float64
		if err := tx.QueryRow(ctx, `
			SELECT count(*), count(*) FILTER (WHERE client_key = $2),
			       coalesce(extract(epoch FROM now() - max(attempted_at) FILTER (WHERE client_key = $2)), 0)::float8
			FROM login_attempts WHERE email_key = $1`, emailKey, clientKey).Scan(&accountN, &clientN, &sinceLatest); err != nil {
			return err
		}
		if clientN >= p.ClientLimit {
			var left float64
			if err := tx.QueryRow(ctx, `
				SELECT extract(epoch FROM attempted_at + $3 * interval '1 microsecond' - now())::float8
				FROM login_attempts
				WHERE email_key = $1 AND client_key = $2
				ORDER BY attempted_at DESC, id DESC
				OFFSET $4 - 1 LIMIT 1`, emailKey, clientKey, micros(p.Window), p.ClientLimit).Scan(&left); err != nil {
				return err
			}
			retryAfter = max(seconds(left), time.Second)
			return nil
		}
		if clientN > 0 {
			if wait := p.Spacing(accountN) - seconds(sinceLatest); wait > 0 {
				retryAfter = max(wait, time.Second)
				return nil
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO login_attempts (email_key, client_key) VALUES ($1, $2) RETURNING id`,
			emailKey, clientKey).Scan(&id)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("login attempt: %w", err)
	}
	return id, retryAfter, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// EndLoginAttempt forgets an admitted attempt that was cut short by an
// error before the password was checked.
func (db *DB) EndLoginAttempt(ctx context.Context, id int64) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM login_attempts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("end login attempt: %w", err)
	}
	return nil
}

// ClearLoginAttempts forgets clientKey's failures for emailKey after a
// success. Other clients' stay: the owner signing in does not give an
// attacker elsewhere a fresh budget.
func (db *DB) ClearLoginAttempts(ctx context.Context, emailKey, clientKey string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM login_attempts WHERE email_key = $1 AND client_key = $2`, emailKey, clientKey); err != nil {
		return fmt.Errorf("clear login attempts: %w", err)
	}
	return nil
}

// ---- refresh tokens ----

// CreateRefreshToken stores the first token of a new family (a sign-in).
func (db *DB) CreateRefreshToken(ctx context.Context, hash []byte, userID, familyID string, ttl time.Duration) error {
	if _, err := db.pool.Exec(ctx, `
		INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)
		VALUES ($1, $2, $3, now() + $4 * interval '1 microsecond')`, hash, userID, familyID, micros(ttl)); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// RotateRefreshToken exchanges the token hashed old for a new one (hashed
// next, valid for ttl) in the same family, and returns the token's user.
// An unknown or revoked token is account.ErrRefreshInvalid, an expired one
// account.ErrRefreshExpired. A token already rotated is
// account.ErrRefreshReused: its whole family is revoked (committed).
func (db *DB) RotateRefreshToken(ctx context.Context, old, next []byte, ttl time.Duration) (account.User, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	var userID, familyID string
	var expired, rotated, revoked bool
	err = tx.QueryRow(ctx, `
		SELECT user_id::text, family_id::text, expires_at <= now(), rotated_at IS NOT NULL, revoked_at IS NOT NULL
		FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, old).Scan(&userID, &familyID, &expired, &rotated, &revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return account.User{}, account.ErrRefreshInvalid
	case err != nil:
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	case revoked:
		return account.User{}, account.ErrRefreshInvalid
	case rotated:
		if _, err := tx.Exec(ctx, `
			UPDATE refresh_tokens SET revoked_at = now()
			WHERE family_id = $1 AND revoked_at IS NULL`, familyID); err != nil {
			return account.User{}, fmt.Errorf("revoke refresh family: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return account.User{}, fmt.Errorf("revoke refresh family: %w", err)
		}
		return account.User{ID: userID}, fmt.Errorf("family %s of user %s: %w", familyID, userID, account.ErrRefreshReused)
	case expired:
		return account.User{}, account.ErrRefreshExpired
	}
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1`, old); err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)
		VALUES ($1, $2, $3, now() + $4 * interval '1 microsecond')`, next, userID, familyID, micros(ttl)); err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM identity_state WHERE key = 'user:' || $1`, userID))
	if err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: user: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return u, nil
}

// RevokeRefreshFamily ends the session the token hashed hash belongs to.
// Unknown tokens are fine (logout is idempotent).
func (db *DB) RevokeRefreshFamily(ctx context.Context, hash []byte) error {
	if _, err := db.pool.Exec(ctx, `
		UPDATE refresh_tokens SET revoked_at = now()
		WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)
		  AND revoked_at IS NULL`, hash); err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

// ---- housekeeping ----

// Prune deletes what no longer matters: attempts older than the throttling
// window and expired refresh tokens.
func (db *DB) Prune(ctx context.Context, loginWindow time.Duration) error {
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM login_attempts WHERE attempted_at <= now() - $1 * interval '1 microsecond'`, []any{micros(loginWindow)}},
		{`DELETE FROM refresh_tokens WHERE expires_at <= now()`, nil},
	} {
		if _, err := db.pool.Exec(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	return nil
}
