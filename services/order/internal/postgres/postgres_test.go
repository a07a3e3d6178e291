package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	"tenflix/platform/pgdb/pgtest"
	"tenflix/services/order/internal/app"
	"tenflix/services/order/internal/orders"
	"tenflix/services/order/migrations"

	orderv1 "tenflix/proto/order/v1"
)

// daprStateTable is the table daprd's state.postgresql v1 creates for the
// component (tableName order_state); tests create it themselves to run our
// migrations and queries on the same shape.
const daprStateTable = `CREATE TABLE order_state (
	key text NOT NULL PRIMARY KEY,
	value jsonb NOT NULL,
	isbinary boolean NOT NULL,
	insertdate timestamptz NOT NULL DEFAULT now(),
	updatedate timestamptz NULL,
	expiredate timestamptz NULL)`

// newTestDB creates a fresh database on the machine's PostgreSQL, with
// daprd's table, migrated like production, and dropped when the test ends.
func newTestDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t, "order_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.pool.Exec(ctx, daprStateTable); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, migrations.FS); err != nil {
		t.Fatal(err)
	}
	return db
}

var base = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// anOrder is an order of user in status, created at created and last moved
// at moved (minutes after base).
func anOrder(user, status string, refund bool, created, moved int) *orderv1.Order {
	id := uuid.NewString()
	return &orderv1.Order{
		Id: id, UserId: user, Status: status, RefundRequested: refund, Price: 50000,
		Customer:  &orderv1.Customer{UserId: user, Name: "Ana", Email: "ana@example.com"},
		Plan:      &orderv1.Plan{Id: "p1", Name: "Monthly", Price: 50000, ActivePeriod: 30},
		Timeline:  []*orderv1.Step{{Name: orders.StepCreated, At: orders.Stamp(minute(created))}},
		CreatedAt: orders.Stamp(minute(created)), UpdatedAt: orders.Stamp(minute(moved)), Version: 1,
	}
}

func minute(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// doc is the value statetx stores (and daprd keeps as jsonb).
func doc(t testing.TB, o *orderv1.Order) string {
	t.Helper()
	b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func put(t *testing.T, db *DB, o *orderv1.Order) {
	t.Helper()
	_, err := db.pool.Exec(context.Background(),
		`INSERT INTO order_state (key, value, isbinary) VALUES ($1, $2, false)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updatedate = now()`, "order:"+o.Id, doc(t, o))
	if err != nil {
		t.Fatal(err)
	}
}

// putMarker writes one of daprd's outbox markers, which share the table.
func putMarker(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(),
		`INSERT INTO order_state (key, value, isbinary) VALUES ($1, '"0"', false)`, "outbox-"+uuid.NewString()); err != nil {
		t.Fatal(err)
	}
}

func ids(os []*orderv1.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.GetId()
	}
	return out
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := newTestDB(t)
	if err := db.Migrate(context.Background(), migrations.FS); err != nil {
		t.Fatal(err)
	}
}

