// Package postgrestest holds what the subscription service's tests share: a
// fresh database with daprd's state table, migrated like production, and a
// stand-in of daprd's state API over that table.
package postgrestest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/pgdb"
	"tenflix/platform/pgdb/pgtest"
	"tenflix/platform/sidecar"
	"tenflix/services/subscription/migrations"
)

// StateStore is the component name the tests use.
const StateStore = "subscription-state"

// DaprStateTable is the table daprd's state.postgresql v1 creates (see its
// migrations); tests create it themselves to exercise our migrations and
// queries on the same shape.
const DaprStateTable = `CREATE TABLE subscription_state (
	key text NOT NULL PRIMARY KEY,
	value jsonb NOT NULL,
	isbinary boolean NOT NULL,
	insertdate timestamptz NOT NULL DEFAULT now(),
	updatedate timestamptz NULL,
	expiredate timestamptz NULL)`

// NewDatabase creates a fresh database on the machine's PostgreSQL with the
// state table, migrated; it returns its URL and a pool, both gone when the
// test ends.
func NewDatabase(tb testing.TB) (string, *pgxpool.Pool) {
	tb.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(tb, "subscription_test")
	pool, err := pgdb.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, DaprStateTable); err != nil {
		tb.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, migrations.FS, migrations.Table, migrations.LockID); err != nil {
		tb.Fatal(err)
	}
	return dsn, pool
}

// Published is one upsert a committed transaction published (the outbox).
type Published struct {
	Key  string
	Type string
	Doc  json.RawMessage
}

// StateAPI stands in for daprd's state API on state.postgresql v1 over the
// table: xmin as the ETag, first-write as insert-only, a transaction as one
// PostgreSQL transaction whose error text names the broken index as daprd's
// does. It records what committed transactions published.
type StateAPI struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	pub  []Published
}

// NewStateAPI serves the stand-in and returns it with a sidecar client of it.
func NewStateAPI(tb testing.TB, pool *pgxpool.Pool) (*StateAPI, *sidecar.Client) {
	tb.Helper()
	s := &StateAPI{pool: pool}
	srv := httptest.NewServer(s.handler())
	tb.Cleanup(srv.Close)
	return s, sidecar.New(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:], "")
}

// Published lists what committed transactions published, in commit order.
func (s *StateAPI) Published() []Published {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Published(nil), s.pub...)
}

func (s *StateAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/state/"+StateStore+"/{key}", func(w http.ResponseWriter, r *http.Request) {
		var value, etag string
		err := s.pool.QueryRow(r.Context(), `SELECT value::text, xmin::text FROM subscription_state WHERE key = $1`,
			r.PathValue("key")).Scan(&value, &etag)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			w.WriteHeader(http.StatusNoContent)
		case err != nil:
			daprError(w, http.StatusInternalServerError, err.Error())
		default:
			w.Header().Set("ETag", etag)
			_, _ = w.Write([]byte(value))
		}
	})
	mux.HandleFunc("POST /v1.0/state/"+StateStore+"/transaction", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Operations []sidecar.Op }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			daprError(w, http.StatusBadRequest, err.Error())
			return
		}
		var pub []Published
		err := pgx.BeginFunc(r.Context(), s.pool, func(tx pgx.Tx) error {
			for _, op := range req.Operations {
				if op.Operation != "upsert" {
					return errors.New("unsupported operation " + op.Operation)
				}
				value, err := json.Marshal(op.Request.Value)
				if err != nil {
					return err
				}
				q := `INSERT INTO subscription_state (key, value, isbinary) VALUES ($1, $2, false) ON CONFLICT (key) DO NOTHING`
				args := []any{op.Request.Key, value}
				if op.Request.ETag != "" {
					q = `UPDATE subscription_state SET value = $2, updatedate = now() WHERE key = $1 AND xmin::text = $3`
					args = append(args, op.Request.ETag)
				}
				tag, err := tx.Exec(r.Context(), q, args...)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					return errors.New("possible etag mismatch. error from state store: no item was updated")
				}
				pub = append(pub, Published{Key: op.Request.Key, Type: op.Request.Metadata["type"], Doc: value})
			}
			return nil
		})
		if err != nil {
			daprError(w, http.StatusInternalServerError,
				"error while executing state transaction: failed to commit transaction: "+err.Error())
			return
		}
		s.mu.Lock()
		s.pub = append(s.pub, pub...)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func daprError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": "ERR_STATE_TRANSACTION", "message": msg})
}
