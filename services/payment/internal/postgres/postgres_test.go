package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/payment/internal/statestore"
	"tenflix/services/payment/migrations"
)

// daprStateTable is the table daprd's state.postgresql v1 creates for
// payment-state (tableName payment_state); the tests create it themselves
// to run the migrations and daprd's statements on the same shape.
const daprStateTable = `CREATE TABLE payment_state (
	key text NOT NULL PRIMARY KEY,
	value jsonb NOT NULL,
	isbinary boolean NOT NULL,
	insertdate timestamptz NOT NULL DEFAULT now(),
	updatedate timestamptz NULL,
	expiredate timestamptz NULL)`

// The statements daprd 1.14 runs for a state transaction on state.postgresql
// v1 (components-contrib v1.14: state/postgresql/v1 SetQueryFn,
// common/component/postgresql/v1 doSet / Multi), with no TTL: a first-write
// upsert without ETag, or one with the ETag (xmin) read before.
const (
	daprUpsertFirstWrite = `INSERT INTO payment_state AS t
			(key, value, isbinary, expiredate)
		VALUES
			($1, $2, $3, NULL)
		ON CONFLICT (key)
		DO UPDATE SET
			value = excluded.value,
			isbinary = excluded.isBinary,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)`
	daprUpsertETag = `UPDATE payment_state
		SET
			value = $2,
			isbinary = $3,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL
		WHERE
			key = $1
			AND xmin = $4
			AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)`
)

// daprTransact runs one upsert the way daprd does with the outbox enabled:
// BEGIN (READ COMMITTED), the upsert (etag 0: first-write), its outbox
// marker ("outbox-<n>", value "0"), COMMIT. hold runs before COMMIT.
func daprTransact(ctx context.Context, pool *pgxpool.Pool, key, value string, etag uint32, hold func()) (err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(ctx)
		}
	}()
	var tag pgconn.CommandTag
	if etag == 0 {
		tag, err = tx.Exec(ctx, daprUpsertFirstWrite, key, value, false)
	} else {
		tag, err = tx.Exec(ctx, daprUpsertETag, key, value, false, etag)
	}
	if err == nil && tag.RowsAffected() != 1 {
		err = errors.New("no item was updated (etag mismatch)")
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, daprUpsertFirstWrite, fmt.Sprintf("outbox-%s-%d", key, etag), `"0"`, false); err != nil {
		return err
	}
	if hold != nil {
		hold()
	}
	return tx.Commit(ctx)
}

func newTestDB(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, "payment_test")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, daprStateTable); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, dsn, migrations.FS); err != nil {
		t.Fatal(err)
	}
	return pool, dsn
}

// etag is what daprd returns as the ETag of a key: its row's xmin.
func etag(t *testing.T, pool *pgxpool.Pool, key string) uint32 {
	t.Helper()
	var x uint32
	if err := pool.QueryRow(context.Background(), `SELECT xmin FROM payment_state WHERE key = $1`, key).Scan(&x); err != nil {
		t.Fatalf("etag of %s: %v", key, err)
	}
	return x
}

func doc(orderID, transactionID string, version int) string {
	return fmt.Sprintf(`{"orderId":%q,"status":"PAID","amount":"49000","transactionId":%q,"version":"%d"}`, orderID, transactionID, version)
}

// takenBy reports whether err is the unique index's refusal, named in the
// text daprd passes on (what statetx maps to payment.ErrTransactionTaken).
func takenBy(t *testing.T, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != statestore.TransactionIDUnique ||
		!strings.Contains(err.Error(), statestore.TransactionIDUnique) {
		t.Fatalf("want a violation of %s, got %v", statestore.TransactionIDUnique, err)
	}
	return true
}

func TestMigrateIsIdempotent(t *testing.T) {
	_, dsn := newTestDB(t)
	if err := Migrate(context.Background(), dsn, migrations.FS); err != nil {
		t.Fatal(err)
	}
}

func TestATransactionIDBelongsToOnePayment(t *testing.T) {
	ctx := context.Background()
	pool, _ := newTestDB(t)
	mustCommit := func(key, value string, etag uint32) {
		t.Helper()
		if err := daprTransact(ctx, pool, key, value, etag, nil); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	// PENDING payments have no transaction id yet: any number of them.
	mustCommit("payment:a", doc("a", "", 1), 0)
	mustCommit("payment:b", doc("b", "", 1), 0)
	mustCommit("payment:a", doc("a", "tx-1", 2), etag(t, pool, "payment:a"))
	// Re-announced (version up, same transaction): fine.
	mustCommit("payment:a", doc("a", "tx-1", 3), etag(t, pool, "payment:a"))

	if err := daprTransact(ctx, pool, "payment:c", doc("c", "tx-1", 1), 0, nil); !takenBy(t, err) {
		t.Fatal("a new payment took a recorded transaction id")
	}
	if err := daprTransact(ctx, pool, "payment:b", doc("b", "tx-1", 2), etag(t, pool, "payment:b"), nil); !takenBy(t, err) {
		t.Fatal("a payment took another's transaction id")
	}
	// Only payments are indexed.
	mustCommit("other:x", doc("x", "tx-1", 1), 0)

	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM payment_state WHERE value->>'transactionId' = 'tx-1' AND key LIKE 'payment:%'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d payments hold tx-1 (%v)", n, err)
	}
}

// TestTwoRacingWritersCannotBothClaimATransaction: two payments recording
// the same transaction id at once, each in its own daprd transaction; the
// unique index lets exactly one commit.
func TestTwoRacingWritersCannotBothClaimATransaction(t *testing.T) {
	ctx := context.Background()
	pool, _ := newTestDB(t)
	for _, id := range []string{"a", "b"} {
		if err := daprTransact(ctx, pool, "payment:"+id, doc(id, "", 1), 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	etags := map[string]uint32{"a": etag(t, pool, "payment:a"), "b": etag(t, pool, "payment:b")}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	ready := make(chan struct{}, 2)
	release := make(chan struct{})
	for _, id := range []string{"a", "b"} {
		wg.Go(func() {
			errs <- daprTransact(ctx, pool, "payment:"+id, doc(id, "tx-race", 2), etags[id], func() {
				ready <- struct{}{}
				<-release
			})
		})
	}
	// The first holds its uncommitted row; the second waits on the index
	// entry inside its upsert, so only one reaches hold before release.
	<-ready
	close(release)
	wg.Wait()
	close(errs)
	var committed, refused int
	for err := range errs {
		switch {
		case err == nil:
			committed++
		case takenBy(t, err):
			refused++
		}
	}
	if committed != 1 || refused != 1 {
		t.Fatalf("%d committed, %d refused", committed, refused)
	}
	rows, _ := pool.Query(ctx, `SELECT key FROM payment_state WHERE value->>'transactionId' = 'tx-race'`)
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(keys) != 1 {
		t.Fatalf("holders of tx-race: %v %v", keys, err)
	}
}