func TestListByUserPagesNewestFirst(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	putMarker(t, db)
	var want []string
	for i := range 7 {
		o := anOrder("u1", orderv1.StatusCancelled, false, i, i)
		if i == 6 {
			o.Status = orderv1.StatusPending
		}
		put(t, db, o)
		want = append([]string{o.Id}, want...) // newest first
	}
	put(t, db, anOrder("u2", orderv1.StatusPending, false, 100, 100))
	putMarker(t, db)

	var got []string
	for page := 1; page <= 3; page++ {
		items, total, err := db.ListByUser(ctx, "u1", app.Page{Page: page, Size: 3})
		if err != nil {
			t.Fatal(err)
		}
		if total != 7 {
			t.Fatalf("total %d, want 7", total)
		}
		if want := min(3, 7-(page-1)*3); len(items) != want {
			t.Fatalf("page %d: %d items, want %d", page, len(items), want)
		}
		got = append(got, ids(items)...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	items, total, err := db.ListByUser(ctx, "nobody", app.Page{Page: 1, Size: 20})
	if err != nil || total != 0 || len(items) != 0 {
		t.Fatalf("nobody's history: %v %d %v", items, total, err)
	}
	// Whole documents come back, timeline included.
	items, _, _ = db.ListByUser(ctx, "u2", app.Page{Page: 1, Size: 20})
	if len(items) != 1 || items[0].GetPlan().GetName() != "Monthly" || len(items[0].GetTimeline()) != 1 {
		t.Fatalf("u2: %v", items)
	}
}

func TestListByUserOrdersSubMillisecondStamps(t *testing.T) {
	db := newTestDB(t)
	a, b := anOrder("u1", orderv1.StatusCancelled, false, 0, 0), anOrder("u1", orderv1.StatusCancelled, false, 0, 0)
	a.CreatedAt = orders.Stamp(base.Add(500 * time.Microsecond))
	b.CreatedAt = orders.Stamp(base.Add(time.Second))
	put(t, db, b)
	put(t, db, a)
	items, _, err := db.ListByUser(context.Background(), "u1", app.Page{Page: 1, Size: 20})
	if err != nil || !slices.Equal(ids(items), []string{b.Id, a.Id}) {
		t.Fatalf("%v %v", ids(items), err)
	}
}

func TestOpenOrder(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	put(t, db, anOrder("u1", orderv1.StatusCompleted, false, 0, 1))
	put(t, db, anOrder("u1", orderv1.StatusCancelled, true, 1, 2))
	if o, err := db.OpenOrder(ctx, "u1"); err != nil || o != nil {
		t.Fatalf("only settled orders and a refund: %v %v", o, err)
	}
	for _, status := range []string{orderv1.StatusPending, orderv1.StatusPaid} {
		t.Run(status, func(t *testing.T) {
			user := "user-" + status
			open := anOrder(user, status, status == orderv1.StatusPaid, 3, 3)
			put(t, db, open)
			if o, err := db.OpenOrder(ctx, user); err != nil || o.GetId() != open.Id {
				t.Fatalf("OpenOrder = %v, %v; want %s", o, err, open.Id)
			}
		})
	}
}

func TestUnsettledSelectsWhatTheSagaLeftWaiting(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	putMarker(t, db)
	waiting := map[string]*orderv1.Order{
		"pending":           anOrder("u1", orderv1.StatusPending, false, 0, 10),
		"paid":              anOrder("u2", orderv1.StatusPaid, false, 0, 5),
		"paid, refund":      anOrder("u3", orderv1.StatusPaid, true, 0, 20),
		"paid after cancel": anOrder("u4", orderv1.StatusCancelled, true, 0, 15),
	}
	for _, o := range waiting {
		put(t, db, o)
	}
	for _, o := range []*orderv1.Order{
		anOrder("u5", orderv1.StatusCompleted, false, 0, 1),
		anOrder("u5", orderv1.StatusCancelled, false, 0, 1),
		anOrder("u5", orderv1.StatusRefunded, true, 0, 1),
		anOrder("u5", orderv1.StatusRefundFailed, true, 0, 1),
		anOrder("u6", orderv1.StatusPending, false, 0, 40), // moved too recently
	} {
		put(t, db, o)
	}

	got, err := db.Unsettled(ctx, app.UnsettledQuery{MovedBefore: minute(30), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{waiting["paid"].Id, waiting["pending"].Id, waiting["paid after cancel"].Id, waiting["paid, refund"].Id}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("unsettled %v, want (oldest move first) %v", ids(got), want)
	}
	if got[0].GetTimeline()[0].GetName() != orders.StepCreated {
		t.Fatalf("timeline missing: %v", got[0])
	}

	got, _ = db.Unsettled(ctx, app.UnsettledQuery{MovedBefore: minute(30), Limit: 2})
	if !slices.Equal(ids(got), want[:2]) {
		t.Fatalf("limit 2: %v", ids(got))
	}
	got, _ = db.Unsettled(ctx, app.UnsettledQuery{MovedBefore: minute(10), Limit: 100})
	if !slices.Equal(ids(got), want[:1]) {
		t.Fatalf("moved before minute 10: %v, want only %v (before, not at)", ids(got), want[:1])
	}
}

func TestUnsettledQuietForSkipsRecentWrites(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	quiet, recent := anOrder("u1", orderv1.StatusPaid, false, 0, 0), anOrder("u2", orderv1.StatusPaid, false, 0, 0)
	put(t, db, quiet)
	put(t, db, recent) // as if the sweep had just re-announced it
	if _, err := db.pool.Exec(ctx, `UPDATE order_state SET insertdate = now() - interval '1 hour', updatedate = NULL WHERE key = $1`,
		"order:"+quiet.Id); err != nil {
		t.Fatal(err)
	}
	q := app.UnsettledQuery{MovedBefore: minute(30), QuietFor: 2 * time.Minute, Limit: 100}
	got, err := db.Unsettled(ctx, q)
	if err != nil || !slices.Equal(ids(got), []string{quiet.Id}) {
		t.Fatalf("quiet for 2m: %v %v, want only %s", ids(got), err, quiet.Id)
	}
	q.QuietFor = 0
	if got, _ = db.Unsettled(ctx, q); len(got) != 2 {
		t.Fatalf("without QuietFor: %v", ids(got))
	}
}

func TestQueriesUseTheIndexes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	// Enough rows, and statistics, that the planner has a choice.
	for i := range 2000 {
		status := orderv1.StatusCompleted
		if i%50 == 0 {
			status = orderv1.StatusPending
		}
		put(t, db, anOrder(fmt.Sprintf("u%d", i), status, false, i, i))
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE order_state`); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		sql   string
		args  []any
		index string
	}{
		"history": {`SELECT value FROM order_state WHERE ` + isOrder + ` AND value->>'userId' = $1
			ORDER BY value->>'createdAt' DESC, key DESC LIMIT 20`, []any{"u7"}, "order_history"},
		"open order": {`SELECT value FROM order_state WHERE ` + isOrder + ` AND ` + isOpen + ` AND value->>'userId' = $1 LIMIT 1`,
			[]any{"u7"}, "order_one_open_per_user"},
		"unsettled": {`SELECT value FROM order_state WHERE ` + isOrder + ` AND ` + isUnsettled + `
			AND value->>'updatedAt' < $1 ORDER BY value->>'updatedAt', key LIMIT 100`, []any{orders.Stamp(minute(1000))}, "order_unsettled"},
	} {
		t.Run(name, func(t *testing.T) {
			var plan string
			rows, err := db.pool.Query(ctx, `EXPLAIN `+c.sql, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan += line + "\n"
			}
			if !strings.Contains(plan, c.index) {
				t.Fatalf("plan does not use %s:\n%s", c.index, plan)
			}
		})
	}
}
