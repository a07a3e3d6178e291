package dbtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tenflix/platform/sidecar"
	"tenflix/services/identity/internal/statestore"
)

// DaprStateTable is the table daprd 1.14's state.postgresql v1 creates for
// component identity-state when it loads it (components-contrib
// state/postgresql/v1/migrations.go, both steps), before its outbound
// health answers.
const DaprStateTable = `CREATE TABLE IF NOT EXISTS identity_state (
	key text NOT NULL PRIMARY KEY,
	value jsonb NOT NULL,
	isbinary boolean NOT NULL,
	insertdate timestamptz NOT NULL DEFAULT now(),
	updatedate timestamptz NULL,
	expiredate timestamptz NULL)`

// The statements daprd 1.14 runs for a state transaction's operations on
// state.postgresql v1 (state/postgresql/v1/postgresql.go SetQueryFn,
// common/component/postgresql/v1 doSet / doDelete), with no TTL.
const (
	daprUpsert = `INSERT INTO identity_state AS t
			(key, value, isbinary, expiredate)
		VALUES
			($1, $2, $3, NULL)
		ON CONFLICT (key)
		DO UPDATE SET
			value = excluded.value,
			isbinary = excluded.isBinary,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL`
	daprFirstWrite = daprUpsert + ` WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)`
	daprUpsertETag = `UPDATE identity_state
		SET
			value = $2,
			isbinary = $3,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL
		WHERE
			key = $1
			AND xmin = $4
			AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)`
	daprDelete     = `DELETE FROM identity_state WHERE key = $1`
	daprDeleteETag = `DELETE FROM identity_state WHERE key = $1 AND $2 = xmin`
)

// Component identity-state's outbox (components/identity-state.yaml).
const (
	outboxPubSub = "pubsub"
	outboxTopic  = "users"
	appID        = "identity"
)

// Daprd stands in for identity's sidecar over HTTP, on the test database:
// the readiness probe and state transactions of store identity-state, run
// with daprd's statements and its outbox. The outbox behaves as daprd
// 1.14.0's (pkg/runtime/pubsub/outbox.go; statetx's projection says more):
// an upsert flagged "outbox.projection" is taken out and never stored, and
// its value is the data of the event of the stored upsert of the same key;
// one marker row per upsert; the event's attributes come from the stored
// upsert's metadata. An event counts as published once its transaction has
// committed (daprd publishes it when it finds the marker, then deletes the
// marker); a failed transaction publishes nothing. gRPC (secrets) stays with
// platform/sidecar/sidecartest.
type Daprd struct {
	tb   testing.TB
	pool *pgxpool.Pool
	srv  *httptest.Server

	mu        sync.Mutex
	published []map[string]any
	tokens    []string
}

// StartDaprd creates the state table in dsn's database as daprd does when it
// loads the component, then serves, until the end of the test.
func StartDaprd(tb testing.TB, dsn string) *Daprd {
	tb.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, DaprStateTable); err != nil {
		tb.Fatal(err)
	}
	d := &Daprd{tb: tb, pool: pool}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/healthz/outbound", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1.0/state/"+statestore.Name+"/transaction", d.transaction)
	d.srv = httptest.NewServer(mux)
	tb.Cleanup(d.srv.Close)
	return d
}

// HTTPPort is the port of the HTTP API (DAPR_HTTP_PORT).
func (d *Daprd) HTTPPort() string { return d.srv.URL[strings.LastIndexByte(d.srv.URL, ':')+1:] }

// Users is the state store adapter, talking to this sidecar.
func (d *Daprd) Users() *statestore.Users {
	return statestore.New(sidecar.New(d.HTTPPort(), ""), statestore.Name)
}

// Published is every CloudEvent published so far to the outbox's topic, as
// its subscribers receive it.
func (d *Daprd) Published() []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]map[string]any(nil), d.published...)
}

// Tokens is the dapr-api-token header of every state transaction so far.
func (d *Daprd) Tokens() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.tokens...)
}

