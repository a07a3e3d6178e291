package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"

	"tenflix/services/order/internal/orders"
	"tenflix/services/order/internal/statestore"

	orderv1 "tenflix/proto/order/v1"
)

// The statements daprd 1.14 runs for a state transaction on state.postgresql
// v1 (components-contrib v1.14: state/postgresql/v1/postgresql.go SetQueryFn,
// common/component/postgresql/v1 doSet / Multi), with no TTL: what
// statetx.Commit becomes (a Create write is first-write with no ETag, the
// others carry the ETag read, the row's xmin).
const (
	daprUpsertFirstWrite = `INSERT INTO order_state AS t
			(key, value, isbinary, expiredate)
		VALUES
			($1, $2, $3, NULL)
		ON CONFLICT (key)
		DO UPDATE SET
			value = excluded.value,
			isbinary = excluded.isBinary,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)`
	daprUpsertETag = `UPDATE order_state
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

// errNoItem is daprd's answer when a first-write or ETag check fails
// (statetx.ErrConflict once the sidecar client reads it).
var errNoItem = errors.New("no item was updated (etag mismatch)")

// daprOp is one upsert of a state transaction: first-write (etag 0) or
// conditional on the ETag read.
type daprOp struct {
	key, value string
	etag       uint32
}

// daprTransact runs ops the way daprd does with the outbox enabled: BEGIN
// (READ COMMITTED), one statement per operation in order, then one outbox
// marker per upsert, COMMIT. pause runs before every statement, to shuffle
// racing transactions.
func daprTransact(ctx context.Context, conn *pgx.Conn, ops []daprOp, pause func()) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(ctx)
		}
	}()
	exec := func(sql string, args ...any) error {
		pause()
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() != 1 {
			err = errNoItem
		}
		return err
	}
	for _, op := range ops {
		if op.etag == 0 {
			err = exec(daprUpsertFirstWrite, op.key, op.value, false)
		} else {
			err = exec(daprUpsertETag, op.key, op.value, false, op.etag)
		}
		if err != nil {
			return err
		}
	}
	for range ops {
		if err := exec(daprUpsertFirstWrite, "outbox-"+uuid.NewString(), `"0"`, false); err != nil {
			return err
		}
	}
	pause()
	return tx.Commit(ctx)
}

func noPause() {}

// etag is what daprd returns as the ETag of a key: its row's xmin.
func etag(t testing.TB, db *DB, key string) uint32 {
	t.Helper()
	var x uint32
	if err := db.pool.QueryRow(context.Background(), `SELECT xmin FROM order_state WHERE key = $1`, key).Scan(&x); err != nil {
		t.Fatalf("etag of %s: %v", key, err)
	}
	return x
}

const openOrderIndex = "order_one_open_per_user"

// brokeOpenOrderRule reports whether err is the unique violation of the
// one-open-order index, named in the error text as daprd passes it on (the
// text statestore.Constraints is matched against).
func brokeOpenOrderRule(t testing.TB, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != openOrderIndex {
		t.Fatalf("want a unique violation of %s, got %v", openOrderIndex, err)
	}
	if !strings.Contains(err.Error(), openOrderIndex) || statestore.Constraints[openOrderIndex] != orders.ErrOrderPending {
		t.Fatalf("the error text %q does not name %s, or it is not mapped to order_pending", err, openOrderIndex)
	}
	return true
}

func conns(t *testing.T, db *DB, n int) []*pgx.Conn {
	t.Helper()
	out := make([]*pgx.Conn, n)
	for i := range out {
		c, err := db.pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Release)
		out[i] = c.Conn()
	}
	return out
}

func create(t testing.TB, o *orderv1.Order) daprOp {
	return daprOp{key: "order:" + o.Id, value: doc(t, o)}
}

func TestOneOpenOrderPerUser(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	conn := conns(t, db, 1)[0]
	commit := func(op daprOp) error { return daprTransact(ctx, conn, []daprOp{op}, noPause) }

	first := anOrder("u1", orderv1.StatusPending, false, 0, 0)
	if err := commit(create(t, first)); err != nil {
		t.Fatal(err)
	}
	if err := commit(create(t, anOrder("u1", orderv1.StatusPending, false, 1, 1))); !brokeOpenOrderRule(t, err) {
		t.Fatal("a second PENDING order of u1 was stored")
	}
	if err := commit(create(t, anOrder("u2", orderv1.StatusPending, false, 1, 1))); err != nil {
		t.Fatalf("another user's order: %v", err)
	}

	// PAID (with or without a refund requested) is still open.
	first.Status, first.Version = orderv1.StatusPaid, 2
	if err := commit(daprOp{key: "order:" + first.Id, value: doc(t, first), etag: etag(t, db, "order:"+first.Id)}); err != nil {
		t.Fatalf("PENDING -> PAID: %v", err)
	}
	if err := commit(create(t, anOrder("u1", orderv1.StatusPending, false, 2, 2))); !brokeOpenOrderRule(t, err) {
		t.Fatal("a PENDING order beside a PAID one was stored")
	}
	first.RefundRequested, first.Version = true, 3
	if err := commit(daprOp{key: "order:" + first.Id, value: doc(t, first), etag: etag(t, db, "order:"+first.Id)}); err != nil {
		t.Fatalf("refund requested: %v", err)
	}
	if err := commit(create(t, anOrder("u1", orderv1.StatusPending, false, 3, 3))); !brokeOpenOrderRule(t, err) {
		t.Fatal("a PENDING order beside a PAID one waiting for its refund was stored")
	}

	// A settled order frees the user, and so does a cancelled one whose
	// late money is on its way back.
	first.Status, first.Version = orderv1.StatusRefunded, 4
	if err := commit(daprOp{key: "order:" + first.Id, value: doc(t, first), etag: etag(t, db, "order:"+first.Id)}); err != nil {
		t.Fatalf("refunded: %v", err)
	}
	put(t, db, anOrder("u1", orderv1.StatusCancelled, true, 4, 4))
	if err := commit(create(t, anOrder("u1", orderv1.StatusPending, false, 5, 5))); err != nil {
		t.Fatalf("a new order after the first settled: %v", err)
	}
}

// TestConcurrentCreatesOfOneUser races, on two connections (two order
// instances: no in-process lock between them), the create transactions of
// two orders of one user: exactly one commits, the other breaks the index.
func TestConcurrentCreatesOfOneUser(t *testing.T) {
	const rounds = 100
	db := newTestDB(t)
	ctx := context.Background()
	cs := conns(t, db, 2)
	pause := func() { time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) }
	for i := range rounds {
		user := uuid.NewString()
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j := range 2 {
			op := create(t, anOrder(user, orderv1.StatusPending, false, i, i))
			wg.Go(func() {
				<-start
				errs[j] = daprTransact(ctx, cs[j], []daprOp{op}, pause)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !brokeOpenOrderRule(t, err) {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d creates committed, want exactly 1 (%v)", i, won, errs)
		}
		var open int
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM order_state WHERE value->>'userId' = $1`, user).Scan(&open); err != nil || open != 1 {
			t.Fatalf("round %d: %d orders stored (%v)", i, open, err)
		}
	}
}

