package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"tenflix/services/subscription/internal/postgres/postgrestest"
	"tenflix/services/subscription/migrations"
)

// The statements daprd 1.14 runs for a state transaction on state.postgresql
// v1 (components-contrib v1.14: state/postgresql/v1/postgresql.go SetQueryFn,
// common/component/postgresql/v1 doSet / Multi), with no TTL.
const (
	daprUpsertFirstWrite = `INSERT INTO subscription_state AS t
			(key, value, isbinary, expiredate)
		VALUES
			($1, $2, $3, NULL)
		ON CONFLICT (key)
		DO UPDATE SET
			value = excluded.value,
			isbinary = excluded.isBinary,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)`
	daprUpsertETag = `UPDATE subscription_state
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

// errNoItemUpdated is what daprd reports when a first-write or ETag check
// finds nothing to write.
var errNoItemUpdated = errors.New("no item was updated (etag mismatch)")

// daprOp is one upsert of a state transaction: first-write (no ETag) or
// with the ETag read before.
type daprOp struct {
	key, value string
	etag       uint32 // 0: first-write insert
}

func create(key, value string) daprOp              { return daprOp{key: key, value: value} }
func change(key, value string, etag uint32) daprOp { return daprOp{key: key, value: value, etag: etag} }

// daprTransact runs ops the way daprd does with the outbox enabled: BEGIN
// (READ COMMITTED), one statement per operation in order, then one outbox
// marker upsert per upsert, COMMIT. pause runs before every statement, to
// shuffle racing transactions.
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
			err = errNoItemUpdated
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

// newTestDB is a fresh database with daprd's table, migrated.
func newTestDB(t *testing.T) *DB {
	t.Helper()
	_, pool := postgrestest.NewDatabase(t)
	return &DB{pool: pool}
}

// etag is what daprd returns as the ETag of a key: its row's xmin.
func etag(t testing.TB, db *DB, key string) uint32 {
	t.Helper()
	var x uint32
	if err := db.pool.QueryRow(context.Background(), `SELECT xmin FROM subscription_state WHERE key = $1`, key).Scan(&x); err != nil {
		t.Fatalf("etag of %s: %v", key, err)
	}
	return x
}

func subDoc(orderID, userID, status, endAt string, version int) string {
	return fmt.Sprintf(`{"id":%q,"userId":%q,"orderId":%q,"planId":"p1","planName":"Basic","status":%q,`+
		`"startAt":"2025-01-01T00:00:00Z","endAt":%q,"version":"%d"}`, orderID, userID, orderID, status, endAt, version)
}

func refusalDoc(orderID, userID string) string {
	return fmt.Sprintf(`{"orderId":%q,"userId":%q,"reason":"plan-inactive","at":"2025-01-01T00:00:00Z","version":"1"}`, orderID, userID)
}

func planDoc(id, name string, price int, active bool) string {
	return fmt.Sprintf(`{"id":%q,"name":%q,"price":"%d","discountPrice":"0","description":"","activePeriod":30,`+
		`"active":%t,"createdAt":"","updatedAt":"","version":"1"}`, id, name, price, active)
}

// violated returns the unique index a transaction's error names, "" for
// none; any other failure fails the test.
func violated(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("want a unique_violation, got %v", err)
	}
	return pgErr.ConstraintName
}

func activeCount(t testing.TB, db *DB, userID string) int {
	t.Helper()
	var n int
	err := db.pool.QueryRow(context.Background(), `SELECT count(*) FROM subscription_state
		WHERE split_part(key, ':', 1) = 'subscription' AND value->>'status' = 'ACTIVE' AND value->>'userId' = $1`, userID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	oneActive  = "subscription_one_active_per_user"
	oneOutcome = "subscription_one_outcome_per_order"
	uniqueName = "subscription_plan_unique_name"
)

func TestMigrateIsIdempotent(t *testing.T) {
	db := newTestDB(t)
	if err := db.Migrate(context.Background(), migrations.FS); err != nil {
		t.Fatal(err)
	}
}

func TestStoreInvariants(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	commit := func(t *testing.T, ops ...daprOp) {
		t.Helper()
		if err := daprTransact(ctx, conn.Conn(), ops, noPause); err != nil {
			t.Fatal(err)
		}
	}
	const future, past = "2099-01-01T00:00:00Z", "2020-01-01T00:00:00Z"
	cases := []struct {
		name  string
		setup func(t *testing.T, n string) // committed rows, keys suffixed with n
		ops   func(n string) []daprOp
		want  string // index violated; "" commits
	}{{
		name: "first ACTIVE subscription of a user",
		ops: func(n string) []daprOp {
			return []daprOp{create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 1))}
		},
	}, {
		name: "second ACTIVE subscription of a user",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 1)))
		},
		ops: func(n string) []daprOp {
			return []daprOp{create("subscription:b"+n, subDoc("b"+n, "u"+n, "ACTIVE", future, 1))}
		},
		want: oneActive,
	}, {
		name: "an ACTIVE one beside an EXPIRED one",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "EXPIRED", past, 2)))
		},
		ops: func(n string) []daprOp {
			return []daprOp{create("subscription:b"+n, subDoc("b"+n, "u"+n, "ACTIVE", future, 1))}
		},
	}, {
		name: "ACTIVE subscriptions of two users",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 1)))
		},
		ops: func(n string) []daprOp {
			return []daprOp{create("subscription:b"+n, subDoc("b"+n, "v"+n, "ACTIVE", future, 1))}
		},
	}, {
		name: "an ACTIVE one re-announced (same row, next version)",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 1)))
		},
		ops: func(n string) []daprOp {
			return []daprOp{change("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 2), etag(t, db, "subscription:a"+n))}
		},
	}, {
		name: "an ended one expired, then the new one granted, in one transaction",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", past, 1)))
		},
		ops: func(n string) []daprOp {
			return []daprOp{
				change("subscription:a"+n, subDoc("a"+n, "u"+n, "EXPIRED", past, 2), etag(t, db, "subscription:a"+n)),
				create("subscription:b"+n, subDoc("b"+n, "u"+n, "ACTIVE", future, 1)),
			}
		},
	}, {
		name: "the new one granted before the old one is expired",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", past, 1)))
		},
		ops: func(n string) []daprOp {
			return []daprOp{
				create("subscription:b"+n, subDoc("b"+n, "u"+n, "ACTIVE", future, 1)),
				change("subscription:a"+n, subDoc("a"+n, "u"+n, "EXPIRED", past, 2), etag(t, db, "subscription:a"+n)),
			}
		},
		want: oneActive,
	}, {
		name: "a refusal of a granted order",
		setup: func(t *testing.T, n string) {
			commit(t, create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 1)))
		},
		ops:  func(n string) []daprOp { return []daprOp{create("refusal:a"+n, refusalDoc("a"+n, "u"+n))} },
		want: oneOutcome,
	}, {
		name:  "a grant of a refused order",
		setup: func(t *testing.T, n string) { commit(t, create("refusal:a"+n, refusalDoc("a"+n, "u"+n))) },
		ops: func(n string) []daprOp {
			return []daprOp{create("subscription:a"+n, subDoc("a"+n, "u"+n, "ACTIVE", future, 1))}
		},
		want: oneOutcome,
	}, {
		name:  "refusals of two orders of one user",
		setup: func(t *testing.T, n string) { commit(t, create("refusal:a"+n, refusalDoc("a"+n, "u"+n))) },
		ops:   func(n string) []daprOp { return []daprOp{create("refusal:b"+n, refusalDoc("b"+n, "u"+n))} },
	}, {
		name:  "a plan name taken, in other case",
		setup: func(t *testing.T, n string) { commit(t, create("plan:a"+n, planDoc("a"+n, "Premium "+n, 100, true))) },
		ops:   func(n string) []daprOp { return []daprOp{create("plan:b"+n, planDoc("b"+n, "PREMIUM "+n, 200, true))} },
		want:  uniqueName,
	}, {
		name:  "a deactivated plan keeps its name",
		setup: func(t *testing.T, n string) { commit(t, create("plan:a"+n, planDoc("a"+n, "Basic "+n, 100, false))) },
		ops:   func(n string) []daprOp { return []daprOp{create("plan:b"+n, planDoc("b"+n, "basic "+n, 200, true))} },
		want:  uniqueName,
	}, {
		name:  "a plan renamed in case only",
		setup: func(t *testing.T, n string) { commit(t, create("plan:a"+n, planDoc("a"+n, "family "+n, 100, true))) },
		ops: func(n string) []daprOp {
			return []daprOp{change("plan:a"+n, planDoc("a"+n, "Family "+n, 100, true), etag(t, db, "plan:a"+n))}
		},
	}}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := fmt.Sprint(i)
			if c.setup != nil {
				c.setup(t, n)
			}
			err := daprTransact(ctx, conn.Conn(), c.ops(n), noPause)
			if got := violated(t, err); got != c.want {
				t.Fatalf("violated %q, want %q (%v)", got, c.want, err)
			}
		})
	}
}

// TestConcurrentGrantsForOneUser races, on two connections (two subscription
// instances, no in-process lock between them), the grants of two orders of
// one user: with no subscription before, and with an ended ACTIVE one that
// each grant expires in its transaction. Exactly one commits each round.
func TestConcurrentGrantsForOneUser(t *testing.T) {
	const rounds = 100
	db := newTestDB(t)
	ctx := context.Background()
	var conns [2]*pgx.Conn
	for i := range conns {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		conns[i] = c.Conn()
	}
	pause := func() { time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) }
	outcomes := map[string]int{}
	for i := range rounds {
		user, old := fmt.Sprintf("u%d", i), fmt.Sprintf("old%d", i)
		replacing := i%2 == 1
		var expire []daprOp
		if replacing {
			if err := daprTransact(ctx, conns[0], []daprOp{create("subscription:"+old, subDoc(old, user, "ACTIVE", "2020-01-01T00:00:00Z", 1))}, noPause); err != nil {
				t.Fatal(err)
			}
			expire = []daprOp{change("subscription:"+old, subDoc(old, user, "EXPIRED", "2020-01-01T00:00:00Z", 2), etag(t, db, "subscription:"+old))}
		}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j := range conns {
			order := fmt.Sprintf("o%d-%d", i, j)
			ops := append(append([]daprOp(nil), expire...), create("subscription:"+order, subDoc(order, user, "ACTIVE", "2099-01-01T00:00:00Z", 1)))
			wg.Go(func() {
				<-start
				errs[j] = daprTransact(ctx, conns[j], ops, pause)
			})
		}
		close(start)
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: want exactly one grant to commit, got %v; %v", i, errs[0], errs[1])
		}
		lost := errs[0]
		if lost == nil {
			lost = errs[1]
		}
		switch {
		case errors.Is(lost, errNoItemUpdated): // the old one's ETag moved under it
			outcomes["etag"]++
		case violated(t, lost) == oneActive:
			outcomes[oneActive]++
		default:
			t.Fatalf("round %d: the losing grant failed with %v", i, lost)
		}
		if n := activeCount(t, db, user); n != 1 {
			t.Fatalf("round %d: %d ACTIVE subscriptions, want 1", i, n)
		}
	}
	t.Logf("%d rounds, the losers failed on: %v", rounds, outcomes)
}