func (d *Daprd) transaction(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.tokens = append(d.tokens, r.Header.Get("dapr-api-token"))
	d.mu.Unlock()
	var req struct{ Operations []sidecar.Op }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		daprError(w, http.StatusBadRequest, "ERR_MALFORMED_REQUEST", err.Error())
		return
	}
	projections := map[string]sidecar.OpRequest{}
	var ops []sidecar.Op
	for _, op := range req.Operations {
		if op.Operation == "upsert" && op.Request.Metadata["outbox.projection"] == "true" {
			projections[op.Request.Key] = op.Request
			continue
		}
		ops = append(ops, op)
	}
	if len(projections) > 1 {
		// daprd 1.14.0 panics or stores one of them: never send two.
		d.tb.Errorf("a transaction with %d outbox projections", len(projections))
		daprError(w, http.StatusInternalServerError, "ERR_PUBSUB_OUTBOX", "two projections")
		return
	}
	var events []map[string]any
	var markers []string
	for _, op := range ops {
		if op.Operation != "upsert" {
			continue
		}
		payload := op.Request
		if p, ok := projections[op.Request.Key]; ok {
			payload = p
		}
		marker := "outbox-" + uuid.NewString()
		markers = append(markers, marker)
		events = append(events, cloudEvent(marker, op.Request.Metadata, payload))
	}
	err := pgx.BeginFunc(r.Context(), d.pool, func(tx pgx.Tx) error {
		for _, op := range ops {
			if err := execOp(r.Context(), tx, op); err != nil {
				return err
			}
		}
		for _, m := range markers {
			if _, err := tx.Exec(r.Context(), daprUpsert, m, `"0"`, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		daprError(w, http.StatusInternalServerError, "ERR_STATE_TRANSACTION", "error while executing state transaction: "+err.Error())
		return
	}
	if _, err := d.pool.Exec(r.Context(), `DELETE FROM identity_state WHERE key = ANY($1)`, markers); err != nil {
		d.tb.Errorf("delete outbox markers: %v", err)
	}
	d.mu.Lock()
	d.published = append(d.published, events...)
	d.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// execOp runs one operation as doSet / doDelete do.
func execOp(ctx context.Context, tx pgx.Tx, op sidecar.Op) error {
	rq := op.Request
	switch {
	case op.Operation == "delete" && rq.ETag == "":
		_, err := tx.Exec(ctx, daprDelete, rq.Key)
		return err
	case op.Operation == "delete":
		etag, err := strconv.ParseUint(rq.ETag, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid etag value: %w", err)
		}
		return affectOne(tx.Exec(ctx, daprDeleteETag, rq.Key, uint32(etag)))
	case op.Operation != "upsert":
		return fmt.Errorf("unsupported operation: %s", op.Operation)
	}
	value, err := json.Marshal(rq.Value)
	if err != nil {
		return err
	}
	switch {
	case rq.ETag != "":
		etag, err := strconv.ParseUint(rq.ETag, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid etag value: %w", err)
		}
		return affectOne(tx.Exec(ctx, daprUpsertETag, rq.Key, string(value), false, uint32(etag)))
	case rq.Options != nil && rq.Options.Concurrency == "first-write":
		tag, err := tx.Exec(ctx, daprFirstWrite, rq.Key, string(value), false)
		if err == nil && tag.RowsAffected() != 1 {
			err = errors.New("no item was updated")
		}
		return err
	default:
		_, err := tx.Exec(ctx, daprUpsert, rq.Key, string(value), false)
		return err
	}
}

func affectOne(tag interface{ RowsAffected() int64 }, err error) error {
	if err == nil && tag.RowsAffected() != 1 {
		return errors.New("possible etag mismatch. error from state store")
	}
	return err
}

// cloudEvent is what daprd publishes for an upsert: its metadata as
// attributes, payload's value as data, encoded as daprd encodes it.
func cloudEvent(id string, metadata map[string]string, payload sidecar.OpRequest) map[string]any {
	ce := map[string]any{"specversion": "1.0", "id": id, "source": appID, "type": "com.dapr.event.sent"}
	if payload.ContentType == "application/json" {
		ce["datacontenttype"], ce["data"] = payload.ContentType, payload.Value
	} else {
		ce["data"] = fmt.Sprintf("%v", payload.Value) // what daprd does, and why statetx sets the type
	}
	for k, v := range metadata {
		if k != "data" && k != "id" {
			ce[k] = v
		}
	}
	ce["topic"], ce["pubsubname"] = outboxTopic, outboxPubSub // set last by the internal subscriber
	return ce
}

func daprError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "message": msg})
}