// TestETagGuardsEveryStep: two writers that read the same version of an
// order (two instances handling a redelivered event) cannot both commit;
// the loser's ETag no longer matches, and a retried create of the same id
// is refused by first-write.
func TestETagGuardsEveryStep(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	cs := conns(t, db, 2)
	o := anOrder("u1", orderv1.StatusPending, false, 0, 0)
	if err := daprTransact(ctx, cs[0], []daprOp{create(t, o)}, noPause); err != nil {
		t.Fatal(err)
	}
	if err := daprTransact(ctx, cs[0], []daprOp{create(t, o)}, noPause); !errors.Is(err, errNoItem) {
		t.Fatalf("second create of the same id: %v, want the first-write check to fail", err)
	}
	for i := range 50 {
		read := etag(t, db, "order:"+o.Id)
		next := proto.Clone(o).(*orderv1.Order)
		next.Version = int64(i + 2)
		op := daprOp{key: "order:" + o.Id, value: doc(t, next), etag: read}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		pause := func() { time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) }
		for j := range 2 {
			wg.Go(func() {
				<-start
				errs[j] = daprTransact(ctx, cs[j], []daprOp{op}, pause)
			})
		}
		close(start)
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: both or neither committed: %v", i, errs)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, errNoItem) {
				t.Fatalf("round %d: loser failed with %v, want the ETag mismatch", i, err)
			}
		}
	}
}
