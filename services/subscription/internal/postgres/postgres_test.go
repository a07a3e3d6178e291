package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"tenflix/services/subscription/internal/app"
)

func put(t *testing.T, db *DB, key, value string) {
	t.Helper()
	_, err := db.pool.Exec(context.Background(),
		`INSERT INTO subscription_state (key, value, isbinary) VALUES ($1, $2, false)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		t.Fatal(err)
	}
}

func TestListPlans(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	put(t, db, "plan:p3", planDoc("p3", "Premium", 150_000, true))
	put(t, db, "plan:p1", planDoc("p1", "basic", 50_000, true))
	put(t, db, "plan:p2", planDoc("p2", "Standard", 100_000, false))
	put(t, db, "plan:p4", planDoc("p4", "Family", 150_000, true))
	put(t, db, "subscription:o1", subDoc("o1", "u1", "ACTIVE", "2099-01-01T00:00:00Z", 1))
	put(t, db, "outbox-1", `"0"`)

	ids := func(all bool, p app.Page) ([]string, int) {
		t.Helper()
		plans, total, err := db.ListPlans(ctx, all, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, pl := range plans {
			out = append(out, pl.Id)
		}
		return out, total
	}
	if got, total := ids(false, app.Page{Page: 1, Size: 10}); !slices.Equal(got, []string{"p1", "p4", "p3"}) || total != 3 {
		t.Fatalf("active plans %v (%d), want cheapest first, then by name, without the inactive one", got, total)
	}
	if got, total := ids(true, app.Page{Page: 1, Size: 10}); !slices.Equal(got, []string{"p1", "p2", "p4", "p3"}) || total != 4 {
		t.Fatalf("all plans %v (%d)", got, total)
	}
	if got, total := ids(true, app.Page{Page: 2, Size: 3}); !slices.Equal(got, []string{"p3"}) || total != 4 {
		t.Fatalf("page 2 of 3: %v (%d)", got, total)
	}
	plans, _, err := db.ListPlans(ctx, false, app.Page{Page: 1, Size: 1})
	if err != nil || plans[0].Name != "basic" || plans[0].Price != 50_000 || plans[0].ActivePeriod != 30 || !plans[0].Active {
		t.Fatalf("decoded plan %v, %v", plans, err)
	}
}

func TestPlanNameTaken(t *testing.T) {
	db := newTestDB(t)
	put(t, db, "plan:p1", planDoc("p1", "Premium", 150_000, false))
	for _, c := range []struct {
		name, except string
		want         bool
	}{
		{"premium", "", true},
		{"PREMIUM", "p2", true},
		{"Premium", "p1", false}, // its own name
		{"Premium+", "", false},
		{"Prem%", "", false}, // no pattern matching
	} {
		got, err := db.PlanNameTaken(context.Background(), c.name, c.except)
		if err != nil || got != c.want {
			t.Errorf("PlanNameTaken(%q, except %q) = %v, %v; want %v", c.name, c.except, got, err, c.want)
		}
	}
}

func TestActiveSubscription(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	put(t, db, "subscription:o1", subDoc("o1", "u1", "EXPIRED", "2024-01-01T00:00:00Z", 2))
	put(t, db, "subscription:o2", subDoc("o2", "u1", "ACTIVE", "2020-01-01T00:00:00Z", 1)) // ended, not yet expired
	put(t, db, "subscription:o3", subDoc("o3", "u2", "ACTIVE", "2099-01-01T00:00:00Z", 1))
	put(t, db, "refusal:o4", refusalDoc("o4", "u3"))

	sub, err := db.ActiveSubscription(ctx, "u1")
	if err != nil || sub == nil || sub.OrderId != "o2" || sub.Status != "ACTIVE" || sub.Version != 1 {
		t.Fatalf("u1: %v, %v; want o2 (ACTIVE, whatever its end)", sub, err)
	}
	for _, user := range []string{"u3", "nobody", "", "u1' OR '1'='1"} {
		if sub, err := db.ActiveSubscription(ctx, user); err != nil || sub != nil {
			t.Fatalf("%q: %v, %v; want none", user, sub, err)
		}
	}
}

func TestDueForExpiry(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	put(t, db, "subscription:late", subDoc("late", "u1", "ACTIVE", "2025-02-01T00:00:00Z", 1))
	put(t, db, "subscription:now", subDoc("now", "u2", "ACTIVE", "2025-03-01T12:00:00Z", 1))
	put(t, db, "subscription:soon", subDoc("soon", "u3", "ACTIVE", "2025-03-01T12:00:01Z", 1))
	put(t, db, "subscription:done", subDoc("done", "u4", "EXPIRED", "2025-01-01T00:00:00Z", 2))
	put(t, db, "subscription:older", subDoc("older", "u5", "ACTIVE", "2024-12-31T23:59:59Z", 1))

	got, err := db.DueForExpiry(ctx, now, 10)
	if err != nil || !slices.Equal(got, []string{"older", "late", "now"}) {
		t.Fatalf("due %v, %v; want the ACTIVE ones ended at or before now, longest ended first", got, err)
	}
	if got, err := db.DueForExpiry(ctx, now, 2); err != nil || !slices.Equal(got, []string{"older", "late"}) {
		t.Fatalf("batch of 2: %v, %v", got, err)
	}
}

// TestReadsUseTheIndexes checks that the queries match the migrations'
// partial indexes (the predicates and the COLLATE must be written alike).
func TestReadsUseTheIndexes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query, index string
		args         []any
	}{
		{dueForExpiryQuery, "subscription_active_by_end", []any{"2025-01-01T00:00:00Z", 10}},
		{activeSubscriptionQuery, "subscription_one_active_per_user", []any{"u1"}},
	} {
		query, index := c.query, c.index
		rows, err := conn.Query(ctx, `EXPLAIN `+query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if !strings.Contains(strings.Join(plan, "\n"), index) {
			t.Errorf("%s\ndoes not use %s:\n%s", query, index, strings.Join(plan, "\n"))
		}
	}
}
